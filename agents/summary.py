"""A train run's results (``summary.json``): the A matrix of normalized scores with ACC/BWT
(spec s.7), plasticity against a scratch reference, and their text forms."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from blip_rl.agents.state import RunState, Scores
from blip_rl.core.capacity import frozen_fraction, one_line
from blip_rl.core.metrics import acc_bwt
from blip_rl.envs import Game
from blip_rl.infra.tables import matrix_lines

Matrix = list[list[float | None]]
"""A[i][j]: score of task j after task i, ``None`` where there is none (above the diagonal,
a task the model does not carry, a game without reference score)."""


Z95 = 1.959964
"""The two-sided 95% quantile of the normal distribution."""


@dataclass(frozen=True)
class PolicyScores:
    """The scores of one evaluation policy (``sampled`` or ``greedy`` actions).

    The evaluation noise of one run: every A cell is a mean over its task-end episodes, with
    a standard error; ACC and BWT carry theirs (the cells' combined) and a 95% normal CI.

    Attributes:
        A: normalized A matrix, (T, T), clipped to [0, 1], see :data:`Matrix`.
        A_unclipped: the same, not clipped (a drop from above the reference shows).
        A_raw: raw mean returns, (T, T).
        A_raw_se: the standard error of each raw mean, (T, T).
        A_se: the standard error of each normalized cell, (T, T).
        acc: ACC of ``A`` over the tasks done (``None`` until a normalized row is complete).
        acc_se: its standard error from the evaluation episodes.
        acc_ci: [low, high], its 95% CI.
        bwt: BWT of ``A``, likewise (with ``bwt_se``, ``bwt_ci``).
        acc_unclipped: ACC of ``A_unclipped``.
        bwt_unclipped: BWT of ``A_unclipped``.
        final_accumulated_normalized: the sum of the last row of ``A``.
        plasticity: A[j][j] / scratch A[j][j] per finished task (``None`` without reference).
        mean_plasticity: their mean over tasks 2..T (task 1 is learned alike by every method)
            once each has one.
        first_task_plasticity: task 1's, on its own.
    """

    A: Matrix
    A_unclipped: Matrix
    A_raw: Matrix
    A_raw_se: Matrix
    A_se: Matrix
    acc: float | None
    acc_se: float | None
    acc_ci: list[float] | None
    bwt: float | None
    bwt_se: float | None
    bwt_ci: list[float] | None
    acc_unclipped: float | None
    bwt_unclipped: float | None
    final_accumulated_normalized: float | None
    plasticity: list[float | None]
    mean_plasticity: float | None
    first_task_plasticity: float | None


@dataclass(frozen=True)
class TrainSummary:
    """``summary.json``: a train run's results over the tasks finished so far.

    Attributes:
        games: every game of the sequence, in order.
        method: the strategy's name.
        eval_policy: the evaluation policy whose scores are the run's headline.
        tasks_done: tasks finished.
        task_end_steps: global env step at each task end.
        frozen_fraction: share of BLIP bits frozen after each task (``None``: not BLIP).
        scratch_returns: per policy, the raw scratch return of each game (plasticity's
            reference), or ``None``.
        by_policy: every evaluation policy's scores.
        wall_time_s: training wall time, seconds.
        task_end_reports: the strategy's report at each task end.
    """

    games: list[str]
    method: str
    eval_policy: str
    tasks_done: int
    task_end_steps: list[int]
    frozen_fraction: list[float | None]
    scratch_returns: dict[str, dict[str, float]] | None
    by_policy: dict[str, PolicyScores]
    wall_time_s: float
    task_end_reports: list[dict[str, Any]]

    @property
    def scores(self) -> PolicyScores:
        """The headline scores: those of :attr:`eval_policy`."""
        return self.by_policy[self.eval_policy]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the fields, with the headline scores also at the top level."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["by_policy"] = {policy: asdict(s) for policy, s in self.by_policy.items()}
        head = ("games", "method", "eval_policy", "tasks_done", "task_end_steps")
        return {
            **{k: data.pop(k) for k in head},
            **asdict(self.scores),
            **data,
        }

    def run_state(self) -> RunState:
        """The task-end part of the run's :class:`RunState`, read back from this summary."""
        return RunState(
            task=self.tasks_done,
            task_ends=self.task_end_steps,
            scores={
                policy: [row[: i + 1] for i, row in enumerate(part.A_raw)]
                for policy, part in self.by_policy.items()
            },
            errors={
                policy: [row[: i + 1] for i, row in enumerate(part.A_raw_se)]
                for policy, part in self.by_policy.items()
            },
            reports=self.task_end_reports,
            wall_time_s=self.wall_time_s,
        )


def normalized_matrix(games: tuple[Game, ...], scores: Scores, clip: bool = True) -> Matrix:
    """A[i][j]: normalized score of task j after task i (see :data:`Matrix`)."""
    return [
        [
            games[j].normalize(row[j], clip) if j < len(row) and row[j] is not None else None
            for j in range(len(games))
        ]
        for row in scores
    ]


def normalized_errors(games: tuple[Game, ...], errors: Scores) -> Matrix:
    """The standard error of each normalized cell: the raw one over R_ref - R_random."""
    return [
        [
            None
            if j >= len(row) or row[j] is None or games[j].normalization_scale is None
            else row[j] / games[j].normalization_scale  # type: ignore[operator]
            for j in range(len(games))
        ]
        for row in errors
    ]


def padded(rows: Scores, width: int) -> Matrix:
    """``rows`` (row i has i + 1 entries) as a (len(rows), width) matrix, ``None`` above."""
    return [list(row) + [None] * (width - len(row)) for row in rows]


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


def acc_bwt_errors(se: Matrix, done: int) -> tuple[float | None, float | None]:
    """Standard errors of ACC and BWT over the first ``done`` tasks, from those of the cells
    (independent evaluations); ``None`` if a cell has none."""
    last = [se[done - 1][j] for j in range(done)]
    diagonal = [se[j][j] for j in range(done - 1)]
    if any(e is None for e in (*last, *diagonal)):
        return None, None
    acc = math.sqrt(sum(e * e for e in last)) / done  # type: ignore[operator]
    if done == 1:
        return acc, 0.0
    pairs = sum(a * a + b * b for a, b in zip(last, diagonal))  # type: ignore[operator]
    return acc, math.sqrt(pairs) / (done - 1)


def interval(value: float | None, se: float | None) -> list[float] | None:
    """The 95% normal CI [low, high] of ``value`` with standard error ``se``."""
    return None if value is None or se is None else [value - Z95 * se, value + Z95 * se]


def policy_scores(
    games: tuple[Game, ...], scores: Scores, errors: Scores, scratch: dict[str, float] | None
) -> PolicyScores:
    """A (clipped and unclipped), A_raw and the standard errors, ACC/BWT with their errors,
    the accumulated normalized reward and plasticity for one evaluation policy's
    :data:`Scores` and their standard ``errors``."""
    done, width = len(scores), len(games)
    clipped, unclipped = normalized_matrix(games, scores), normalized_matrix(games, scores, False)
    se = normalized_errors(games, errors)
    acc = bwt = acc_se = bwt_se = acc_u = bwt_u = accumulated = None
    if done > 0 and all(a is not None for a in clipped[-1][:done]):
        square = [row[:done] for row in clipped]
        acc, bwt = acc_bwt(square)
        acc_u, bwt_u = acc_bwt([row[:done] for row in unclipped])
        acc_se, bwt_se = acc_bwt_errors(se, done)
        accumulated = float(sum(square[-1]))  # type: ignore[arg-type]
    per_task = plasticity(games, scores, scratch)
    later = per_task[1:]
    return PolicyScores(
        A=clipped,
        A_unclipped=unclipped,
        A_raw=padded(scores, width),
        A_raw_se=padded(errors, width),
        A_se=se,
        acc=acc,
        acc_se=acc_se,
        acc_ci=interval(acc, acc_se),
        bwt=bwt,
        bwt_se=bwt_se,
        bwt_ci=interval(bwt, bwt_se),
        acc_unclipped=acc_u,
        bwt_unclipped=bwt_u,
        final_accumulated_normalized=accumulated,
        plasticity=per_task,
        mean_plasticity=(
            sum(later) / len(later) if later and None not in later else None  # type: ignore[arg-type]
        ),
        first_task_plasticity=per_task[0] if per_task else None,
    )


def summarize(
    games: tuple[Game, ...],
    method: str,
    state: RunState,
    eval_policy: str,
    scratch: dict[str, dict[str, float]] | None = None,
) -> TrainSummary:
    """The summary over the tasks finished so far, ``eval_policy``'s scores the headline.

    ``scratch`` (policy -> game -> raw return, see :func:`scratch_returns`) enables plasticity.
    """
    return TrainSummary(
        games=[g.name for g in games],
        method=method,
        eval_policy=eval_policy,
        tasks_done=state.task,
        task_end_steps=state.task_ends,
        frozen_fraction=[frozen_fraction(r) for r in state.reports],
        scratch_returns=scratch,
        by_policy={
            policy: policy_scores(
                games, scores, state.errors[policy], None if scratch is None else scratch[policy]
            )
            for policy, scores in state.scores.items()
        },
        wall_time_s=state.wall_time_s,
        task_end_reports=state.reports,
    )


def scratch_returns(summary: TrainSummary) -> dict[str, dict[str, float]]:
    """Raw return of each game right after it was learned (A_raw[j][j]), per evaluation
    policy, from a run's summary: the reference of :func:`plasticity`."""
    return {
        policy: {
            game: part.A_raw[j][j] for j, game in enumerate(summary.games[: summary.tasks_done])
        }
        for policy, part in summary.by_policy.items()
    }


def format_summary(summary: TrainSummary) -> str:
    """The normalized A matrix (rows: after task i; columns: task j), ACC/BWT, plasticity and
    frozen-bit share, as text."""
    names, scores = summary.games, summary.scores
    use_raw = scores.acc is None
    matrix = scores.A_raw if use_raw else scores.A
    kind = "raw return" if use_raw else "normalized score"
    rows = list(zip(names, matrix))
    if summary.scratch_returns is not None:
        rows.append(("plasticity", scores.plasticity))
    if any(f is not None for f in summary.frozen_fraction):
        rows.append(("frozen bits", summary.frozen_fraction))
    lines = [
        f"{summary.method}: {kind} ({summary.eval_policy} actions) on each game "
        "(columns) after learning each game (rows)",
        *matrix_lines(names, rows, digits=3),
    ]
    if not use_raw:
        lines.append(
            f"ACC {scores.acc:.3f}{error_text(scores.acc_se, scores.acc_ci)}  "
            f"BWT {scores.bwt:+.3f}{error_text(scores.bwt_se, scores.bwt_ci)} "
            f"(unclipped {scores.bwt_unclipped:+.3f})  accumulated normalized "
            f"{scores.final_accumulated_normalized:.3f} / {summary.tasks_done}  "
            f"({summary.wall_time_s:.0f} s)"
        )
    if scores.mean_plasticity is not None:
        lines.append(
            f"mean plasticity (tasks 2..{summary.tasks_done}) {scores.mean_plasticity:.3f}; "
            f"task 1 {scores.first_task_plasticity:.3f}"
        )
    return "\n".join(lines)


def error_text(se: float | None, ci: list[float] | None) -> str:
    """`` ± 0.012 [0.786, 0.833]``: the standard error and 95% CI of a run's metric from its
    evaluation episodes ('' without them)."""
    if se is None or ci is None:
        return ""
    return f" ± {se:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def task_end_line(summary: TrainSummary, task: int, report: dict[str, Any]) -> str:
    """One line on a finished task: its env step, the bits it froze (BLIP) and each task's
    return (normalized score) now, with the run's evaluation actions."""
    names, scores = summary.games, summary.scores
    returns = "  ".join(
        f"{name} {raw:.1f}" + ("" if norm is None else f" ({norm:.2f})")
        for name, raw, norm in zip(names, scores.A_raw[task], scores.A[task])
        if raw is not None
    )
    bits = one_line(report)
    return (
        f"task {task} ({names[task]}) done at step "
        f"{summary.task_end_steps[task]:,}: {bits + '; ' if bits else ''}"
        f"{summary.eval_policy} returns {returns}"
    )
