"""``blip-rl plot RUN [RUN ...]``: the paper's Fig. 3 (each task's score from its start to the
end of the sequence) and Fig. 4 (accumulated normalized reward) over train runs, one line per
method with a band over seeds; the A matrix of each method and of each classify run.

Normalized scores are recomputed from raw returns with the current score table, as
``blip-rl inspect`` does, so figures and tables of one run agree.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from blip_rl.agents.rundir import fresh_summary, train_config
from blip_rl.cli import Command
from blip_rl.config import argument, fail, option
from blip_rl.figures import (
    FIGURE_FORMATS,
    Curve,
    accumulated_figure,
    matrix_figure,
    mean_curve,
    save_figure,
    task_scores_figure,
)
from blip_rl.files import check_writable_dir
from blip_rl.runs import EVAL_POLICIES, RunFolder, lacks_entry, open_run

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class PlotConfig:
    """What ``blip-rl plot`` draws."""

    runs: tuple[str, ...] = argument(
        "run folders; train runs of one method are averaged (mean and a band of one std over seeds)"
    )
    out: str | None = option(
        None, "folder for the figures [default: RUN/plots for one run, else plots]"
    )
    format: str = option("png", "figure file format", choices=FIGURE_FORMATS)
    policy: str | None = option(
        None,
        "evaluation actions of train runs [default: the runs' --eval-policy]",
        choices=EVAL_POLICIES,
    )


def methods_of(runs: Sequence[RunFolder]) -> dict[str, list[RunFolder]]:
    """Runs grouped by method, methods in the order first given."""
    groups: dict[str, list[RunFolder]] = {}
    for run in runs:
        groups.setdefault(run.method, []).append(run)
    return groups


def boundaries_of(runs: Sequence[RunFolder]) -> list[int]:
    """(T + 1,) env step at which each task starts, then the sequence's end, shared by every
    train run in ``runs``; a run in progress extends with its first task's length."""
    longest = max(runs, key=lambda r: r.tasks_done)
    ends = longest.record["task_end_steps"]
    length = ends[0]
    ends = ends + [ends[-1] + length * k for k in range(1, len(longest.tasks) - len(ends) + 1)]
    for run in runs:
        own = run.record["task_end_steps"]
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


def eval_policy(runs: Sequence[RunFolder], given: str | None) -> str:
    """``given``, else the evaluation policy every run reports with (which must agree)."""
    if given is not None:
        return given
    policies = sorted({run.record["eval_policy"] for run in runs})
    if len(policies) > 1:
        raise ValueError(
            f"the runs report with different --eval-policy ({', '.join(policies)}); "
            "pass --policy sampled or --policy greedy"
        )
    return policies[0]


def accumulated(run: RunFolder, policy: str) -> dict[int, float]:
    """The sum of every evaluated task's normalized score at each evaluation step of ``run``."""
    games = train_config(run).sequence
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


def task_series(run: RunFolder, policy: str, task: int) -> dict[int, float]:
    """Raw mean return of ``task`` at each evaluation step of ``run``."""
    return {p.step: p.mean_return for p in run.eval_points(policy) if p.task == task}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value), as the README's tables."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def matrix_mean(matrices: Sequence[Sequence[Sequence[float | None]]]) -> np.ndarray:
    """The element-wise mean of several A matrices, NaN where not evaluated."""
    stack = np.array(
        [[[np.nan if a is None else a for a in row] for row in m] for m in matrices], dtype=float
    )
    return stack.mean(axis=0)


def train_figures(runs: Sequence[RunFolder], policy: str | None) -> dict[str, Figure]:
    """Fig. 3, Fig. 4 and each method's mean normalized A matrix for train runs."""
    policy = eval_policy(runs, policy)
    boundaries = boundaries_of(runs)
    groups = methods_of(runs)
    tasks = runs[0].tasks

    def curves(series: Callable[[RunFolder], dict[int, float]]) -> list[Curve]:
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
        parts = [fresh_summary(r, replace(train_config(r), eval_policy=policy)) for r in group]
        finished = [p for p in parts if p["acc"] is not None]
        title = f"{method} ({policy} actions): normalized score"
        if finished:
            acc, acc_std = mean_std([p["acc"] for p in finished])
            bwt, bwt_std = mean_std([p["bwt"] for p in finished])
            title += (
                f"\nACC {acc:.3f} ± {acc_std:.3f}, BWT {bwt:+.3f} ± {bwt_std:.3f} "
                f"({len(finished)} run{'s' * (len(finished) > 1)})"
            )
        done = min(r.tasks_done for r in group)
        matrix = matrix_mean([p["A"][:done] for p in parts])
        figures[f"a_matrix_{method}"] = matrix_figure(matrix, tasks, title, 1.0)
    return figures


def classify_figure(run: RunFolder) -> Figure:
    """The mean test accuracy matrix (%) over a classify run's seeds, ACC/BWT in the title."""
    record = run.record
    seeds = len(record["seeds"])
    title = (
        f"{record['benchmark']} / {run.method}: accuracy (%)\n"
        f"ACC {record['acc']:.2f} ± {record['acc_std']:.2f}, "
        f"BWT {record['bwt']:+.2f} ± {record['bwt_std']:.2f} ({seeds} seed{'s' * (seeds > 1)})"
    )
    return matrix_figure(matrix_mean(record["acc_matrix"]), run.tasks, title, 100.0)


def draw_plots(cfg: PlotConfig, prog: str) -> int:
    try:
        runs = [open_run(Path(folder)) for folder in cfg.runs]
        train = [r for r in runs if r.kind == "train"]
        figures = train_figures(train, cfg.policy) if train else {}
        names = [r.name for r in runs if r.kind == "classify"]
        if len(set(names)) < len(names):
            raise ValueError(f"two classify runs share a folder name: {', '.join(names)}")
        for run in runs:
            if run.kind == "classify":
                figures[f"accuracy_{run.name}"] = classify_figure(run)
        default = runs[0].path / "plots" if len(runs) == 1 else Path("plots")
        out = Path(cfg.out) if cfg.out else default
        check_writable_dir(out)
    except (ValueError, OSError) as e:
        fail(prog, str(e))
    except KeyError as e:  # a run file without an entry every run writes
        fail(prog, lacks_entry(",".join(cfg.runs), e))
    for name, fig in figures.items():
        path = out / f"{name}.{cfg.format}"
        save_figure(fig, path)
        print(path)
    return 0


COMMAND = Command(
    help="draw per-task scores (Fig. 3), accumulated normalized reward (Fig. 4) and A matrices",
    config=PlotConfig,
    run=draw_plots,
)
