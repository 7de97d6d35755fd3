"""One entry point for the vectorized environment of any game."""

from __future__ import annotations

import gymnasium as gym
from gymnasium.wrappers import TimeLimit
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from blip_rl.envs.games import Game
from blip_rl.envs.seeding import SeededEpisodes

VEC_ENVS = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}
"""How the copies of an env run: one after another in this process, or one subprocess each."""


def make_env(
    game: Game,
    n_envs: int,
    seed: int,
    train: bool,
    max_episode_steps: int | None = None,
    vec_env: str = "dummy",
    render: bool = False,
) -> VecEnv:
    """``n_envs`` seeded copies of ``game`` for training (``train=True``) or evaluation.

    Observations are uint8 channel-first images: (n_envs, 4, 84, 84) for Atari, (n_envs, 10,
    10, 10) for MinAtar and the fake games. ``max_episode_steps`` caps an episode in agent
    steps. Evaluation envs (``train=False``) start every episode from its own seed
    (:class:`SeededEpisodes`); Atari's also play whole games with raw rewards. With ``render``
    each copy's ``render()`` returns its screen, RGB uint8 (H, W, 3): Atari's (210, 160, 3),
    MinAtar's grid coloured by channel (:func:`~blip_rl.envs.minatar.rgb_frame`); the fake
    games have none (``ValueError``).
    """
    if game.platform == "atari":
        from blip_rl.envs.atari import make_atari

        return make_atari(
            game.rom, n_envs, seed, train, max_episode_steps, VEC_ENVS[vec_env], render
        )
    if game.platform == "fake":
        if render:
            raise ValueError(
                f"game {game.name!r} has no screen to record: the fake games show random "
                "frames; record a MinAtar or Atari run"
            )
        from blip_rl.envs.fake import FakeGame as env_class
    else:
        from blip_rl.envs.minatar import MinAtarEnv as env_class
    kwargs = {"render_mode": "rgb_array"} if render else {}

    def build() -> gym.Env:
        env = env_class(game.rom, **kwargs)
        if not train:
            env = SeededEpisodes(env)
        return env if max_episode_steps is None else TimeLimit(env, max_episode_steps)

    return make_vec_env(build, n_envs=n_envs, seed=seed, vec_env_cls=VEC_ENVS[vec_env])
