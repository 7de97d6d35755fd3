"""The figures of train runs: the paper's Fig. 3 (each task's score from its start to the end
of the sequence) and Fig. 4 (accumulated normalized reward), one line per method with a band
over seeds, and each method's mean A matrix.

Normalized scores are recomputed from raw returns with the current score table, as
``blip-rl inspect`` does, so figures and tables of one run agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from blip_rl.agents.rundir import TrainRun
from blip_rl.core.metrics import mean_std
from blip_rl.infra.figures import (
    Curve,
    accumulated_figure,
    matrix_figure,
    matrix_mean,
    mean_curve,
    task_scores_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def methods_of(runs: Sequence[TrainRun]) -> dict[str, list[TrainRun]]:
    """Runs grouped by method, methods in the order first given."""
    groups: dict[str, list[TrainRun]] = {}
    for run in runs:
        groups.setdefault(run.method, []).append(run)
    return groups


def boundaries_of(runs: Sequence[TrainRun]) -> list[int]:
    """(T + 1,) env step at which each task starts, then the sequence's end, shared by every
    train run in ``runs``; a run in progress extends with its first task's length."""
    longest = max(runs, key=lambda r: r.tasks_done)
    ends = longest.summary.task_end_steps
    length = ends[0]
    ends = ends + [ends[-1] + length * k for k in range(1, len(longest.tasks) - len(ends) + 1)]
    for run in runs:
        own = run.summary.task_end_steps
        if run.tasks != longest.tasks:
            raise ValueError(
                f"{str(run.path)!r} learns {','.join(run.tasks)}, not "
                f"{','.join(longest.tasks)}: plot runs of one task sequence together"
            )
        if own != ends[: len(own)]:
            raise ValueError(
                f"{str(run.path)!r} ends its tasks at env steps {own}, {str(longest.path)!r} "
                f"at {ends[: len(own)]}: plot runs with the same steps per task together"
            )
    return [0, *ends]


def eval_policy(runs: Sequence[TrainRun], given: str | None) -> str:
    """``given``, else the evaluation policy every run reports with (which must agree)."""
    if given is not None:
        return given
    policies = sorted({run.summary.eval_policy for run in runs})
    if len(policies) > 1:
        raise ValueError(
            f"the runs report with different --eval-policy ({', '.join(policies)}); "
            "pass --policy sampled or --policy greedy"
        )
    return policies[0]


def accumulated(run: TrainRun, policy: str) -> dict[int, float]:
    """The sum of every evaluated task's normalized score at each evaluation step of ``run``."""
    games = run.train_config.sequence
    sums: dict[int, float] = {}
    for point in run.eval_points(policy):
        normalized = games[point.task].normalize(point.mean_return)
        if normalized is None:
            raise ValueError(
                f"{point.game!r} has no reference score, so {str(run.path)!r} has no "
                "normalized reward to accumulate"
            )
        sums[point.step] = sums.get(point.step, 0.0) + normalized
    return sums


def task_series(run: TrainRun, policy: str, task: int) -> dict[int, float]:
    """Raw mean return of ``task`` at each evaluation step of ``run``."""
    return {p.step: p.mean_return for p in run.eval_points(policy) if p.task == task}


def train_figures(runs: Sequence[TrainRun], policy: str | None) -> dict[str, Figure]:
    """Fig. 3, Fig. 4 and each method's mean normalized A matrix for train runs."""
    policy = eval_policy(runs, policy)
    boundaries = boundaries_of(runs)
    groups = methods_of(runs)
    tasks = runs[0].tasks

    def curves(series: Callable[[TrainRun], dict[int, float]]) -> list[Curve]:
        return [mean_curve(m, [series(r) for r in group]) for m, group in groups.items()]

    figures = {
        "fig3_task_scores": task_scores_figure(
            tasks,
            boundaries,
            [curves(lambda r, j=j: task_series(r, policy, j)) for j in range(len(tasks))],
        ),
        "fig4_accumulated_normalized": accumulated_figure(
            curves(lambda r: accumulated(r, policy)), boundaries
        ),
    }
    for method, group in groups.items():
        parts = [r.fresh_summary(policy).scores for r in group]
        finished = [p for p in parts if p.acc is not None]
        title = f"{method} ({policy} actions): normalized score"
        if finished:
            acc, acc_std = mean_std([p.acc for p in finished])
            bwt, bwt_std = mean_std([p.bwt for p in finished])
            title += (
                f"\nACC {acc:.3f} ± {acc_std:.3f}, BWT {bwt:+.3f} ± {bwt_std:.3f} "
                f"({len(finished)} run{'s' * (len(finished) > 1)})"
            )
        done = min(r.tasks_done for r in group)
        matrix = matrix_mean([p.A[:done] for p in parts])
        figures[f"a_matrix_{method}"] = matrix_figure(matrix, tasks, title, 1.0)
    return figures
