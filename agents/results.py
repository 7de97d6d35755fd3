"""What a run writes besides checkpoints: ``eval.csv``, ``bits/task_<k>.npz``, ``summary.json``,
and the A matrix of normalized scores with ACC/BWT (spec s.7)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from blip_rl.envs import Game
from blip_rl.files import atomic_write_bytes
from blip_rl.layers import blip_layers
from blip_rl.metrics import acc_bwt

EVAL_COLUMNS = ("step", "task", "game", "mean_return", "std_return", "normalized")


@dataclass
class EvalRow:
    """One task evaluated at one point: ``step`` in global env steps, returns in raw game score,
    ``normalized`` in [0, 1] (``None`` for a game without reference score)."""

    step: int
    task: int
    game: str
    mean_return: float
    std_return: float
    normalized: float | None


@dataclass
class Progress:
    """Where a run stands; saved with every checkpoint so ``--resume`` continues exactly.

    Attributes:
        task: the task being learned (``len(games)`` when the run is done).
        task_start: global env step at which ``task`` started.
        task_ends: global env step at the end of each finished task.
        scores: ``scores[i][j]`` mean raw return of task j right after task i (j <= i).
        rows: every evaluation so far (what ``eval.csv`` holds).
        reports: the strategy's report at each task end.
        wall_time_s: training wall time over all sessions of the run, seconds.
    """

    task: int = 0
    task_start: int = 0
    task_ends: list[int] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)
    rows: list[EvalRow] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        return cls(**{**data, "rows": [EvalRow(**row) for row in data["rows"]]})


def write_eval_csv(path: Path, rows: list[EvalRow]) -> None:
    """All evaluation rows, rewritten atomically (the file stays small)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EVAL_COLUMNS)
    for row in rows:
        normalized = "" if row.normalized is None else f"{row.normalized:.6f}"
        writer.writerow(
            [row.step, row.task, row.game, f"{row.mean_return:.6g}", f"{row.std_return:.6g}"]
            + [normalized]
        )
    atomic_write_bytes(path, text.getvalue().encode())


def frozen_bits(model: nn.Module) -> dict[str, np.ndarray]:
    """Frozen-bit count S of every BLIP tensor, uint8, keyed by ``<layer>.<param>`` name."""
    return {
        f"{name}.{pname}": layer.frozen_bits(pname).cpu().numpy()
        for name, layer in blip_layers(model)
        for pname, _, _ in layer.blip_tensors()
    }


def write_bits(path: Path, model: nn.Module) -> None:
    """``bits/task_<k>.npz``: :func:`frozen_bits` of ``model``, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **frozen_bits(model))
    atomic_write_bytes(path, buffer.getvalue())


def normalized_matrix(games: tuple[Game, ...], scores: list[list[float]]) -> list[list[Any]]:
    """A[i][j]: normalized score of task j after task i (``None`` above the diagonal or for a
    game without reference score)."""
    return [
        [games[j].normalize(row[j]) if j < len(row) else None for j in range(len(games))]
        for row in scores
    ]


def summarize(games: tuple[Game, ...], method: str, progress: Progress) -> dict[str, Any]:
    """``summary.json``: A (normalized), A_raw, and ACC/BWT/accumulated normalized reward
    over the tasks finished so far (``None`` where a game has no reference score)."""
    done = len(progress.scores)
    matrix = normalized_matrix(games, progress.scores)
    complete = done > 0 and all(a is not None for a in matrix[-1][:done])
    acc = bwt = accumulated = None
    if complete:
        square = [row[:done] for row in matrix]
        acc, bwt = acc_bwt(square)
        accumulated = float(sum(square[-1]))
    return {
        "games": [g.name for g in games],
        "method": method,
        "tasks_done": done,
        "task_end_steps": progress.task_ends,
        "A": matrix,
        "A_raw": [row + [None] * (len(games) - len(row)) for row in progress.scores],
        "acc": acc,
        "bwt": bwt,
        "final_accumulated_normalized": accumulated,
        "wall_time_s": progress.wall_time_s,
        "task_end_reports": progress.reports,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The normalized A matrix (rows: after task i; columns: task j) and ACC/BWT, as text."""
    names = summary["games"]
    width = max(9, max(len(n) for n in names) + 1)
    use_raw = summary["acc"] is None
    matrix = summary["A_raw"] if use_raw else summary["A"]
    kind = "raw return" if use_raw else "normalized score"
    lines = [
        f"{summary['method']}: {kind} on each game (columns) after learning each game (rows)",
        " " * width + "".join(f"{n:>{width}}" for n in names),
    ]
    for name, row in zip(names, matrix):
        cells = "".join(f"{'' if a is None else f'{a:.3f}':>{width}}" for a in row)
        lines.append(f"{name:<{width}}{cells}")
    if not use_raw:
        lines.append(
            f"ACC {summary['acc']:.3f}  BWT {summary['bwt']:+.3f}  accumulated normalized "
            f"{summary['final_accumulated_normalized']:.3f} / {summary['tasks_done']}  "
            f"({summary['wall_time_s']:.0f} s)"
        )
    return "\n".join(lines)
