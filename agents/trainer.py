"""The continual RL loop: PPO learns the games one after another, a strategy (BLIP, EWC, FT)
plugs in through the optimizer's step hooks and the task boundaries.

Task boundaries live in this short loop around ``model.learn(n, reset_num_timesteps=False)``;
evaluation and checkpoints run from a callback between PPO updates. ``PPO.train`` is not
forked: BLIP's clip is a step post-hook on the policy's optimizer, EWC's penalty a pre-hook.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from blip_rl.agents.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import evaluate_task
from blip_rl.agents.observers import RunObserver
from blip_rl.agents.policy import BlipActorCriticPolicy, BlipTrunk
from blip_rl.agents.results import (
    EVAL_POLICIES,
    EvalRow,
    Progress,
    summarize,
    task_end_line,
    write_eval_csv,
)
from blip_rl.agents.samples import RecentTransitions
from blip_rl.agents.scratch import load_scratch
from blip_rl.envs import make_env
from blip_rl.files import write_json
from blip_rl.fisher import sampled_log_prob
from blip_rl.methods import make_strategy
from blip_rl.runs import RunFolder, bits_file, write_bits
from blip_rl.strategy import Strategy

log = logging.getLogger(__name__)

FISHER_BATCH = 256
"""Transitions per batch of the Fisher pass (bounds its memory on the Atari trunk)."""


class TaskLinearSchedule:
    """Learning rate decaying linearly from ``initial`` at global step ``start`` to 0 at ``end``.

    SB3 calls a schedule with ``progress_remaining = 1 - num_timesteps / end`` when
    ``learn(end - num_timesteps, reset_num_timesteps=False)`` runs, so the global step is
    ``(1 - progress_remaining) * end``.
    """

    def __init__(self, initial: float, start: int, end: int) -> None:
        self.initial, self.start, self.end = initial, start, end

    def __call__(self, progress_remaining: float) -> float:
        step = (1.0 - progress_remaining) * self.end
        left = (self.end - step) / (self.end - self.start)
        return self.initial * min(1.0, max(0.0, left))


def policy_log_likelihood(policy: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    """log pi(a|s) of the active task's actor for a batch of (obs, rollout actions): (B,)."""
    obs, actions = batch
    return policy.log_prob(obs, actions)


