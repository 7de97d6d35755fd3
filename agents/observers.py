"""Onlookers of a train run: the trainer calls their hooks, they only report (the terminal
progress bars, the W&B dashboard). Each hook is a no-op unless overridden."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.logger import KVWriter

from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.rundir import TrainRun
from blip_rl.agents.state import EvalRow
from blip_rl.infra.tracking import Dashboard


class RunObserver:
    """Hooks called by :class:`~blip_rl.agents.trainer.ContinualTrainer`; steps are global env
    steps."""

    def on_task_start(self, task: int, game: str, start: int, now: int) -> None:
        """Task ``task`` (``game``) spans steps ``start``.. and the run is at ``now``."""

    def on_step(self, now: int) -> None:
        """After each vectorized env step."""

    def on_evaluate(self, step: int, rows: list[EvalRow]) -> None:
        """Every task evaluated at ``step``, with each action policy."""

    def on_task_end(self, run: TrainRun) -> None:
        """A task is done; ``run`` is the run folder as written then."""

    def sb3_writer(self) -> KVWriter | None:
        """A sink for SB3's logger (``train/loss``, ``rollout/ep_rew_mean``, ...), if wanted."""
        return None

    def close(self, failed: bool = False) -> None:
        """The run ended: done, or ``failed`` (an exception or an interrupt)."""


class WandbWriter(KVWriter):
    """SB3 logger output into a W&B dashboard: every numeric record at the dump's env step."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def write(
        self,
        key_values: dict[str, Any],
        key_excluded: dict[str, tuple[str, ...]],
        step: int = 0,
    ) -> None:
        numbers = {  # SB3 gives numpy scalars too (train/approx_kl is an np.float32)
            key: value.item() if isinstance(value, np.generic) else value
            for key, value in key_values.items()
            if isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool)
        }
        self.dashboard.log(numbers, step)

    def close(self) -> None:
        """Nothing to close: the dashboard ends with the run (:meth:`RunObserver.on_end`)."""


TASK_END_METRICS = (
    "acc",
    "acc_se",
    "bwt",
    "bwt_se",
    "bwt_unclipped",
    "final_accumulated_normalized",
    "mean_plasticity",
)
"""What a W&B run logs at each task end, per evaluation policy (see :class:`PolicyScores`)."""


class WandbObserver(RunObserver):
    """Logs a train run to W&B.

    Keys: SB3's (``train/*``, ``rollout/*``, ``time/*``); ``eval/<policy>/<game>/return`` and
    ``/normalized`` at every evaluation, with ``eval/<policy>/accumulated_normalized``; at each
    task end ``task_end/<policy>/{acc,bwt,...}``, ``frozen_bits/<tensor>`` histograms, the
    Fig. 2 heat map ``frozen_bits/heatmap`` and the A matrix ``A/<policy>`` as a table.
    """

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def sb3_writer(self) -> KVWriter:
        return WandbWriter(self.dashboard)

    def on_evaluate(self, step: int, rows: list[EvalRow]) -> None:
        values: dict[str, float] = {}
        for row in rows:
            values[f"eval/{row.policy}/{row.game}/return"] = row.mean_return
            if row.normalized is not None:
                values[f"eval/{row.policy}/{row.game}/normalized"] = row.normalized
        for policy in EVAL_POLICIES:
            normalized = [r.normalized for r in rows if r.policy == policy]
            if normalized and None not in normalized:
                values[f"eval/{policy}/accumulated_normalized"] = sum(normalized)
        self.dashboard.log(values, step)

    def on_task_end(self, run: TrainRun) -> None:
        summary, task = run.summary, run.tasks_done - 1
        games = run.tasks[: task + 1]
        values: dict[str, Any] = {}
        for policy, part in summary.by_policy.items():
            for key in TASK_END_METRICS:
                if getattr(part, key) is not None:
                    values[f"task_end/{policy}/{key}"] = getattr(part, key)
            values[f"A/{policy}"] = self.dashboard.table(games, run.tasks, part.A)
        if summary.frozen_fraction[task] is not None:
            values["task_end/frozen_fraction"] = summary.frozen_fraction[task]
            values.update(self.dashboard.bits_charts(games, run.bits(run.seeds[0]), run.n_bits))
        self.dashboard.log(values, summary.task_end_steps[task])
        scores = summary.scores
        self.dashboard.summarize(
            {"acc": scores.acc, "bwt": scores.bwt, "mean_plasticity": scores.mean_plasticity}
        )

    def close(self, failed: bool = False) -> None:
        self.dashboard.finish(failed)
