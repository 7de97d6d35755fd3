"""``blip-rl train`` settings: frozen dataclasses whose fields are the flags; defaults are the
paper's (spec s.8)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

from blip_rl.agents.evaluation import (
    EVAL_POLICIES,
    FINAL_EVAL_BATCHES,
    FINAL_EVAL_EPISODES,
    FINAL_EVAL_SE,
)
from blip_rl.agents.presets import RECIPES, SUITE_PRESETS
from blip_rl.core.blip import LIBRARY_DEFAULTS, BlipConfig
from blip_rl.core.ewc import EwcConfig
from blip_rl.core.methods import METHODS, method_settings
from blip_rl.core.options import nested, option, with_defaults
from blip_rl.core.packnet import PackNetConfig
from blip_rl.core.quant import KERNELS
from blip_rl.envs.games import SUITES, Game, default_suite, get_game
from blip_rl.envs.make import VEC_ENVS
from blip_rl.infra.device import DEVICES, KERNELS_HELP, THREADS_HELP, check_threads
from blip_rl.infra.tracking import WANDB_MODES, check_project, experiment_group

FISHER_ACTIONS = ("resampled", "rollout")
"""Actions the end-of-task Fisher differentiates log pi at (``--fisher-actions``)."""
CRITIC_TRUNKS = ("own", "shared", "detached")
"""What the critic reads (``--critic-trunk``)."""


@dataclass(frozen=True)
class PPOConfig:
    """PPO as the authors ran it: 16 envs x 125 steps, 4 epochs x 8 minibatches, clip 0.1."""

    n_steps: int = option(125, "env steps per env in each rollout")
    n_minibatches: int = option(8, "minibatches per epoch (batch = n_steps * n_envs / this)")
    n_epochs: int = option(4, "PPO epochs over each rollout")
    learning_rate: float = option(2.5e-4, "Adam lr at each task's start, decayed linearly to 0")
    clip_range: float = option(0.1, "PPO ratio clip")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    vf_coef: float = option(0.5, "value loss coefficient")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    max_grad_norm: float = option(0.5, "gradient norm clip")

    def __post_init__(self) -> None:
        for name in ("n_steps", "n_minibatches", "n_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "clip_range", "max_grad_norm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value}")
        for name in ("ent_coef", "vf_coef"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def sb3_kwargs(self, n_envs: int) -> dict[str, float | int]:
        """These settings as arguments of SB3's ``PPO`` for ``n_envs`` parallel envs."""
        return {
            "n_steps": self.n_steps,
            "batch_size": self.n_steps * n_envs // self.n_minibatches,
            "n_epochs": self.n_epochs,
            "learning_rate": self.learning_rate,
            "clip_range": self.clip_range,
            "ent_coef": self.ent_coef,
            "vf_coef": self.vf_coef,
            "gamma": self.gamma,
            "gae_lambda": self.gae_lambda,
            "max_grad_norm": self.max_grad_norm,
        }


def per_suite(name: str) -> str:
    """Each suite's value of the :class:`SuitePreset` field ``name``, for ``--help``."""
    return ", ".join(f"{suite} {getattr(p, name):,}" for suite, p in SUITE_PRESETS.items())


PPO = "PPO (stable-baselines3)"
NETWORK = "network"
EVALUATION = "evaluation"
FISHER = "Fisher information (BLIP, EWC)"
"""Sections of ``blip-rl train --help`` (the BLIP, EWC and PackNet settings have theirs)."""

WHOLE_ROLLOUTS = ("steps_per_task", "eval_interval", "checkpoint_interval")
"""Step counts :meth:`TrainConfig.resolved` rounds up to whole rollouts: PPO collects a whole
rollout at a time, so a boundary inside one would be passed silently."""


