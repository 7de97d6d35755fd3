"""What ``blip-rl train`` uses, per suite, for the settings left at their defaults: the budget
of each task, the evaluation episode cap and BLIP's settings."""

from __future__ import annotations

from dataclasses import dataclass

from blip_rl.core.blip import BlipConfig

RL_BIT_BUDGET = 0.3
"""Default BLIP bit budget of the RL suites: chosen on MinAtar (README, plasticity ablation)."""


@dataclass(frozen=True)
class SuitePreset:
    """A suite's defaults.

    Attributes:
        steps_per_task: env steps per game (Atari: the paper's 10M).
        eval_max_steps: agent steps per evaluation episode at most (Atari: 108k frames).
        blip: BLIP's f0 (Atari: the authors' value), bit budget and snap.
    """

    steps_per_task: int
    eval_max_steps: int
    blip: BlipConfig


PRESETS: dict[str, SuitePreset] = {
    "atari6": SuitePreset(
        steps_per_task=10_000_000,
        eval_max_steps=27_000,
        blip=BlipConfig(fisher_prior=5e-18, bit_budget=RL_BIT_BUDGET, snap=False),
    ),
    "minatar": SuitePreset(
        steps_per_task=500_000,
        eval_max_steps=5_000,
        blip=BlipConfig(fisher_prior=5e-18, bit_budget=RL_BIT_BUDGET, snap=False),
    ),
    "fake": SuitePreset(
        steps_per_task=2_000,
        eval_max_steps=100,
        blip=BlipConfig(fisher_prior=5e-18, bit_budget=RL_BIT_BUDGET, snap=False),
    ),
}
"""One preset per suite of :data:`blip_rl.envs.SUITES`."""
