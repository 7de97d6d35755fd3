"""Evaluation of one task's policy on its game, greedy or sampled actions (SB3's
``evaluate_policy``)."""

from __future__ import annotations

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy

from blip_rl.envs import Game, make_env

EVAL_POLICIES = ("sampled", "greedy")
"""How an evaluation picks actions: sampled from pi(.|s), or its argmax (the paper's)."""
EVAL_SEED_OFFSET = 1_000_003
"""Evaluation envs get seeds far from the training envs' (which count up from the run seed)."""


def evaluate_task(
    model: PPO,
    game: Game,
    task: int,
    episodes: int,
    max_steps: int,
    seed: int,
    n_envs: int,
    greedy: bool,
) -> tuple[float, float]:
    """Mean and std of the raw game score over ``episodes`` episodes of task ``task``'s heads
    on ``game``, actions argmax (``greedy``) or sampled from the policy; each episode is
    capped at ``max_steps`` agent steps.

    Evaluation envs play whole games with unclipped rewards, seeded by ``seed`` and ``task``
    so every evaluation of a task sees the same starts. The policy's active task is restored.
    """
    policy = model.policy
    env = make_env(
        game,
        n_envs=min(episodes, n_envs),
        seed=seed + EVAL_SEED_OFFSET * (task + 1),
        train=False,
        max_episode_steps=max_steps,
    )
    active = policy.task
    policy.set_task(task)
    try:
        returns, _ = evaluate_policy(
            model, env, n_eval_episodes=episodes, deterministic=greedy, return_episode_rewards=True
        )
    finally:
        policy.set_task(active)
        env.close()
    return float(np.mean(returns)), float(np.std(returns))