@dataclass(frozen=True)
class TrainConfig:
    """One continual RL run: a game sequence learned by PPO with a strategy.

    Settings left ``None`` take the suite's or the recipe's value
    (:mod:`blip_rl.agents.presets`) in :meth:`resolved`, the config a run uses and writes to
    its ``config.json``.
    """

    ADDED: ClassVar[dict[str, object]] = {"final_eval_se": 0.0, "critic_trunk": "shared"}
    """Settings added since runs were first written -> the value those runs used."""

    suite: str | None = option(
        None,
        "platform and default game sequence [default: atari6, the paper's 6 Atari games; "
        "needed for a game name both platforms have, such as breakout]",
        choices=tuple(SUITES),
    )
    preset: str = option(
        "default",
        "recipe for the settings not given: default (the authors' information gain, bit budget "
        "0.3, no snap, sampled-action evaluation) or paper (the authors' RL code: their "
        "information gain, snap, no budget, greedy evaluation)",
        choices=tuple(RECIPES),
    )
    games: tuple[str, ...] | None = option(
        None, "comma-separated games of the suite's platform [default: the suite's sequence]"
    )
    method: str = option("blip", "continual-learning method", choices=METHODS)
    steps_per_task: int | None = option(
        None,
        "env steps per task, rounded up to whole rollouts (n_steps * n_envs) "
        f"[default: the suite's: {per_suite('steps_per_task')}]",
    )
    seed: int = option(0, "random seed (torch, numpy, environments)")
    n_envs: int = option(16, "parallel environments", group=PPO)
    trunk_width: int = option(1, "multiplier of the width of every trunk layer", group=NETWORK)
    task_stem: bool = option(
        False,
        "a float 1x1 conv per game in front of the shared trunk (the identity at first)",
        group=NETWORK,
    )
    film: bool = option(
        False,
        "a float scale and shift per game after every trunk layer (FiLM; 1 and 0 at first)",
        group=NETWORK,
    )
    critic_trunk: str | None = option(
        None,
        "what the critic reads: its own float trunk of the actor's architecture (own), which "
        "no strategy protects, the actor's BLIP trunk (shared), or the actor's trunk with no "
        "gradient back into it (detached: the trunk learns from the actor alone) [default: "
        "the preset's: default own, paper shared]",
        choices=CRITIC_TRUNKS,
        group=NETWORK,
    )
    vec_env: str = option(
        "dummy",
        "how the training envs run: in this process, or one subprocess each (SB3's "
        "SubprocVecEnv, so a GPU box is not env-bound)",
        choices=tuple(VEC_ENVS),
        how=True,
    )
    device: str = option("auto", "torch device", choices=DEVICES, how=True)
    threads: int = option(
        0,
        THREADS_HELP,
        how=True,
    )
    kernels: str = option("eager", KERNELS_HELP, choices=KERNELS, how=True)
    out: str | None = option(
        None, "run directory [default: runs/<suite>__<method>__<seed>__<unix time>]", how=True
    )
    resume: bool = option(False, "continue the run in --out from its latest checkpoint", how=True)
    eval_interval: int | None = option(
        None,
        "env steps between evaluations, rounded up to whole rollouts "
        f"[default: the suite's: {per_suite('eval_interval')}]",
        group=EVALUATION,
    )
    eval_episodes: int = option(
        10,
        "episodes per task and action policy at each evaluation between task ends",
        group=EVALUATION,
    )
    final_eval_episodes: int = option(
        FINAL_EVAL_EPISODES,
        "episodes per task of the --eval-policy evaluation at each task end, the one that "
        "fills A (episode seeds are the same for every method)",
        group=EVALUATION,
    )
    final_eval_se: float = option(
        FINAL_EVAL_SE,
        "at each task end, play further batches of --final-eval-episodes (new episode seeds, "
        "the same for every method) while the standard error of the normalized score is "
        f"above this, {FINAL_EVAL_BATCHES} batches at most; 0 plays one batch",
        group=EVALUATION,
    )
    eval_policy: str | None = option(
        None,
        "actions whose scores make A, ACC, BWT and plasticity (both are evaluated and kept) "
        "[default: the preset's]",
        choices=EVAL_POLICIES,
        group=EVALUATION,
    )
    eval_max_steps: int | None = option(
        None,
        f"agent steps per evaluation episode at most [default: {per_suite('eval_max_steps')}]",
        group=EVALUATION,
    )
    checkpoint_interval: int = option(
        1_000_000, "env steps between mid-task checkpoints, rounded up to whole rollouts"
    )
    fisher_samples: int = option(
        2048, "last-rollout transitions per Fisher estimate (BLIP, EWC)", group=FISHER
    )
    fisher_actions: str | None = option(
        None,
        "actions the Fisher takes log pi at: resampled from the final policy (the authors'), "
        "or the rollout's [default: the preset's]",
        choices=FISHER_ACTIONS,
        group=FISHER,
    )
    scratch: tuple[str, ...] | None = option(
        None,
        "comma-separated --method scratch (or independent) runs of these games, one per seed, "
        "say: their mean score is the reference for plasticity",
        group=EVALUATION,
    )
    wandb: str = option(
        "off",
        "log to Weights & Biases; offline writes under --out for `wandb sync` later",
        choices=WANDB_MODES,
        how=True,
    )
    wandb_project: str = option("blip-rl", "W&B project", how=True)
    quiet: bool = option(
        False, "no progress bars or log lines, only errors and the final table", how=True
    )
    ppo: PPOConfig = nested(PPOConfig, PPO)
    blip: BlipConfig = nested(BlipConfig, "BLIP (--method blip)")
    ewc: EwcConfig = nested(EwcConfig, "EWC (--method ewc)")
    packnet: PackNetConfig = nested(PackNetConfig, "PackNet (--method packnet)")

    def __post_init__(self) -> None:
        check_project(self.wandb_project)
        # the CLI checks its choices, a run's config.json does not
        for name, allowed in (("suite", SUITES), ("preset", RECIPES)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose from: {', '.join(allowed)}")
        positive = (
            "n_envs",
            "trunk_width",
            "eval_episodes",
            "final_eval_episodes",
            "checkpoint_interval",
        )
        optional = ("steps_per_task", "fisher_samples", "eval_interval", "eval_max_steps")
        for name in (*positive, *optional):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        check_threads(self.threads)
        if not 0 <= self.final_eval_se < math.inf:
            raise ValueError(f"final_eval_se must be a number >= 0, got {self.final_eval_se}")
        if self.rollout % self.ppo.n_minibatches:
            fits = [m for m in range(1, min(self.rollout, 64) + 1) if self.rollout % m == 0]
            raise ValueError(
                f"n_steps * n_envs = {self.rollout} is not a multiple of n_minibatches = "
                f"{self.ppo.n_minibatches} (PPO would train on one smaller minibatch each "
                f"epoch); n_minibatches that fit: {', '.join(map(str, fits))}"
            )
        suite = self.suite_name  # ValueError for a game on both platforms without a suite
        games = SUITES[suite].games if self.games is None else self.games
        if len(set(games)) != len(games):
            raise ValueError(f"games must be distinct, got {','.join(games)}")
        for name in games:
            get_game(name, SUITES[suite].platform)  # ValueError naming an unknown game

    @property
    def suite_name(self) -> str:
        """The suite: the one given, else the paper's (see :func:`default_suite`)."""
        return self.suite or default_suite(self.games)

    @property
    def sequence(self) -> tuple[Game, ...]:
        """The games of :meth:`resolved` ``games``, in order."""
        platform = SUITES[self.suite_name].platform
        return tuple(get_game(name, platform) for name in self.resolved().games)

    @property
    def sequence_name(self) -> str:
        """The sequence's name in run folders and W&B groups: the suite's when it learns the
        suite's games, else its games joined by ``-``."""
        suite = self.suite_name
        return suite if self.games in (None, SUITES[suite].games) else "-".join(self.games)

    @property
    def group(self) -> str:
        """The experiment this run is a seed of: its W&B group and its group in ``blip-rl
        plot`` (see :func:`~blip_rl.infra.tracking.experiment_group`), over
        :attr:`method_settings`."""
        return experiment_group(f"{self.sequence_name}__{self.method}", self.method_settings)

    @property
    def method_settings(self) -> TrainConfig:
        """This config with the settings only other methods read at their defaults (see
        :func:`~blip_rl.core.methods.method_settings`)."""
        return method_settings(self)

    @property
    def rollout(self) -> int:
        """Env steps per PPO update."""
        return self.ppo.n_steps * self.n_envs

    def resolved(self) -> TrainConfig:
        """This config with every setting left ``None`` set to the suite's or the preset's
        value and step counts rounded up to whole rollouts, so two configs of one experiment,
        one naming the defaults and one not, are equal."""
        suite, recipe = SUITE_PRESETS[self.suite_name], RECIPES[self.preset]
        defaults = replace(
            self,
            suite=self.suite_name,
            games=SUITES[self.suite_name].games,
            steps_per_task=suite.steps_per_task,
            eval_interval=suite.eval_interval,
            eval_max_steps=suite.eval_max_steps,
            eval_policy=recipe.eval_policy,
            fisher_actions=recipe.fisher_actions,
            critic_trunk=recipe.critic_trunk,
        )
        # the recipe's BLIP settings, then the library's for any the recipe leaves unset
        blip = with_defaults(
            replace(recipe.blip, fisher_prior=suite.fisher_prior), LIBRARY_DEFAULTS
        )
        full = replace(with_defaults(self, defaults), blip=with_defaults(self.blip, blip))
        return replace(
            full, **{name: self.rollouts(getattr(full, name)) for name in WHOLE_ROLLOUTS}
        )

    def rollouts(self, steps: int) -> int:
        """``steps`` rounded up to whole rollouts (PPO collects a rollout at a time)."""
        return -(-steps // self.rollout) * self.rollout

    def rounding(self) -> list[str]:
        """What :meth:`resolved` rounds up to whole rollouts, one phrase per setting given
        (``"--steps-per-task 4,000 -> 4,096"``)."""
        return [
            f"--{name.replace('_', '-')} {given:,} -> {self.rollouts(given):,}"
            for name in WHOLE_ROLLOUTS
            if (given := getattr(self, name)) is not None and given != self.rollouts(given)
        ]
