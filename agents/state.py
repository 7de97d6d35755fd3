"""Where a train run stands, saved with every checkpoint so ``--resume`` continues exactly:
the task being learned, every evaluation so far and what each task end recorded."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from blip_rl.agents.evaluation import EVAL_POLICIES

Scores = list[list[float | None]]
"""``scores[i][j]``: mean raw return of task j right after task i (j <= i; ``None`` for a task
the model does not carry, as with ``--method scratch``)."""


@dataclass
class EvalRow:
    """One task evaluated at one point with one action ``policy`` (:data:`EVAL_POLICIES`) over
    ``episodes`` episodes: ``step`` in global env steps, returns in raw game score (their mean
    and sample standard deviation), ``normalized`` the mean's normalized score in [0, 1]
    (``None`` for a game without reference score). A row of ``eval.csv``."""

    step: int
    task: int
    game: str
    policy: str
    episodes: int
    mean_return: float
    std_return: float
    normalized: float | None

    @property
    def standard_error(self) -> float:
        """Standard error of :attr:`mean_return`, raw score."""
        return self.std_return / math.sqrt(self.episodes)


@dataclass
class RunState:
    """Where a run stands.

    Attributes:
        task: the task being learned (``len(games)`` when the run is done).
        task_start: global env step at which ``task`` started.
        task_ends: global env step at the end of each finished task.
        scores: per evaluation policy, the :data:`Scores` at each task end.
        errors: per evaluation policy, the standard error of each of its scores.
        rows: every evaluation so far (what ``eval.csv`` holds).
        reports: the strategy's report at each task end.
        wall_time_s: training wall time over all sessions of the run, seconds.
    """

    task: int = 0
    task_start: int = 0
    task_ends: list[int] = field(default_factory=list)
    scores: dict[str, Scores] = field(default_factory=lambda: {p: [] for p in EVAL_POLICIES})
    errors: dict[str, Scores] = field(default_factory=lambda: {p: [] for p in EVAL_POLICIES})
    rows: list[EvalRow] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def record_task_end(self, step: int, report: dict[str, Any], rows: list[EvalRow]) -> None:
        """Task :attr:`task` ended at ``step`` with the strategy's ``report`` and the
        evaluation ``rows`` of every task so far; the next task starts."""
        for policy in self.scores:
            means: list[float | None] = [None] * (self.task + 1)
            errors: list[float | None] = [None] * (self.task + 1)
            for row in rows:
                if row.policy == policy:
                    means[row.task], errors[row.task] = row.mean_return, row.standard_error
            self.scores[policy].append(means)
            self.errors[policy].append(errors)
        self.task_ends.append(step)
        self.reports.append(report)
        self.task += 1
        self.task_start = step

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """Read back :meth:`to_dict`; ``ValueError`` for a checkpoint of an older format."""
        if not isinstance(data.get("errors"), dict):
            raise ValueError(
                "the checkpoint was written before runs kept the standard error of each score; "
                "it cannot be resumed by this version: start a new run"
            )
        return cls(**{**data, "rows": [EvalRow(**row) for row in data["rows"]]})
