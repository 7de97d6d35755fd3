"""What a run writes besides checkpoints and bits files: ``eval.csv``, ``summary.json``,
and the A matrix of normalized scores with ACC/BWT (spec s.7)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from blip_rl.capacity import frozen_fraction, one_line
from blip_rl.envs import Game
from blip_rl.files import write_csv
from blip_rl.metrics import acc_bwt
from blip_rl.runs import EVAL_POLICIES

EVAL_COLUMNS = ("step", "task", "game", "policy", "mean_return", "std_return", "normalized")

Scores = list[list[float | None]]
"""``scores[i][j]``: mean raw return of task j right after task i (j <= i; ``None`` for a task
the model does not carry, as with ``--method scratch``)."""


@dataclass
class EvalRow:
    """One task evaluated at one point with one action ``policy`` (:data:`EVAL_POLICIES`):
    ``step`` in global env steps, returns in raw game score, ``normalized`` in [0, 1]
    (``None`` for a game without reference score)."""

    step: int
    task: int
    game: str
    policy: str
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
        scores: per evaluation policy, the :data:`Scores` at each task end.
        rows: every evaluation so far (what ``eval.csv`` holds).
        reports: the strategy's report at each task end.
        wall_time_s: training wall time over all sessions of the run, seconds.
    """

    task: int = 0
    task_start: int = 0
    task_ends: list[int] = field(default_factory=list)
    scores: dict[str, Scores] = field(default_factory=lambda: {p: [] for p in EVAL_POLICIES})
    rows: list[EvalRow] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        """Read back :meth:`to_dict`; ``ValueError`` for a checkpoint of an older format."""
        if not isinstance(data.get("scores"), dict):
            raise ValueError(
                "the checkpoint was written before runs kept greedy and sampled scores; "
                "it cannot be resumed by this version: start a new run"
            )
        return cls(**{**data, "rows": [EvalRow(**row) for row in data["rows"]]})


def write_eval_csv(path: Path, rows: list[EvalRow]) -> None:
    """All evaluation rows, rewritten atomically (the file stays small)."""
    write_csv(
        path,
        EVAL_COLUMNS,
        (
            [row.step, row.task, row.game, row.policy, f"{row.mean_return:.6g}",
             f"{row.std_return:.6g}", None if row.normalized is None else f"{row.normalized:.6f}"]
            for row in rows
        ),
    )  # fmt: skip


def normalized_matrix(games: tuple[Game, ...], scores: Scores) -> list[list[float | None]]:
    """A[i][j]: normalized score of task j after task i (``None`` above the diagonal, where
    the raw score is ``None``, or for a game without reference score)."""
    return [
        [
            games[j].normalize(row[j]) if j < len(row) and row[j] is not None else None
            for j in range(len(games))
        ]
        for row in scores
    ]


def plasticity(
    games: tuple[Game, ...], scores: Scores, scratch: dict[str, float] | None
) -> list[float | None]:
    """A[j][j] / A_scratch[j] on normalized scores for each finished task j: how well task j
    was learned within the sequence against alone from a fresh network. ``scratch`` maps game
    names to raw scratch returns; ``None`` where a score or reference is missing or 0."""
    values: list[float | None] = []
    for j, row in enumerate(scores):
        game = games[j]
        own = row[j]
        ref = None if scratch is None else scratch.get(game.name)
        a, b = (None if v is None else game.normalize(v) for v in (own, ref))
        values.append(None if a is None or not b else a / b)
    return values


def policy_summary(
    games: tuple[Game, ...], scores: Scores, scratch: dict[str, float] | None
) -> dict[str, Any]:
    """A (normalized), A_raw, ACC/BWT, accumulated normalized reward and plasticity for one
    evaluation policy's :data:`Scores` (``None`` where a score or reference is missing)."""
    done = len(scores)
    matrix = normalized_matrix(games, scores)
    complete = done > 0 and all(a is not None for a in matrix[-1][:done])
    acc = bwt = accumulated = None
    if complete:
        square = [row[:done] for row in matrix]
        acc, bwt = acc_bwt(square)
        accumulated = float(sum(square[-1]))
    per_task = plasticity(games, scores, scratch)
    known = [p for p in per_task if p is not None]
    return {
        "A": matrix,
        "A_raw": [list(row) + [None] * (len(games) - len(row)) for row in scores],
        "acc": acc,
        "bwt": bwt,
        "final_accumulated_normalized": accumulated,
        "plasticity": per_task,
        "mean_plasticity": sum(known) / len(known) if known and len(known) == done else None,
    }


