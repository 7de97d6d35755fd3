"""Task sequences: Atari (gymnasium + ale-py) and MinAtar games as SB3 vectorized envs."""

from blip_rl.envs.games import SCORES, SUITES, Game, Suite, get_game
from blip_rl.envs.make import make_env

__all__ = ["SCORES", "SUITES", "Game", "Suite", "get_game", "make_env"]
