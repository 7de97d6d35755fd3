"""The continual RL loop: PPO learns the games one after another, a strategy (BLIP, EWC, FT)
plugs in through the optimizer's step hooks and the task boundaries.

Task boundaries live in this short loop around ``model.learn(n, reset_num_timesteps=False)``;
evaluation and checkpoints run from a callback between PPO updates. ``PPO.train`` is not
forked: BLIP's clip is a step post-hook on the policy's optimizer, EWC's penalty a pre-hook.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, make_output_format
from stable_baselines3.common.utils import safe_mean
from torch import Tensor, nn

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import (
    EVAL_POLICIES,
    FINAL_EVAL_BATCHES,
    EvaluationStopped,
    evaluate_task,
    needs_more_episodes,
    pooled,
)
from blip_rl.agents.model import new_model
from blip_rl.agents.observers import RunObserver
from blip_rl.agents.policy import BlipActorCriticPolicy
from blip_rl.agents.rundir import TrainRun, contents, write_eval_csv
from blip_rl.agents.samples import RecentTransitions
from blip_rl.agents.scratch import load_scratch
from blip_rl.agents.state import EvalRow, RunState
from blip_rl.agents.summary import TrainSummary, summarize, task_end_line
from blip_rl.core.fisher import sampled_log_prob
from blip_rl.core.methods import make_strategy
from blip_rl.core.numerics import NumericalFault
from blip_rl.core.strategy import Strategy, attached
from blip_rl.envs import Game, make_env
from blip_rl.infra.checkpoints import (
    Checkpoint,
    CheckpointError,
    first_line,
    latest_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from blip_rl.infra.files import write_json
from blip_rl.infra.interrupt import DeferredInterrupt, Interrupted
from blip_rl.infra.rundir import bits_file, write_bits

log = logging.getLogger(__name__)

SB3_LOGS = "sb3"
"""The run folder's subfolder for SB3's training curves (CSV and TensorBoard)."""


class TaskLinearSchedule:
    """Learning rate decaying linearly from ``initial`` at global step ``start`` to 0 at ``end``.

    SB3 calls a schedule with ``progress_remaining = 1 - num_timesteps / until`` when
    ``learn(until - num_timesteps, reset_num_timesteps=False)`` runs, so the global step is
    ``(1 - progress_remaining) * until``; ``until`` is where this ``learn`` call stops
    (``end``, or a checkpoint before it).
    """

    def __init__(self, initial: float, start: int, end: int, until: int | None = None) -> None:
        self.initial, self.start, self.end = initial, start, end
        self.until = end if until is None else until

    def __call__(self, progress_remaining: float) -> float:
        step = (1.0 - progress_remaining) * self.until
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
    """Between PPO updates: evaluate when due, stop if asked; after each rollout: keep its
    transitions for the end-of-task Fisher."""

    def __init__(self, trainer: ContinualTrainer) -> None:
        super().__init__()
        self.trainer = trainer

    def _on_rollout_start(self) -> None:
        self.trainer.between_updates()

    def _on_rollout_end(self) -> None:
        trainer = self.trainer
        trainer.samples.add_rollout(self.model.rollout_buffer)
        # per game, so that games of different score scales do not share one curve
        self.logger.record("task/index", trainer.task)
        episodes = self.model.ep_info_buffer
        if episodes:
            game = trainer.games[trainer.task].name
            self.logger.record(f"rollout/{game}/ep_rew_mean", safe_mean([e["r"] for e in episodes]))

    def _on_step(self) -> bool:
        for observer in self.trainer.observers:
            observer.on_step(self.model.num_timesteps)
        return True


class ContinualTrainer:
    """Learns ``cfg``'s games in order with PPO and ``cfg.method``; writes the run in ``out``.
    Settings ``cfg`` leaves to the suite are resolved first (:meth:`TrainConfig.resolved`).

    Run folder: ``config.json``, ``eval.csv``, ``bits/task_<k>.npz``, ``summary.json`` and
    ``checkpoints/``. With ``resume`` it continues from the newest intact checkpoint
    (:class:`CheckpointError` if there is none); nothing is written before :meth:`run`. With
    ``stop``, a signal ends the run at the next safe point with a checkpoint
    (:class:`Interrupted`).

    A task is learned in stretches between mid-task checkpoints, each on envs freshly made with
    seed ``seed + env step``: a run resumed from a checkpoint is the run that went on from it,
    bit for bit on CPU.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        out: Path,
        device: torch.device,
        resume: bool,
        stop: DeferredInterrupt | None = None,
    ) -> None:
        self.cfg = cfg = cfg.resolved()
        self.observers: Sequence[RunObserver] = ()
        self.stop = stop
        self.out = out
        self.device = device
        self.games = cfg.sequence
        self.checkpoints = out / "checkpoints"
        self.scratch = load_scratch(cfg.scratch, cfg) if cfg.scratch else None
        self.model = new_model(cfg, device)
        self.strategy: Strategy = make_strategy(
            cfg.method, self.model.policy, blip=cfg.blip, ewc=cfg.ewc, packnet=cfg.packnet
        )
        self.samples = RecentTransitions(cfg.fisher_samples, self.model.observation_space.dtype)
        self.state = RunState()
        self.last_checkpoint: Path | None = None
        self.saved_at = -1  # env step of the newest checkpoint written or loaded
        if resume:
            found = latest_checkpoint(self.checkpoints)
            if found is None:
                raise CheckpointError(
                    f"--out {str(out)!r} holds no checkpoint to resume from "
                    f"({contents(out)}); nothing was changed: start a new run with another --out"
                )
            self._restore(found)
            log.info("resuming %s at step %d, task %d", found.path, self.num_timesteps, self.task)
        self.next_eval = self._next(cfg.eval_interval)
        self.next_checkpoint = self._next(cfg.checkpoint_interval)
        self._clock = time.perf_counter()

    def _state(self) -> dict[str, Any]:
        """All the run needs to go on exactly from here: tensors and plain containers."""
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.policy.optimizer.state_dict(),
            "num_timesteps": self.num_timesteps,
            # SB3 has no public counter of updates; it only labels train/n_updates in the logs.
            "n_updates": self.model._n_updates,
            "progress": self.state.to_dict(),
            "strategy": self.strategy.state_dict(),
            "samples": self.samples.state_dict(),
            "rng": rng_state(),
        }

    def _restore(self, found: Checkpoint) -> None:
        """Load :meth:`_state` from ``found`` into the freshly built model and strategy."""
        state = found.state
        try:
            self.policy.load_state_dict(state["policy"])
            self.policy.optimizer.load_state_dict(state["optimizer"])
            self.model.num_timesteps = int(state["num_timesteps"])
            self.model._n_updates = int(state["n_updates"])
            self.state = RunState.from_dict(state["progress"])
            self.strategy.load_state_dict(state["strategy"])
            self.samples.load_state_dict(state["samples"])
            set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(
                f"checkpoint {str(found.path)!r} does not fit this run ({first_line(e)})"
            ) from None
        self.last_checkpoint, self.saved_at = found.path, self.num_timesteps

    @property
    def policy(self) -> BlipActorCriticPolicy:
        return self.model.policy

    @property
    def num_timesteps(self) -> int:
        """Global env steps over all tasks so far."""
        return self.model.num_timesteps

    @property
    def task(self) -> int:
        return self.state.task

    def _next(self, interval: int) -> int:
        return (self.num_timesteps // interval + 1) * interval

    def run(self, observers: Sequence[RunObserver] = ()) -> TrainSummary:
        """Learn every remaining task, telling ``observers`` (see :class:`RunObserver`);
        returns the summary (also in ``summary.json``).

        Raises:
            NumericalFault: a NaN or inf loss or Fisher; the message names the task and step.
                Nothing was updated with it, and the newest checkpoint is from before.
            Interrupted: a signal stopped the run (see ``stop``), after a checkpoint.
        """
        self.observers = observers
        self.model.set_logger(self._sb3_logger(observers))
        write_eval_csv(self.out / "eval.csv", self.state.rows)  # drops rows after a checkpoint
        try:
            while self.task < len(self.games):
                self._learn_task()
        except NumericalFault as e:
            kept = self.last_checkpoint or "none yet"
            raise NumericalFault(
                f"task {self.task} ({self.games[self.task].name}) at env step "
                f"{self.num_timesteps}: {e}; the newest checkpoint ({kept}) is from before it"
            ) from None
        finally:
            self.model.logger.close()
        if self.model.get_env() is not None:
            self.model.get_env().close()
        return self._write_summary()  # again: with the current score table

    def _sb3_logger(self, observers: Sequence[RunObserver]) -> Logger:
        """SB3's logger: its CSV and TensorBoard output in ``<out>/sb3/`` and each observer's
        sink. A resumed session writes ``progress_from_<step>.csv``, as SB3 would empty the
        first session's file; TensorBoard merges its sessions' event files by step."""
        folder = str(self.out / SB3_LOGS)
        suffix = f"_from_{self.num_timesteps}" if self.num_timesteps else ""
        formats = [make_output_format(kind, folder, suffix) for kind in ("csv", "tensorboard")]
        formats += [w for w in (o.sb3_writer() for o in observers) if w is not None]
        return Logger(folder=folder, output_formats=formats)

    def _write_summary(self) -> TrainSummary:
        cfg = self.cfg
        summary = summarize(self.games, cfg.method, self.state, cfg.eval_policy, self.scratch)
        write_json(self.out / "summary.json", summary.to_dict())
        return summary

    def _learn_task(self) -> None:
        cfg, task = self.cfg, self.task
        game = self.games[task]
        start, end = self.state.task_start, self.state.task_start + cfg.steps_per_task
        fresh = self.num_timesteps == start
        log.info(
            "task %d (%s): steps %d..%d%s",
            task,
            game.name,
            start,
            end,
            "" if fresh else f", resumed at {self.num_timesteps}",
        )
        # before set_task: scratch and independent restore a fresh network
        self.strategy.on_task_start(task, len(self.games))
        self.policy.set_task(task)
        for observer in self.observers:
            observer.on_task_start(task, game.name, start, self.num_timesteps)
        if fresh:
            self.policy.reset_optimizer(cfg.ppo.learning_rate)
            self.samples.clear()
            self.model.ep_info_buffer = None  # SB3's episode statistics restart with the game
        retrain_at = end - cfg.rollouts(
            round(self.strategy.retrain_share(task) * cfg.steps_per_task)
        )
        while self.num_timesteps < end:
            stretch_start = self.num_timesteps
            until = min(self.next_checkpoint, retrain_at if stretch_start < retrain_at else end)
            # EWC's penalty is added in a step pre-hook, after SB3 has clipped the gradient
            # norm: the penalty term itself is not norm-clipped.
            with attached(self.strategy, self.policy.optimizer):
                self._learn_until(until, start, end)
            if stretch_start < retrain_at <= self.num_timesteps < end:
                log.info("task %d (%s): retraining from step %d", task, game.name, retrain_at)
                self.strategy.on_retrain_start(task)
                self.policy.reset_optimizer(cfg.ppo.learning_rate)
            if self.num_timesteps < end:
                self._evaluate_if_due()
                self._checkpoint(f"step_{self.num_timesteps}")
                self._stop_if_asked()
        self._end_task()

    def _learn_until(self, until: int, start: int, end: int) -> None:
        """PPO on the current task from here to env step ``until`` (rounded up to whole
        rollouts), on envs made afresh with seed ``seed + env step``."""
        cfg, model = self.cfg, self.model
        previous = model.get_env()
        seed = cfg.seed + self.num_timesteps
        model.set_env(
            make_env(self.games[self.task], cfg.n_envs, seed, train=True, vec_env=cfg.vec_env)
        )
        if previous is not None:
            previous.close()
        model.lr_schedule = TaskLinearSchedule(cfg.ppo.learning_rate, start, end, until)
        model.learn(
            until - self.num_timesteps, callback=TaskCallback(self), reset_num_timesteps=False
        )

    def _end_task(self) -> None:
        task, state, samples = self.task, self.state, self.samples
        report = self.strategy.on_task_end(
            task,
            samples.fisher_batches(self.model),
            FISHER_LOG_LIKELIHOODS[self.cfg.fisher_actions],
        )
        samples.clear()  # the next task collects its own; keeps task checkpoints small
        state.record_task_end(self.num_timesteps, report, self._evaluate(task_end=True))
        write_bits(bits_file(self.out, task), self.policy)
        self._checkpoint(f"task_{task}")
        summary = self._write_summary()
        log.info(task_end_line(summary, task, report))
        if self.observers:
            run = TrainRun(self.out, asdict(self.cfg), summary.to_dict())
            for observer in self.observers:
                observer.on_task_end(run)
        self._stop_if_asked()

    def between_updates(self) -> None:
        """Called before each rollout (so after each PPO update): evaluate if due; stop (with
        a checkpoint) if a signal asked to."""
        self._evaluate_if_due()
        self._stop_if_asked()

    def _evaluate_if_due(self) -> None:
        """The evaluation between task ends, if one is due. A signal (``stop``) gives it up:
        the run then stops at once with a checkpoint, and this evaluation point stays out of
        ``eval.csv``."""
        if self.num_timesteps >= self.next_eval:
            try:
                self._evaluate()
            except EvaluationStopped:
                self.next_eval = self._next(self.cfg.eval_interval)

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested

    def _stop_if_asked(self) -> None:
        """After a signal (``stop``): checkpoint here unless one was just written, then raise
        :class:`Interrupted`."""
        if not self._stop_requested():
            return
        if self.saved_at != self.num_timesteps:
            self._checkpoint(f"step_{self.num_timesteps}")
        self.stop.settle()
        raise Interrupted(
            f"stopped at env step {self.num_timesteps} with checkpoint {self.last_checkpoint}",
            self.stop.exit_code,
        )

    def _evaluate(self, task_end: bool = False) -> list[EvalRow]:
        """Evaluate every task the model carries (all seen so far, or only the current one for
        a non-continual strategy) with each action policy; rows go to ``eval.csv``. At a
        ``task_end`` the run's evaluation policy plays :meth:`_task_end_scores`."""
        cfg, step = self.cfg, self.num_timesteps
        tasks = range(self.task + 1) if self.strategy.continual else (self.task,)
        rows = []
        for j in tasks:
            game = self.games[j]
            for policy in EVAL_POLICIES:
                greedy = policy == "greedy"
                with self.strategy.evaluating(j):
                    if task_end and policy == cfg.eval_policy:
                        mean, std, episodes = self._task_end_scores(game, j, greedy)
                    else:
                        episodes = cfg.eval_episodes
                        stop = None if task_end else self._stop_requested
                        mean, std = self._play(game, j, episodes, greedy, stop=stop)
                row = EvalRow(step, j, game.name, policy, episodes, mean, std, game.normalize(mean))
                rows.append(row)
                log.info(
                    "step %d  %-15s %-7s return %8.2f ± %.2f (SE, %d episode%s)",
                    step,
                    game.name,
                    policy,
                    mean,
                    std / math.sqrt(episodes),
                    episodes,
                    "" if episodes == 1 else "s",
                )
        self.state.rows.extend(rows)
        write_eval_csv(self.out / "eval.csv", self.state.rows)
        for observer in self.observers:
            observer.on_evaluate(step, rows)
        self.next_eval = self._next(cfg.eval_interval)
        return rows

    def _play(
        self,
        game: Game,
        task: int,
        episodes: int,
        greedy: bool,
        batch: int = 0,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[float, float]:
        """:func:`evaluate_task` of the model with the run's episode cap, seed and env count."""
        cfg = self.cfg
        return evaluate_task(
            self.model, game, task, episodes, cfg.eval_max_steps, cfg.seed, cfg.n_envs,
            greedy=greedy, stop=stop, batch=batch,
        )  # fmt: skip

    def _task_end_scores(self, game: Game, task: int, greedy: bool) -> tuple[float, float, int]:
        """Mean and standard deviation of the raw score of the evaluation that fills A, and its
        episodes: batches of ``final_eval_episodes`` until the normalized standard error is at
        most ``final_eval_se``, or :data:`FINAL_EVAL_BATCHES` of them."""
        cfg, batches = self.cfg, []
        while True:
            batches.append(
                self._play(game, task, cfg.final_eval_episodes, greedy, batch=len(batches))
            )
            mean, std = pooled(batches, cfg.final_eval_episodes)
            episodes = cfg.final_eval_episodes * len(batches)
            more = needs_more_episodes(game, std, episodes, cfg.final_eval_se)
            if not more or len(batches) == FINAL_EVAL_BATCHES:
                return mean, std, episodes

    def _checkpoint(self, name: str) -> None:
        now = time.perf_counter()
        self.state.wall_time_s += now - self._clock
        self._clock = now
        self.last_checkpoint = save_checkpoint(
            self.checkpoints, name, self.num_timesteps, self.task, self._state()
        )
        self.saved_at = self.num_timesteps
        self.next_checkpoint = self._next(self.cfg.checkpoint_interval)
