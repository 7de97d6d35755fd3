"""Evaluation of one task's policy on its game, greedy or sampled actions (SB3's
``evaluate_policy``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy

from blip_rl.envs import Game, make_env

EVAL_POLICIES = ("sampled", "greedy")
"""How an evaluation picks actions: sampled from pi(.|s), or its argmax (the paper's)."""
FINAL_EVAL_EPISODES = 200
"""Episodes of the task-end evaluation that fills A (``--final-eval-episodes``). Measured on a
trained MinAtar BLIP agent (``benchmarks/eval_noise.py``, 300 episodes a game): one episode's
normalized score has a standard deviation of 0.21 to 0.41 (breakout 0.36 and 0.31, space
invaders 0.31 and 0.21, freeway 0.22 and 0.41, sampled and greedy actions), so 200 episodes
give a standard error of at most 0.029 per A cell (10 episodes: up to 0.13)."""
EVAL_SEED_OFFSET = 1_000_003
"""Evaluation envs get seeds far from the training envs' (which count up from the run seed)."""


class EvaluationStopped(Exception):
    """An evaluation given up because its ``stop`` said so."""


def evaluate_task(
    model: PPO,
    game: Game,
    task: int,
    episodes: int,
    max_steps: int,
    seed: int,
    n_envs: int,
    greedy: bool,
    stop: Callable[[], bool] | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one episode) of the raw game score over
    ``episodes`` episodes of task ``task``'s heads on ``game``, actions argmax (``greedy``) or
    sampled from the policy; each episode is capped at ``max_steps`` agent steps.

    Evaluation envs play whole games with unclipped rewards. The i-th episode of each env copy
    starts from a seed drawn from ``seed``, ``task`` and i alone: every evaluation of a task,
    whatever the method or action policy, plays the same episode starts. The policy's active
    task is restored. ``stop`` is asked after every env step: when it says so the evaluation
    is given up (:class:`EvaluationStopped`).

    ``on_frame``, to watch the agent, gets the screen of the first env copy (RGB uint8 (H, W,
    3), see :func:`~blip_rl.envs.make_env`'s ``render``) after each step of its first episode
    but the last (the copy has already started its next episode then); its starting screen,
    before the first step, is not seen.
    """

    def check(loop: dict[str, Any], _: object) -> None:
        if stop is not None and stop():
            raise EvaluationStopped
        # SB3 calls this for each env copy after each step, with its loop's local variables
        first = loop["i"] == 0 and loop["episode_counts"][0] == 0 and not loop["done"]
        if on_frame is not None and first:
            on_frame(env.env_method("render", indices=0)[0])

    policy = model.policy
    env = make_env(
        game,
        n_envs=min(episodes, n_envs),
        seed=seed + EVAL_SEED_OFFSET * (task + 1),
        train=False,
        max_episode_steps=max_steps,
        render=on_frame is not None,
    )
    active = policy.task
    policy.set_task(task)
    try:
        returns, _ = evaluate_policy(
            model,
            env,
            n_eval_episodes=episodes,
            deterministic=greedy,
            return_episode_rewards=True,
            callback=check,
        )
    finally:
        policy.set_task(active)
        env.close()
    return float(np.mean(returns)), float(np.std(returns, ddof=1)) if episodes > 1 else 0.0
