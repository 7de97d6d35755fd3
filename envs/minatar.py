"""MinAtar games (Young & Tian 2019) as gymnasium environments with a common observation shape.

MinAtar 1.0.15 registers no gymnasium environments, so :class:`MinAtarEnv` wraps
``minatar.Environment``. Games differ in their number of object channels (4 to 10);
observations are zero-padded to :data:`CHANNELS` so every game of a sequence shares one
observation space, and all use MinAtar's full 6-action set.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import gymnasium as gym
import numpy as np

CHANNELS = 10
"""The most channels of any MinAtar game (seaquest)."""
SIZE = 10
N_ACTIONS = 6
SCALE = 16
"""Pixels per grid cell side in a rendered frame."""
PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
     [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]],
    np.uint8,
)  # fmt: skip
"""RGB colour of each observation channel in a rendered frame, (CHANNELS, 3)."""


def rgb_frame(obs: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """An RGB picture of a MinAtar observation: uint8 (C, 10, 10) of 0/1 -> uint8 (10 * scale,
    10 * scale, 3). A cell takes the colour of the last channel set in it (as MinAtar's own
    display does), black if none; each cell is a ``scale`` x ``scale`` square."""
    image = np.zeros((*obs.shape[1:], 3), np.uint8)
    for channel, colour in zip(obs, PALETTE):
        image[channel > 0] = colour
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


@functools.cache
def _environment_class() -> type:
    """MinAtar's ``Environment``, imported once. At import MinAtar logs a warning on the root
    logger when seaborn (only used for rendering) is missing; a filter drops that record alone.
    (``logging.disable`` would also drop, process-wide, a warning another part logs meanwhile,
    such as the one a Ctrl-C prints from its signal handler.)"""

    def not_minatar(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Cannot import")

    root = logging.getLogger()
    root.addFilter(not_minatar)
    try:
        from minatar import Environment
    finally:
        root.removeFilter(not_minatar)
    return Environment


class MinAtarEnv(gym.Env):
    """One MinAtar game. Observation: uint8 (10, 10, 10) of 0/1, channel-first, zero-padded;
    action: Discrete(6); reward: MinAtar's raw reward (events, mostly 0 or 1). With
    ``render_mode="rgb_array"``, :meth:`render` gives the state as a :func:`rgb_frame`."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self, game: str, sticky_action_prob: float = 0.1, render_mode: str | None = None
    ) -> None:
        self.render_mode = render_mode
        self.game = _environment_class()(game, sticky_action_prob=sticky_action_prob)
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

    def render(self) -> np.ndarray | None:
        """The current state, uint8 (160, 160, 3) (see :func:`rgb_frame`); ``None`` unless
        ``render_mode`` is ``"rgb_array"``."""
        return rgb_frame(self._obs) if self.render_mode == "rgb_array" else None
