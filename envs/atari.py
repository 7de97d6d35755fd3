"""Atari games through gymnasium + ale-py with SB3's DeepMind preprocessing (spec s.8)."""

from __future__ import annotations

import functools

import ale_py
import gymnasium as gym
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecFrameStack,
    VecTransposeImage,
)

from blip_rl.envs.seeding import SeededEpisodes

FRAME_SKIP = 4
FRAME_STACK = 4

# ALE prints a two-line banner to stderr for every emulator it makes; keep its errors only, so
# that a refused command's stderr stays its one error line (in SubprocVecEnv workers too,
# which import this module to build their envs).
ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)


@functools.cache
def env_id(rom: str) -> str:
    """The ``NoFrameskip-v4`` gymnasium id of an ALE ROM (``kung_fu_master`` ->
    ``KungFuMasterNoFrameskip-v4``): no sticky actions, frame skip left to SB3's wrapper."""
    gym.register_envs(ale_py)
    for spec in gym.registry.values():
        if spec.id.endswith("NoFrameskip-v4") and spec.kwargs.get("game") == rom:
            return spec.id
    raise ValueError(f"ale-py registers no NoFrameskip-v4 environment for ROM {rom!r}")


def make_atari(
    rom: str,
    n_envs: int,
    seed: int,
    train: bool,
    max_episode_steps: int | None = None,
    vec_env_cls: type[VecEnv] = DummyVecEnv,
    render: bool = False,
) -> VecEnv:
    """``n_envs`` copies of an Atari game as SB3 expects: uint8 (n_envs, 4, 84, 84) frames.

    All games use the full 18-action space, so every task of a sequence has the same action
    space (SB3's ``set_env`` checks it). Training (``train=True``) ends an episode at each
    lost life and clips rewards to their sign; evaluation plays whole games for raw scores.
    ``max_episode_steps`` caps an episode in agent steps: ``FRAME_SKIP`` frames each, the
    up to 30 no-op frames of a reset included. Evaluation starts every episode from its own
    seed (:class:`~blip_rl.envs.seeding.SeededEpisodes`). With ``render``, ``render()`` gives
    the screen, RGB uint8 (210, 160, 3).
    """
    env_kwargs: dict = {"full_action_space": True}
    if render:
        env_kwargs["render_mode"] = "rgb_array"
    if max_episode_steps is not None:
        env_kwargs["max_episode_steps"] = max_episode_steps * FRAME_SKIP
    gym.register_envs(ale_py)
    game_id = env_id(rom)
    venv = make_atari_env(
        game_id if train else lambda **kwargs: SeededEpisodes(gym.make(game_id, **kwargs)),
        n_envs=n_envs,
        seed=seed,
        wrapper_kwargs={"terminal_on_life_loss": train, "clip_reward": train},
        env_kwargs=env_kwargs,
        vec_env_cls=vec_env_cls,
    )
    return VecTransposeImage(VecFrameStack(venv, n_stack=FRAME_STACK))
