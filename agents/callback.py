"""``BlipCallback``: BLIP in your own stable-baselines3 code. A task is one ``model.learn`` call
with its own callback, which selects the task's heads when ``learn`` starts and consolidates
the task (the Fisher on its last rollouts, then bit freezing: spec s.4-5) when it ends."""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.policy import BlipActorCriticPolicy
from blip_rl.agents.presets import RL_BLIP
from blip_rl.agents.samples import RecentTransitions
from blip_rl.agents.trainer import resampled_log_likelihood
from blip_rl.core.blip import Blip, BlipConfig
from blip_rl.core.layers import blip_layers
from blip_rl.core.options import with_defaults

log = logging.getLogger(__name__)

FISHER_SAMPLES = TrainConfig.fisher_samples
"""Transitions the Fisher is estimated on by default: ``blip-rl train``'s (2,048)."""


class BlipCallback(BaseCallback):
    """BLIP for task ``task`` of a :class:`BlipActorCriticPolicy` learned by ``model.learn``::

        model.learn(20_000, callback=BlipCallback(task=0))
        model.set_env(env_b)
        model.learn(20_000, callback=BlipCallback(task=1), reset_num_timesteps=False)

    When ``learn`` starts: the policy acts with task ``task``'s heads (``policy.set_task``) and
    gets a fresh optimizer (no moment estimates left from the previous task). After every
    rollout: its transitions are kept. When ``learn`` ends: the Fisher (Eq. 6) on the newest
    ``fisher_samples`` observations, at actions drawn afresh from the task's policy (if the
    task had fewer steps, the env is stepped with the policy for more, and reset when the
    next ``learn`` starts), then the consolidation (Eqs. 7-8: bits frozen, centres set). The
    policy's own clip (Eq. 4, a hook on every optimizer it is given, ``PPO.load`` included)
    then keeps every parameter within its interval while later tasks are learned.

    Tasks are learned in order 0, 1, ..., one ``learn`` call each; discrete actions only.

    Args:
        task: the task, 0-based, below the policy's ``n_tasks``.
        fisher_samples: transitions (env steps summed over the envs) of the task's last
            rollouts the Fisher is estimated on [default: 2,048, ``blip-rl train``'s].
        config: BLIP's settings; those it leaves unset take ``blip-rl train``'s
            (:data:`~blip_rl.agents.presets.RL_BLIP`: the authors' Atari f0 for the exact
            Fisher, the authors' information gain, a 0.3 bit budget, no snap) [default:
            ``BlipConfig`` with the policy's ``bits`` and ``strict``].
        verbose: SB3's verbosity level.

    Attributes:
        report: after ``learn``, what the consolidation did: ``{"layers": [LayerReport as a
            dict, one per BLIP layer]}`` (bits added, frozen bits per parameter); None before.
    """

    def __init__(
        self,
        task: int,
        fisher_samples: int = FISHER_SAMPLES,
        config: BlipConfig | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if task < 0:
            raise ValueError(f"task must be >= 0, got {task}")
        if fisher_samples < 1:
            raise ValueError(f"fisher_samples must be >= 1, got {fisher_samples}")
        self.task = task
        self.fisher_samples = fisher_samples
        self.config = config
        self.report: dict[str, Any] | None = None
        self.blip: Blip | None = None
        self.samples: RecentTransitions | None = None

    def _on_training_start(self) -> None:
        policy = self.model.policy
        if not isinstance(policy, BlipActorCriticPolicy):
            raise TypeError(
                f"BlipCallback needs a BlipActorCriticPolicy, got {type(policy).__name__}"
            )
        if not isinstance(self.model.action_space, gym.spaces.Discrete):
            raise ValueError(
                f"BlipCallback needs a Discrete action space (its Fisher samples actions from "
                f"a categorical policy), got {self.model.action_space}"
            )
        bits = blip_layers(policy)[0][1].bits
        given = self.config or BlipConfig(bits=bits, strict=policy.strict)
        self.blip = Blip(policy, with_defaults(given, RL_BLIP))
        if self.blip.tasks_seen != self.task:
            raise ValueError(
                f"task {self.task} cannot start after {self.blip.tasks_seen} consolidated "
                f"task(s): learn tasks in order 0, 1, ..., one learn call with a BlipCallback each"
            )
        policy.set_task(self.task)
        policy.reset_optimizer(self.model.lr_schedule(1.0))
        self.samples = RecentTransitions(self.fisher_samples, self.model.observation_space.dtype)

    def _on_rollout_end(self) -> None:
        self.samples.add_rollout(self.model.rollout_buffer)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self.report = self.blip.on_task_end(
            self.task, self.samples.fisher_batches(self.model), resampled_log_likelihood
        )
        self.samples.clear()
        for layer in self.report["layers"]:
            log.info(
                "task %d: %s +%.2f bits, %.2f of %d frozen on average",
                self.task,
                layer["layer"],
                layer["bits_added_mean"],
                layer["frozen_mean"],
                self.blip.config.bits,
            )
