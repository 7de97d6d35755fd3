"""Fake games for tests and install checks: SB3's ``FakeImageEnv`` (random frames, reward 0,
episodes of 10 steps), shaped as MinAtar's observations so the same trunk reads them. Nothing
can be learned; every part of a run (rollouts, updates, evaluation, Fisher, checkpoints) runs
in seconds. Seeded like a real game, so a run is reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.envs import FakeImageEnv

from blip_rl.envs.minatar import CHANNELS, N_ACTIONS, SIZE


class FakeGame(FakeImageEnv):
    """Random uint8 (10, 10, 10) frames, channel-first; Discrete(6); reward 0. A seeded reset
    seeds the frames too (SB3's env draws them from an unseeded space)."""

    def __init__(self, game: str) -> None:
        del game  # every fake game is the same
        super().__init__(N_ACTIONS, SIZE, SIZE, CHANNELS, discrete=True, channel_first=True)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self.observation_space.seed(seed)
        return super().reset(seed=seed, options=options)
