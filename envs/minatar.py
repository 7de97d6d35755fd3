"""MinAtar games (Young & Tian 2019) as gymnasium environments with a common observation shape.

MinAtar 1.0.15 registers no gymnasium environments, so :class:`MinAtarEnv` wraps
``minatar.Environment``. Games differ in their number of object channels (4 to 10);
observations are zero-padded to :data:`CHANNELS` so every game of a sequence shares one
observation space, and all use MinAtar's full 6-action set.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym
import numpy as np

CHANNELS = 10
"""The most channels of any MinAtar game (seaquest)."""
SIZE = 10
N_ACTIONS = 6


def _minatar_environment(game: str, sticky_action_prob: float) -> Any:
    # minatar logs a warning at import when seaborn (only used for rendering) is missing.
    logging.disable(logging.WARNING)
    try:
        from minatar import Environment
    finally:
        logging.disable(logging.NOTSET)
    return Environment(game, sticky_action_prob=sticky_action_prob)


class MinAtarEnv(gym.Env):
    """One MinAtar game. Observation: uint8 (10, 10, 10) of 0/1, channel-first, zero-padded;
    action: Discrete(6); reward: MinAtar's raw reward (events, mostly 0 or 1)."""

    metadata = {"render_modes": []}

    def __init__(self, game: str, sticky_action_prob: float = 0.1) -> None:
        self.game = _minatar_environment(game, sticky_action_prob)
        channels = self.game.state_shape()[2]
        if channels > CHANNELS:
            raise ValueError(f"MinAtar game {game!r} has {channels} channels > {CHANNELS}")
        self.observation_space = gym.spaces.Box(0, 1, (CHANNELS, SIZE, SIZE), np.uint8)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self._obs = np.zeros((CHANNELS, SIZE, SIZE), np.uint8)

    def _observe(self) -> np.ndarray:
        state = self.game.state()  # bool (10, 10, C)
        self._obs[: state.shape[2]] = state.transpose(2, 0, 1)
        return self._obs.copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.game.seed(seed)
        self.game.reset()
        return self._observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, terminal = self.game.act(int(action))
        return self._observe(), float(reward), bool(terminal), False, {}
