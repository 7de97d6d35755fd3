"""What a train run will need of the machine, checked before it starts: memory for its
rollouts, network and Fisher samples, and env seeds that fit in 32 bits."""

from __future__ import annotations

import os

import torch
from stable_baselines3.common.preprocessing import get_obs_shape

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import EVAL_SEED_OFFSET
from blip_rl.agents.policy import BlipTrunk
from blip_rl.envs import make_env

BYTES_PER_PARAMETER = 40
"""Training memory per trunk parameter: the float weight, its gradient and Adam's two moments
(16 bytes), BLIP's state (9), the quantized copy (4) and the clip's cached interval (8)."""
SEED_LIMIT = 2**32
"""Env seeds (numpy, MinAtar, ALE) must be below this."""


def physical_memory() -> int:
    """The machine's memory, bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_needed(cfg: TrainConfig) -> dict[str, int]:
    """Bytes ``cfg`` (resolved) needs, by part: SB3's rollout buffer (float32 observations),
    the trunk in training and the transitions kept for the Fisher (uint8)."""
    env = make_env(cfg.sequence[0], 1, cfg.seed, train=True)
    space = env.observation_space
    env.close()
    frame = int(torch.tensor(get_obs_shape(space)).prod())
    with torch.device("meta"):  # shapes only: no memory
        trunk = BlipTrunk(space, width=cfg.trunk_width, n_tasks=len(cfg.games))
    params = sum(p.numel() for p in trunk.parameters())
    return {
        "rollout": cfg.rollout * frame * 4,
        "network": params * BYTES_PER_PARAMETER,
        "Fisher samples": cfg.fisher_samples * frame,
    }


def check_resources(cfg: TrainConfig) -> None:
    """``ValueError`` naming what to lower if ``cfg`` (resolved) needs more memory than the
    machine has, or seeds envs past 32 bits."""
    needed = memory_needed(cfg)
    have = physical_memory()
    if sum(needed.values()) > have:
        parts = ", ".join(f"{name} {size / 2**30:.1f} GiB" for name, size in needed.items())
        raise ValueError(
            f"this run needs about {sum(needed.values()) / 2**30:.1f} GiB of memory ({parts}) "
            f"but the machine has {have / 2**30:.1f} GiB; lower --n-envs, --n-steps, "
            "--trunk-width or --fisher-samples"
        )
    span = (
        max(
            cfg.steps_per_task * len(cfg.games)
            + 2 * cfg.rollout,  # a task's last rollout overshoots
            EVAL_SEED_OFFSET * len(cfg.games),
        )
        + cfg.n_envs
    )
    if cfg.seed + span >= SEED_LIMIT:
        raise ValueError(
            f"seed {cfg.seed} is too large: this run seeds envs up to seed + {span:,}, past "
            f"2^32 - 1; use a seed below {SEED_LIMIT - span:,}"
        )
