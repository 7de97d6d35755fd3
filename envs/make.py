"""One entry point for the vectorized environment of any game."""

from __future__ import annotations

from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from blip_rl.envs.games import Game

VEC_ENVS = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}
"""How the copies of an env run: one after another in this process, or one subprocess each."""


def make_env(
    game: Game,
    n_envs: int,
    seed: int,
    train: bool,
    max_episode_steps: int | None = None,
    vec_env: str = "dummy",
) -> VecEnv:
    """``n_envs`` seeded copies of ``game`` for training (``train=True``) or evaluation.

    Observations are uint8 channel-first images: (n_envs, 4, 84, 84) for Atari, (n_envs, 10,
    10, 10) for MinAtar. ``max_episode_steps`` caps an episode in agent steps.
    """
    if game.platform == "atari":
        from blip_rl.envs.atari import make_atari

        return make_atari(game.rom, n_envs, seed, train, max_episode_steps, VEC_ENVS[vec_env])
    from blip_rl.envs.minatar import make_minatar

    return make_minatar(game.rom, n_envs, seed, train, max_episode_steps, VEC_ENVS[vec_env])
