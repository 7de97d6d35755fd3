"""A ``blip-rl train`` run folder: ``config.json``, ``eval.csv``, ``summary.json``,
``bits/task_<k>.npz`` and ``checkpoints/``; the writer of ``eval.csv`` and the readers of all.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.state import EvalRow
from blip_rl.agents.summary import TrainSummary, summarize
from blip_rl.infra.files import CorruptFile, read_checked, write_csv
from blip_rl.infra.rundir import RunFolder, open_run

EVAL_COLUMNS = (
    "step",
    "task",
    "game",
    "policy",
    "episodes",
    "mean_return",
    "std_return",
    "normalized",
)


def write_eval_csv(path: Path, rows: list[EvalRow]) -> None:
    """All evaluation rows, rewritten atomically (the file stays small)."""
    write_csv(
        path,
        EVAL_COLUMNS,
        (
            [row.step, row.task, row.game, row.policy, row.episodes, f"{row.mean_return:.6g}",
             f"{row.std_return:.6g}", None if row.normalized is None else f"{row.normalized:.6f}"]
            for row in rows
        ),
    )  # fmt: skip


@dataclass(frozen=True)
class EvalPoint:
    """One row of ``eval.csv``: task ``task`` evaluated at global env step ``step`` with
    ``policy`` actions over ``episodes`` episodes; its raw mean return and the sample std of
    the episodes' returns (the file's normalized score used the score table of its day:
    normalize again with the current one)."""

    step: int
    task: int
    game: str
    policy: str
    episodes: int
    mean_return: float
    std_return: float

    @property
    def se(self) -> float:
        """The standard error of :attr:`mean_return` (raw score): std / sqrt(episodes)."""
        return self.std_return / math.sqrt(self.episodes)


class TrainRun(RunFolder):
    """A finished or running train run, read back."""

    COMMAND = "train"
    RECORD = "summary.json"
    RECORD_WRITTEN = "after its first task"
    METRICS = ("acc", "bwt", "bwt_unclipped", "final_accumulated_normalized")

    @cached_property
    def summary(self) -> TrainSummary:
        """``summary.json`` as written (its normalized scores of the score table then)."""
        return self.read_record(TrainSummary)

    @cached_property
    def train_config(self) -> TrainConfig:
        """The run's resolved config; ``ValueError`` if ``config.json`` does not read."""
        return self.resolved_config(TrainConfig)

    @property
    def tasks(self) -> list[str]:
        return self.summary.games

    @property
    def tasks_done(self) -> int:
        return self.summary.tasks_done

    @property
    def seeds(self) -> list[int]:
        return [self.config["seed"]]

    @property
    def task_end_reports(self) -> list[list[dict[str, Any]]]:
        return [self.summary.task_end_reports]

    def bits_seed(self, seed: int) -> None:
        return None

    def fresh_summary(
        self, eval_policy: str | None = None, scratch: dict[str, dict[str, float]] | None = None
    ) -> TrainSummary:
        """The summary recomputed with the current score table, with ``eval_policy``'s scores
        (default: the run's) as the headline and ``scratch`` as plasticity's reference."""
        cfg = self.train_config
        policy = eval_policy or self.summary.eval_policy
        return summarize(cfg.sequence, cfg.method, self.summary.run_state(), policy, scratch)

    def metrics(self) -> dict[str, float | None]:
        scores = self.fresh_summary().scores
        return {name: getattr(scores, name) for name in self.METRICS}

    @cached_property
    def evaluations(self) -> list[EvalPoint]:
        """``eval.csv``, read once, in file order; a point evaluated twice (a resumed run)
        keeps its last row."""
        path = self.path / "eval.csv"
        try:
            with io.StringIO(read_checked(path).decode(), newline="") as f:
                rows = [
                    EvalPoint(
                        int(row["step"]),
                        int(row["task"]),
                        row["game"],
                        row["policy"],
                        int(row["episodes"]),
                        float(row["mean_return"]),
                        float(row["std_return"]),
                    )
                    for row in csv.DictReader(f)
                ]
            if any(p.episodes < 1 for p in rows):
                raise ValueError("episodes < 1")
        except CorruptFile:
            raise
        except (OSError, KeyError, TypeError, ValueError, csv.Error) as e:
            raise ValueError(
                f"cannot read {str(path)!r} (bad value or missing column {e}); expected the "
                "columns step, task, game, policy, episodes (>= 1), mean_return, std_return"
            ) from None
        return list({(p.step, p.task, p.policy): p for p in rows}.values())

    def eval_points(self, policy: str) -> list[EvalPoint]:
        """The run's evaluations with ``policy`` actions (see :attr:`evaluations`)."""
        return [p for p in self.evaluations if p.policy == policy]


def contents(folder: Path) -> str:
    """What a train run folder holds, in a few words: its checkpoints, evaluations and
    finished tasks (for an error that must say what it found)."""
    checkpoints = folder / "checkpoints"
    found = sorted(p.name for p in checkpoints.iterdir()) if checkpoints.is_dir() else []
    parts = [f"checkpoints: {', '.join(found)}" if found else "no checkpoints"]
    if (folder / "eval.csv").is_file():
        rows = len((folder / "eval.csv").read_text(errors="replace").splitlines()) - 1
        parts.append(f"eval.csv with {max(rows, 0)} rows")
    if (folder / "summary.json").is_file():
        try:
            summary = open_train_run(folder).summary
            parts.append(f"summary.json after {summary.tasks_done} of {len(summary.games)} tasks")
        except (ValueError, KeyError, TypeError):
            parts.append("an unreadable summary.json")
    return "; ".join(parts)


def open_train_run(folder: Path) -> TrainRun:
    """The train run in ``folder``; ``ValueError`` naming it if it holds none."""
    return cast(TrainRun, open_run(folder, (TrainRun,)))
