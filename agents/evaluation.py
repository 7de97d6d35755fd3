"""Evaluation of one task's policy on its game, greedy or sampled actions (SB3's
``evaluate_policy``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy

from blip_rl.envs import Game, make_env

EVAL_POLICIES = ("sampled", "greedy")
"""How an evaluation picks actions: sampled from pi(.|s), or its argmax (the paper's)."""
FINAL_EVAL_EPISODES = 200
"""Episodes of the task-end evaluation that fills A (``--final-eval-episodes``), one batch."""
FINAL_EVAL_SE = 0.03
"""Standard error of an A cell (normalized) that the task-end evaluation plays further batches
for (``--final-eval-se``). Measured on the 25 runs of the MinAtar table (200 episodes, sampled
actions): breakout 0.020-0.028, freeway 0-0.015, space invaders at most 0.030 for BLIP (both
presets) and EWC but 0.033-0.049 where a network scores 22-27 points (fine-tuning, scratch):
one episode's normalized score then has a standard deviation up to 0.69, and 200 episodes do
not reach 0.03."""
FINAL_EVAL_BATCHES = 4
"""Most batches of ``--final-eval-episodes`` one task-end evaluation plays: 800 episodes at the
default, an SE of at most 0.025 for a standard deviation of 0.69."""
BATCH_SEED_OFFSET = 10_007
"""Batch b of a task-end evaluation starts its envs this many seeds times b further on (more
than any env count, and 3 batches stay far below :data:`EVAL_SEED_OFFSET`)."""
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
    batch: int = 0,
) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one episode) of the raw game score over
    ``episodes`` episodes of task ``task``'s heads on ``game``, actions argmax (``greedy``) or
    sampled from the policy; each episode is capped at ``max_steps`` agent steps.

    Evaluation envs play whole games with unclipped rewards. The i-th episode of each env copy
    starts from a seed drawn from ``seed``, ``task``, ``batch`` and i alone: every method and
    action policy plays the same episode starts, a further ``batch`` new ones. The active task
    is restored. ``stop``, asked after every env step, gives up (:class:`EvaluationStopped`).

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
        seed=seed + EVAL_SEED_OFFSET * (task + 1) + BATCH_SEED_OFFSET * batch,
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


def pooled(batches: Sequence[tuple[float, float]], episodes: int) -> tuple[float, float]:
    """Mean and sample standard deviation of all the episodes of ``batches``, each given as
    the ``(mean, sample std)`` of ``episodes`` episodes (what :func:`evaluate_task` returns)."""
    means = np.array([m for m, _ in batches])
    within = (episodes - 1) * sum(sd * sd for _, sd in batches)
    between = episodes * float(np.sum((means - means.mean()) ** 2))
    total = episodes * len(batches)
    return float(means.mean()), math.sqrt((within + between) / (total - 1)) if total > 1 else 0.0


def needs_more_episodes(game: Game, std: float, episodes: int, target_se: float) -> bool:
    """Whether the normalized standard error of a mean over ``episodes`` episodes of
    standard deviation ``std`` (raw score) is above ``target_se`` (never for a game without a
    score reference, or a target of 0)."""
    scale = game.normalization_scale
    if target_se <= 0 or scale is None:
        return False
    return std / math.sqrt(episodes) / scale > target_se