def summarize(
    games: tuple[Game, ...],
    method: str,
    progress: Progress,
    eval_policy: str,
    scratch: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """``summary.json`` over the tasks finished so far: the ``eval_policy`` scores' metrics
    (see :func:`policy_summary`) at the top level and every policy's under ``by_policy``.

    ``scratch`` (policy -> game -> raw return, see :func:`scratch_returns`) enables plasticity.
    """
    by_policy = {
        policy: policy_summary(games, scores, None if scratch is None else scratch[policy])
        for policy, scores in progress.scores.items()
    }
    return {
        "games": [g.name for g in games],
        "method": method,
        "eval_policy": eval_policy,
        "tasks_done": progress.task,
        "task_end_steps": progress.task_ends,
        **by_policy[eval_policy],
        "frozen_fraction": [frozen_fraction(r) for r in progress.reports],
        "scratch_returns": scratch,
        "by_policy": by_policy,
        "wall_time_s": progress.wall_time_s,
        "task_end_reports": progress.reports,
    }


def scratch_returns(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Raw return of each game right after it was learned (A_raw[j][j]), per evaluation
    policy, from a run's ``summary.json``: the reference of :func:`plasticity`."""
    return {
        policy: {
            game: part["A_raw"][j][j]
            for j, game in enumerate(summary["games"][: summary["tasks_done"]])
        }
        for policy, part in summary["by_policy"].items()
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The normalized A matrix (rows: after task i; columns: task j), ACC/BWT, plasticity and
    frozen-bit share, as text."""
    names = summary["games"]
    width = max(9, max(len(n) for n in names) + 1)
    use_raw = summary["acc"] is None
    matrix = summary["A_raw"] if use_raw else summary["A"]
    kind = "raw return" if use_raw else "normalized score"
    lines = [
        f"{summary['method']}: {kind} ({summary['eval_policy']} actions) on each game "
        "(columns) after learning each game (rows)",
        " " * width + "".join(f"{n:>{width}}" for n in names),
    ]

    def cells(values: list[float | None]) -> str:
        return "".join(f"{'' if a is None else f'{a:.3f}':>{width}}" for a in values)

    for name, row in zip(names, matrix):
        lines.append(f"{name:<{width}}{cells(row)}")
    if summary["scratch_returns"] is not None:
        lines.append(f"{'plasticity':<{width}}{cells(summary['plasticity'])}")
    if any(f is not None for f in summary["frozen_fraction"]):
        lines.append(f"{'frozen bits':<{width}}{cells(summary['frozen_fraction'])}")
    if not use_raw:
        lines.append(
            f"ACC {summary['acc']:.3f}  BWT {summary['bwt']:+.3f}  accumulated normalized "
            f"{summary['final_accumulated_normalized']:.3f} / {summary['tasks_done']}  "
            f"({summary['wall_time_s']:.0f} s)"
        )
    if summary["mean_plasticity"] is not None:
        lines.append(f"mean plasticity {summary['mean_plasticity']:.3f}")
    return "\n".join(lines)


def task_end_line(summary: dict[str, Any], task: int, report: dict[str, Any]) -> str:
    """One line on a finished task: its env step, the bits it froze (BLIP) and each task's
    return (normalized score) now, with the run's evaluation actions."""
    names = summary["games"]
    scores = "  ".join(
        f"{name} {raw:.1f}" + ("" if norm is None else f" ({norm:.2f})")
        for name, raw, norm in zip(names, summary["A_raw"][task], summary["A"][task])
        if raw is not None
    )
    bits = one_line(report)
    return (
        f"task {task + 1}/{len(names)} {names[task]} done at step "
        f"{summary['task_end_steps'][task]:,}: {bits + '; ' if bits else ''}"
        f"{summary['eval_policy']} returns {scores}"
    )
