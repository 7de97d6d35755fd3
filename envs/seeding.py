"""Evaluation episodes that start the same way for every policy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class SeededEpisodes(gym.Wrapper):
    """Every episode starts from a seed of its own: episode i of an env copy whose first reset
    got seed s is reset with a seed drawn from (s, i). So the i-th episode of each copy starts
    the same way whatever policy played the ones before it: evaluations of different methods
    (or policies) with one run seed play the same episode starts."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._first, self._episode = 0, 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._first, self._episode = seed, 0
        else:
            self._episode += 1
        own = np.random.SeedSequence([self._first, self._episode]).generate_state(1)[0]
        return self.env.reset(seed=int(own), options=options)
