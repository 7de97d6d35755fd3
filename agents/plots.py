"""The figures of train runs: the paper's Fig. 3 (each task's score from its start to the end
of the sequence) and Fig. 4 (accumulated normalized reward), one line per group of runs with a
band of one standard error, and each group's mean A matrix.

A group is the runs of one experiment: every setting equal but the seed and how the run was
carried out, the same grouping (and hash) as the W&B group of ``--wandb``. Normalized scores
are recomputed from raw returns with the current score table, as ``blip-rl inspect`` does, so
figures and tables of one run agree.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.rundir import TrainRun
from blip_rl.agents.summary import PolicyScores
from blip_rl.core.metrics import mean_std
from blip_rl.infra import rundir
from blip_rl.infra.figures import (
    Curve,
    accumulated_figure,
    matrix_figure,
    matrix_mean,
    mean_curve,
    task_scores_figure,
)
from blip_rl.infra.rundir import group_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

Series = dict[int, tuple[float, float]]
"""``{env step: (value, its standard error over the evaluation's episodes)}`` of one run."""


@dataclass(frozen=True)
class RunGroup:
    """The runs of one experiment, one per seed.

    Attributes:
        key: the settings hash, ``<sequence>__<method>__<6 hex digits>`` (the W&B group).
        label: the legend entry: the method and the settings that set it apart.
        runs: one run per seed, in the order given.
    """

    key: str
    label: str
    runs: list[TrainRun]


def settings_key(run: TrainRun) -> str:
    """The W&B group of ``run`` (see :func:`~blip_rl.infra.tracking.experiment_group`)."""
    return run.train_config.group


def default_config(cfg: TrainConfig) -> TrainConfig:
    """What ``blip-rl train`` runs given only ``cfg``'s suite, games, steps per task, method and
    preset: the settings a label leaves unsaid."""
    return TrainConfig(
        suite=cfg.suite,
        games=cfg.games,
        steps_per_task=cfg.steps_per_task,
        method=cfg.method,
        preset=cfg.preset,
    ).resolved()


def setting_labels(configs: Mapping[str, TrainConfig]) -> dict[str, str]:
    """Each group's label (``configs``: one config per group key; see
    :func:`~blip_rl.infra.rundir.setting_labels`): its method and the settings that set it
    apart from the other groups and from :func:`default_config`."""
    return rundir.setting_labels(configs, default_config, {"seed"})


def _one_per_seed(runs: list[TrainRun], label: str) -> list[TrainRun]:
    """``runs`` of one group, keeping one run per seed: the furthest along (the first given of
    equals); a log warning names the folders left out."""
    by_seed: dict[int, list[TrainRun]] = {}
    for run in runs:
        by_seed.setdefault(run.train_config.seed, []).append(run)
    kept, dropped = [], []
    for seed, same in by_seed.items():
        keep = max(same, key=lambda r: r.tasks_done)
        kept.append(keep)
        if len(same) > 1:
            others = ", ".join(repr(str(r.path)) for r in same if r is not keep)
            dropped.append(f"seed {seed}: drawing {str(keep.path)!r}, not {others}")
    if dropped:
        log.warning(
            "plot: runs of the same settings and seed in group %r (%s); a seed counts once",
            label,
            "; ".join(dropped),
        )
    return [r for r in runs if any(r is k for k in kept)]


def group_runs(runs: Sequence[TrainRun], names: Mapping[Path, str] | None = None) -> list[RunGroup]:
    """``runs`` grouped by their settings (:func:`settings_key`), groups in the order first
    given, labelled by :func:`setting_labels` unless ``names`` (run folder -> label) names a
    group through any of its runs; ``ValueError`` if ``names`` gives one group two names or
    two groups one name."""
    by_key: dict[str, list[TrainRun]] = {}
    for run in runs:
        by_key.setdefault(settings_key(run), []).append(run)
    defaults = setting_labels({key: group[0].train_config for key, group in by_key.items()})
    labels = group_labels(by_key, defaults, names)
    return [
        RunGroup(key, labels[key], _one_per_seed(group, labels[key]))
        for key, group in by_key.items()
    ]


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


def task_series(run: TrainRun, policy: str, task: int) -> Series:
    """Raw mean return of ``task`` at each evaluation step of ``run``, with its episode SE."""
    return {p.step: (p.mean_return, p.se) for p in run.eval_points(policy) if p.task == task}


def accumulated(run: TrainRun, policy: str) -> Series:
    """The sum of every evaluated task's normalized score at each evaluation step of ``run``,
    with its episode SE: the tasks' SEs (raw SE / (R_ref - R_random), as the summary's A_se)
    added in quadrature, the tasks' episodes being independent."""
    games = run.train_config.sequence
    sums: dict[int, float] = {}
    variances: dict[int, float] = {}
    for point in run.eval_points(policy):
        game = games[point.task]
        normalized = game.normalize(point.mean_return)
        if normalized is None or not game.normalization_scale:
            raise ValueError(
                f"{point.game!r} has no reference score, so {str(run.path)!r} has no "
                "normalized reward to accumulate"
            )
        se = point.se / game.normalization_scale
        sums[point.step] = sums.get(point.step, 0.0) + normalized
        variances[point.step] = variances.get(point.step, 0.0) + se**2
    return {step: (value, math.sqrt(variances[step])) for step, value in sums.items()}


def scores_text(parts: Sequence[PolicyScores]) -> str:
    """``ACC 0.804 ± 0.012, BWT -0.003 ± 0.022``, then on a line of its own ``(n = 1; ± SE over
    evaluation episodes)``: the
    mean ACC and BWT of the runs that finished, ± their SE over seeds (over one run's episodes
    for n = 1); empty before any run finished."""
    finished = [p for p in parts if p.acc is not None]
    if not finished:
        return ""
    if len(finished) == 1:
        (p,) = finished
        values = [("ACC", p.acc, p.acc_se), ("BWT", p.bwt, p.bwt_se)]
        over = "evaluation episodes"
    else:
        values = []
        for name, key in (("ACC", "acc"), ("BWT", "bwt")):
            known = [getattr(p, key) for p in finished if getattr(p, key) is not None]
            if known:
                mean, std = mean_std(known)
                values.append((name, mean, std / math.sqrt(len(known))))
        over = "seeds"
    shown, with_se = [], False
    for name, mean, se in values:
        if mean is None:
            continue
        text = f"{name} {mean:+.3f}" if name == "BWT" else f"{name} {mean:.3f}"
        if se:
            text, with_se = f"{text} ± {se:.3f}", True
        shown.append(text)
    n = f"n = {len(finished)}" + (f"; ± SE over {over}" if with_se else "")
    return f"{', '.join(shown)}\n({n})"


def file_names(labels: Sequence[str]) -> list[str]:
    """A file-name-safe form of each label, unique: ``blip, bit_budget=0.2`` ->
    ``blip_bit_budget_0.2``."""
    names: list[str] = []
    for label in labels:
        name = re.sub(r"[^\w.-]+", "_", label).strip("_") or "group"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


def train_figures(
    runs: Sequence[TrainRun], policy: str | None, names: Mapping[Path, str] | None = None
) -> dict[str, Figure]:
    """Fig. 3, Fig. 4 and each group's mean normalized A matrix for train runs, one line per
    group of settings (``names``: run folder -> the label of its group; see
    :func:`group_runs`)."""
    policy = eval_policy(runs, policy)
    boundaries = boundaries_of(runs)
    groups = group_runs(runs, names)
    tasks = runs[0].tasks
    games = runs[0].train_config.sequence

    def curves(series: Callable[[TrainRun], Series]) -> list[Curve]:
        return [mean_curve(g.label, [series(r) for r in g.runs]) for g in groups]

    scores = [
        None if g.normalization_scale is None else (g.random_score, g.reference_score)
        for g in games
    ]
    figures = {
        "fig3_task_scores": task_scores_figure(
            tasks,
            boundaries,
            [curves(lambda r, j=j: task_series(r, policy, j)) for j in range(len(tasks))],
            scores,  # type: ignore[arg-type]
        ),
        "fig4_accumulated_normalized": accumulated_figure(
            curves(lambda r: accumulated(r, policy)), boundaries
        ),
    }
    for group, name in zip(groups, file_names([g.label for g in groups])):
        parts = [r.fresh_summary(policy).scores for r in group.runs]
        title = f"{group.label} ({policy} actions): normalized score"
        summary = scores_text(parts)
        if summary:
            title += "\n" + summary
        done = min(r.tasks_done for r in group.runs)
        matrix = matrix_mean([p.A[:done] for p in parts])
        figures[f"a_matrix_{name}"] = matrix_figure(matrix, tasks, title, 1.0)
    return figures
