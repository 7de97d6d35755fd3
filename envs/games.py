"""Games, suites and the per-game score table used to normalize rewards (spec s.7).

A suite fixes the platform and the default sequence; game names are looked up on that
platform (MinAtar's ``breakout`` is not ALE's). Atari takes the short names of the paper's
games (``kungfu``) and any ALE ROM name (``pong``, ``ms_pacman``); a game with no reference
score has no normalized reward (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["atari", "minatar", "fake"]


@dataclass(frozen=True)
class Game:
    """One task of a sequence.

    Attributes:
        name: short name used on the command line and in result files.
        platform: ``atari`` (ALE through gymnasium), ``minatar``, or ``fake`` (random frames,
            no reward: for tests).
        rom: the ALE ROM id (``kung_fu_master``) or the MinAtar game (``space_invaders``).
        random_score: mean raw return of a uniform random policy (``None`` if not known).
        reference_score: mean raw return of a trained PPO agent (``None`` if not known).
    """

    name: str
    platform: Platform
    rom: str
    random_score: float | None = None
    reference_score: float | None = None

    def normalize(self, score: float, clip: bool = True) -> float | None:
        """(R - R_random) / (R_ref - R_random), clipped to [0, 1] unless not ``clip``; ``None``
        without a reference."""
        scale = self.normalization_scale
        if scale is None:
            return None
        value = (score - self.random_score) / scale  # type: ignore[operator]
        return min(1.0, max(0.0, value)) if clip else value

    @property
    def normalization_scale(self) -> float | None:
        """R_ref - R_random: a raw score difference over it is a normalized one (``None``
        without a reference)."""
        if self.random_score is None or self.reference_score is None:
            return None
        return self.reference_score - self.random_score


# Atari: random and PPO-after-10M-steps scores (CleanRL's ppo_atari benchmark), spec s.7.
# MinAtar, measured here: random = 100 episodes of uniform random actions; reference = the mean
# over seeds 0-2 of `blip-rl train --suite minatar --method scratch` (500k steps per game,
# sampled actions, 10 episodes), by `python benchmarks/minatar_scores.py --scratch ...`.
# asterix and seaquest (not in the default suite): one scratch run of 1M steps, seed 0
# (asterix: greedy score; seaquest: sampled). See README. The fake games' reward is always 0;
# their reference of 1 only gives them normalized scores (0), as real games have.
SCORES: dict[tuple[Platform, str], Game] = {
    (g.platform, g.name): g
    for g in (
        Game("kungfu", "atari", "kung_fu_master", 258.5, 26000.0),
        Game("boxing", "atari", "boxing", 0.1, 92.7),
        Game("jamesbond", "atari", "jamesbond", 29.0, 496.0),
        Game("krull", "atari", "krull", 1598.0, 9718.0),
        Game("riverraid", "atari", "riverraid", 1338.5, 8275.0),
        Game("spaceinvaders", "atari", "space_invaders", 148.0, 1189.0),
        Game("breakout", "minatar", "breakout", 0.5, 5.0),
        Game("space_invaders", "minatar", "space_invaders", 2.88, 24.2),
        Game("freeway", "minatar", "freeway", 0.17, 32.4),
        Game("asterix", "minatar", "asterix", 0.36, 4.5),
        Game("seaquest", "minatar", "seaquest", 0.11, 2.5),
        Game("fake_a", "fake", "fake_a", 0.0, 1.0),
        Game("fake_b", "fake", "fake_b", 0.0, 1.0),
        Game("fake_c", "fake", "fake_c", 0.0, 1.0),
    )
}


@dataclass(frozen=True)
class Suite:
    """A platform and its default game sequence."""

    platform: Platform
    games: tuple[str, ...]


SUITES: dict[str, Suite] = {
    "atari6": Suite(
        "atari", ("kungfu", "boxing", "jamesbond", "krull", "riverraid", "spaceinvaders")
    ),
    "minatar": Suite("minatar", ("breakout", "space_invaders", "freeway")),
    "fake": Suite("fake", ("fake_a", "fake_b")),
}
"""The paper's Atari sequence, a MinAtar sequence that learns in minutes on a CPU, and two fake
games that check the whole pipeline in seconds (nothing is learned)."""


def ale_roms() -> tuple[str, ...]:
    """Every ROM that ale-py ships (``pong``, ``kung_fu_master``, ...)."""
    from ale_py.roms import get_all_rom_ids

    return tuple(get_all_rom_ids())


DEFAULT_SUITE = "atari6"
"""The suite of a run that names none: the paper's."""


def is_game(name: str, platform: Platform) -> bool:
    """Whether ``platform`` has a game called ``name``."""
    if (platform, name) in SCORES:
        return True
    return platform == "atari" and name in ale_roms()


def default_suite(games: tuple[str, ...] | None) -> str:
    """The suite of a run given ``games`` but no suite: :data:`DEFAULT_SUITE`, unless a game
    is on both platforms (``breakout``): ``ValueError`` asking which one was meant."""
    for name in games or ():
        if is_game(name, "minatar") and is_game(name, "atari"):
            raise ValueError(
                f"game {name!r} is on two platforms: give --suite atari6 (the Atari 2600 game, "
                "10M steps per task) or --suite minatar (MinAtar's 10x10 version, 500k steps)"
            )
    return DEFAULT_SUITE


def get_game(name: str, platform: Platform) -> Game:
    """The game called ``name`` on ``platform``; ``ValueError`` naming the allowed names."""
    if (platform, name) in SCORES:
        return SCORES[platform, name]
    if platform == "atari" and name in ale_roms():
        by_rom = {g.rom: g for g in SCORES.values() if g.platform == "atari"}
        return by_rom.get(name, Game(name, "atari", name))
    known = ", ".join(n for p, n in SCORES if p == platform)
    extra = " or any ALE ROM name (e.g. pong, ms_pacman)" if platform == "atari" else ""
    raise ValueError(f"unknown {platform} game {name!r}; choose from: {known}{extra}")
