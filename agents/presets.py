"""What ``blip-rl train`` uses for the settings left at their defaults: per suite, the budget of
each task, the evaluation episode cap and BLIP's prior; per recipe (``--preset``), how BLIP
freezes bits and how the run is evaluated."""

from __future__ import annotations

from dataclasses import dataclass, replace

from blip_rl.core.blip import LIBRARY_DEFAULTS, BlipConfig, authors_prior
from blip_rl.core.options import with_defaults

RL_FISHER_BATCH = 62
"""The authors' Fisher batch in RL: 2,000 rollout transitions (16 envs x 125 steps) in 32
mini-batches (``estimate_fisher`` in their ``ppo_blip.py``), 2,000 // 32."""
ATARI_PRIOR = authors_prior(5e-18, RL_FISHER_BATCH)
"""The authors' Atari f0, 5e-18, for the exact Fisher: 5e-18 x 62^2 = 1.92e-14."""
RL_BIT_BUDGET = 0.3
"""Default BLIP bit budget of the RL suites: chosen on MinAtar (docs/results.md)."""
RL_IG = "authors"
"""Default information gain form in RL: the authors' (0 bits where a task's Fisher is below
the running one). On the MinAtar suite it matched Eq. 8's ACC and BWT within noise (5 and 4
seeds) and froze 6 points less of the trunk (docs/results.md, "Which information gain")."""


@dataclass(frozen=True)
class SuitePreset:
    """A suite's defaults.

    Attributes:
        steps_per_task: env steps per game (Atari: the paper's 10M).
        eval_interval: env steps between evaluations (about 10 points per MinAtar task, 50
            per Atari task, so the curves of Fig. 3 are curves).
        eval_max_steps: agent steps per evaluation episode at most (Atari: 108k frames).
        fisher_prior: BLIP's f0 (the authors' Atari value, for the exact Fisher).
    """

    steps_per_task: int
    eval_interval: int
    eval_max_steps: int
    fisher_prior: float


SUITE_PRESETS: dict[str, SuitePreset] = {
    "atari6": SuitePreset(
        steps_per_task=10_000_000,
        eval_interval=200_000,
        eval_max_steps=27_000,
        fisher_prior=ATARI_PRIOR,
    ),
    "minatar": SuitePreset(
        steps_per_task=500_000, eval_interval=50_000, eval_max_steps=5_000, fisher_prior=ATARI_PRIOR
    ),
    "fake": SuitePreset(
        steps_per_task=2_000, eval_interval=200_000, eval_max_steps=100, fisher_prior=ATARI_PRIOR
    ),
}
"""One preset per suite of :data:`blip_rl.envs.SUITES`."""


@dataclass(frozen=True)
class Recipe:
    """How BLIP freezes bits, what the critic reads and how a run is evaluated, for
    ``--preset``.

    Attributes:
        blip: BLIP's information gain form, bit budget and snap.
        eval_policy: the evaluation actions whose scores make A (``sampled`` or ``greedy``).
        fisher_actions: the actions the end-of-task Fisher takes log pi at.
        critic_trunk: the critic's trunk: the actor's (``shared``) or its own float one.
    """

    blip: BlipConfig
    eval_policy: str
    fisher_actions: str
    critic_trunk: str


RECIPES: dict[str, Recipe] = {
    "default": Recipe(
        blip=BlipConfig(ig=RL_IG, bit_budget=RL_BIT_BUDGET, budget_over="all", snap=False),
        eval_policy="sampled",
        fisher_actions="resampled",
        critic_trunk="own",
    ),
    "paper": Recipe(
        blip=BlipConfig(ig="authors", bit_budget=1.0, budget_over="all", snap=True),
        eval_policy="greedy",
        fisher_actions="resampled",
        critic_trunk="shared",
    ),
}
"""``default``: this project's (the authors' information gain inside a bit budget, no snap,
the critic on its own float trunk, sampled-action evaluation); ``paper``: the authors' RL code
as they ran it (their information gain, the snap, no budget, one trunk for the actor and the
critic, greedy evaluation, the Fisher at actions drawn from the final policy).

The critic's own trunk lifted BLIP's plasticity on MinAtar by 0.115 (5 seeds, p = 0.009) and
helped EWC and PackNet as much or more (docs/results.md, "MinAtar")."""


RL_BLIP = with_defaults(
    replace(RECIPES["default"].blip, fisher_prior=ATARI_PRIOR), LIBRARY_DEFAULTS
)
"""BLIP's settings in RL when nothing else says: ``blip-rl train``'s default recipe with the
authors' Atari f0 (used by :class:`~blip_rl.agents.callback.BlipCallback`)."""