def resampled_log_likelihood(policy: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    """log pi(a|s) for actions a drawn afresh from the active actor's pi(.|s): (B,). The
    rollout's actions are ignored: their policy is up to one PPO update older."""
    obs, _ = batch
    return sampled_log_prob(policy.get_distribution(obs).distribution.logits)


FISHER_LOG_LIKELIHOODS = {"rollout": policy_log_likelihood, "resampled": resampled_log_likelihood}
"""``--fisher-actions``: which actions the end-of-task Fisher differentiates log pi at."""


class TaskCallback(BaseCallback):
    """Between PPO updates: evaluate and checkpoint when due; after each rollout: keep its
    transitions for the end-of-task Fisher."""

    def __init__(self, trainer: ContinualTrainer, samples: RecentTransitions) -> None:
        super().__init__()
        self.trainer = trainer
        self.samples = samples

    def _on_rollout_start(self) -> None:
        self.trainer.between_updates()

    def _on_rollout_end(self) -> None:
        self.samples.add_rollout(self.model.rollout_buffer)

    def _on_step(self) -> bool:
        for observer in self.trainer.observers:
            observer.on_step(self.model.num_timesteps)
        return True


class ContinualTrainer:
    """Learns ``cfg``'s games in order with PPO and ``cfg.method``; writes the run in ``out``.

    Run folder: ``config.json``, ``eval.csv``, ``bits/task_<k>.npz``, ``summary.json`` and
    ``checkpoints/``. With ``resume`` it continues from ``checkpoints/latest.json``.
    ``observers`` are told of its progress (see :class:`RunObserver`).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        out: Path,
        device: torch.device,
        resume: bool,
        observers: Sequence[RunObserver] = (),
    ) -> None:
        self.cfg = cfg
        self.observers = observers
        self.out = out
        self.device = device
        self.games = cfg.sequence
        self.checkpoints = out / "checkpoints"
        self.scratch = load_scratch(cfg.scratch, cfg) if cfg.scratch else None
        found = latest_checkpoint(self.checkpoints) if resume else None
        if found is None:
            self.model = self._new_model()
            self.progress = Progress()
            strategy_state: dict[str, Any] = {}
        else:
            loaded = load_checkpoint(found, device)
            self.model, self.progress, strategy_state = (
                loaded.model,
                loaded.progress,
                loaded.strategy_state,
            )
            log.info("resuming %s at step %d, task %d", found, self.num_timesteps, self.task)
        self.strategy: Strategy = make_strategy(
            cfg.method, self.model.policy, cfg.blip_config, cfg.ewc
        )
        if strategy_state:
            self.strategy.load_state_dict(strategy_state)
        writers = [w for w in (o.sb3_writer() for o in observers) if w is not None]
        if writers:
            self.model.set_logger(Logger(folder=None, output_formats=writers))
        write_eval_csv(out / "eval.csv", self.progress.rows)  # drops rows after the checkpoint
        self.next_eval = self._next(cfg.evaluate_every)
        self.next_checkpoint = self._next(cfg.checkpoint_interval)
        self._clock = time.perf_counter()

    def _new_model(self) -> PPO:
        cfg = self.cfg
        env = make_env(self.games[0], cfg.n_envs, cfg.seed, train=True, vec_env=cfg.vec_env)
        return PPO(
            BlipActorCriticPolicy,
            env,
            policy_kwargs={
                "n_tasks": len(self.games),
                "features_extractor_class": BlipTrunk,
                "features_extractor_kwargs": {"bits": cfg.blip.bits, "width": cfg.trunk_width},
            },
            seed=cfg.seed,
            device=self.device,
            **cfg.ppo.sb3_kwargs(cfg.n_envs),
        )

    @property
    def policy(self) -> BlipActorCriticPolicy:
        return self.model.policy

    @property
    def num_timesteps(self) -> int:
        """Global env steps over all tasks so far."""
        return self.model.num_timesteps

    @property
    def task(self) -> int:
        return self.progress.task

    def _next(self, interval: int) -> int:
        return (self.num_timesteps // interval + 1) * interval

    def run(self) -> dict[str, Any]:
        """Learn every remaining task; returns the summary (also in ``summary.json``)."""
        while self.task < len(self.games):
            self._learn_task()
        if self.model.get_env() is not None:
            self.model.get_env().close()
        return self._write_summary()  # again: with the current score table

    def _write_summary(self) -> dict[str, Any]:
        cfg = self.cfg
        summary = summarize(self.games, cfg.method, self.progress, cfg.eval_policy, self.scratch)
        write_json(self.out / "summary.json", summary)
        return summary

    def _learn_task(self) -> None:
        cfg, task, model = self.cfg, self.task, self.model
        game = self.games[task]
        start, end = self.progress.task_start, self.progress.task_start + cfg.task_steps
        fresh = self.num_timesteps == start
        log.info(
            "task %d (%s): steps %d..%d%s",
            task,
            game.name,
            start,
            end,
            "" if fresh else f", resumed at {self.num_timesteps}",
        )
        previous = model.get_env()
        seed = cfg.seed + self.num_timesteps
        model.set_env(make_env(game, cfg.n_envs, seed, train=True, vec_env=cfg.vec_env))
        if previous is not None:
            previous.close()
        self.strategy.on_task_start(task)  # before set_task: scratch restores a fresh net
        self.policy.set_task(task)
        for observer in self.observers:
            observer.on_task_start(task, game.name, start, self.num_timesteps)
        model.learning_rate = TaskLinearSchedule(cfg.ppo.learning_rate, start, end)
        model._setup_lr_schedule()
        if fresh:
            self.policy.reset_optimizer(cfg.ppo.learning_rate)
        # EWC's penalty is added in a step pre-hook, after SB3 has clipped the gradient norm:
        # the penalty term itself is not norm-clipped.
        handles = self.strategy.attach(self.policy.optimizer)
        samples = RecentTransitions(cfg.fisher_samples, model.observation_space.dtype)
        model.learn(
            end - self.num_timesteps,
            callback=TaskCallback(self, samples),
            reset_num_timesteps=False,
        )
        for handle in handles:
            handle.remove()
        self._end_task(samples)

    def _end_task(self, samples: RecentTransitions) -> None:
        task, progress = self.task, self.progress
        if len(samples) < self.cfg.fisher_samples:
            samples.top_up(self.model)
        report = self.strategy.on_task_end(
            task,
            samples.batches(FISHER_BATCH, self.device),
            FISHER_LOG_LIKELIHOODS[self.cfg.fisher_actions],
        )
        rows = self._evaluate()
        for policy, scores in progress.scores.items():
            returns: list[float | None] = [None] * (task + 1)
            for row in rows:
                if row.policy == policy:
                    returns[row.task] = row.mean_return
            scores.append(returns)
        progress.task_ends.append(self.num_timesteps)
        progress.reports.append(report)
        progress.task = task + 1
        progress.task_start = self.num_timesteps
        write_bits(bits_file(self.out, task), self.policy)
        self._checkpoint(f"task_{task}")
        summary = self._write_summary()
        log.info(task_end_line(summary, task, report))
        if self.observers:
            run = RunFolder(self.out, "train", asdict(self.cfg), summary)
            for observer in self.observers:
                observer.on_task_end(run)

    def between_updates(self) -> None:
        """Called before each rollout (so after each PPO update): evaluate, checkpoint if due."""
        if self.num_timesteps >= self.next_eval:
            self._evaluate()
        if self.num_timesteps >= self.next_checkpoint:
            self._checkpoint(f"step_{self.num_timesteps}")

    def _evaluate(self) -> list[EvalRow]:
        """Evaluate every task the model carries (all seen so far, or only the current one for
        a non-continual strategy) with each action policy; rows go to ``eval.csv``."""
        cfg, step = self.cfg, self.num_timesteps
        tasks = range(self.task + 1) if self.strategy.continual else (self.task,)
        rows = []
        for j in tasks:
            game = self.games[j]
            for policy in EVAL_POLICIES:
                mean, std = evaluate_task(
                    self.model,
                    game,
                    j,
                    cfg.eval_episodes,
                    cfg.episode_cap,
                    cfg.seed,
                    cfg.n_envs,
                    greedy=policy == "greedy",
                )
                rows.append(EvalRow(step, j, game.name, policy, mean, std, game.normalize(mean)))
                log.info(
                    "step %d  %-15s %-7s return %8.2f +- %.2f", step, game.name, policy, mean, std
                )
        self.progress.rows.extend(rows)
        write_eval_csv(self.out / "eval.csv", self.progress.rows)
        for observer in self.observers:
            observer.on_evaluate(step, rows)
        self.next_eval = self._next(cfg.evaluate_every)
        return rows

    def _checkpoint(self, name: str) -> None:
        now = time.perf_counter()
        self.progress.wall_time_s += now - self._clock
        self._clock = now
        save_checkpoint(
            self.checkpoints, name, self.model, self.progress, self.strategy.state_dict()
        )
        self.next_checkpoint = self._next(self.cfg.checkpoint_interval)
