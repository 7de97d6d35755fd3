"""A classify run's results (``results.json``): each seed's accuracy matrix, ACC/BWT over
seeds, their text and figure, and the run folder read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from blip_rl.classification.config import ClassifyConfig
from blip_rl.core.metrics import Estimate, acc_bwt, estimate, mean_std
from blip_rl.infra.figures import matrices_figure, matrix_mean
from blip_rl.infra.rundir import RunFolder, group_labels, open_run, setting_labels
from blip_rl.infra.tables import matrix_lines

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Matrix = list[list[float | None]]
"""A[i][j]: test accuracy (%) on task j after task i, ``None`` above the diagonal."""


@dataclass
class SeedResult:
    """One seed's accuracies so far: A[i][j] (test accuracy, fraction) for j <= i (``None``
    elsewhere, and in the rows of tasks not learned yet), the epochs run and the strategy's
    report of each task learned, and the seconds spent learning them."""

    seed: int
    acc_matrix: list[list[float | None]]
    epochs: list[int]
    reports: list[dict[str, Any]]
    wall_time_s: float = 0.0

    @classmethod
    def start(cls, seed: int, tasks: int) -> SeedResult:
        """A seed that has learned none of its ``tasks`` yet."""
        return cls(seed, [[None] * tasks for _ in range(tasks)], [], [])

    @property
    def tasks_done(self) -> int:
        return len(self.epochs)

    @property
    def percent(self) -> list[list[float | None]]:
        """The accuracy matrix in percent (``None`` above the diagonal)."""
        return [[None if a is None else 100 * a for a in row] for row in self.acc_matrix]


@dataclass(frozen=True)
class SeedRecord:
    """One seed's ACC and BWT (%), epochs per task and the strategy's task-end reports."""

    seed: int
    acc: float
    bwt: float
    epochs: list[int]
    task_end: list[dict[str, Any]]


@dataclass(frozen=True)
class ClassifyResults:
    """``results.json``: a benchmark learned by one method over seeds.

    Attributes:
        benchmark: its name.
        method: the strategy's name.
        seeds: the run seeds, in order.
        tasks: the task names, in order.
        acc_matrix: per seed, the :data:`Matrix`.
        acc, bwt: mean ACC and BWT over seeds (%).
        acc_std, bwt_std: their sample standard deviation over seeds (0 for one seed).
        per_seed: each seed's :class:`SeedRecord`.
        wall_time_s: time spent learning, all seeds, seconds.
        acc_se, bwt_se: the standard errors of ``acc`` and ``bwt`` (std / sqrt(seeds)).
        acc_ci, bwt_ci: their 95% bootstrap confidence intervals over seeds, [low, high].
    """

    benchmark: str
    method: str
    seeds: list[int]
    tasks: list[str]
    acc_matrix: list[Matrix]
    acc: float
    bwt: float
    acc_std: float
    bwt_std: float
    per_seed: list[SeedRecord]
    wall_time_s: float
    acc_se: float = 0.0
    bwt_se: float = 0.0
    acc_ci: list[float] = field(default_factory=list)
    bwt_ci: list[float] = field(default_factory=list)

    def estimates(self) -> dict[str, Estimate]:
        """ACC and BWT (%) over seeds with their standard errors and 95% CIs."""
        return {
            "acc": estimate([s.acc for s in self.per_seed]),
            "bwt": estimate([s.bwt for s in self.per_seed]),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    benchmark: str, method: str, tasks: list[str], results: list[SeedResult], seconds: float
) -> ClassifyResults:
    """The results of every seed of a run, with ACC and BWT (%) over seeds."""
    percent = [r.percent for r in results]
    scores = [acc_bwt(m) for m in percent]
    records = [SeedRecord(r.seed, a, b, r.epochs, r.reports) for r, (a, b) in zip(results, scores)]
    return ClassifyResults(
        benchmark=benchmark,
        method=method,
        seeds=[r.seed for r in results],
        tasks=tasks,
        acc_matrix=percent,
        per_seed=records,
        wall_time_s=seconds,
        **spread(records),
    )


def spread(records: Sequence[SeedRecord]) -> dict[str, Any]:
    """ACC and BWT over the seeds of ``records``: mean, standard deviation, standard error and
    95% CI, as :class:`ClassifyResults` fields."""
    accs, bwts = [r.acc for r in records], [r.bwt for r in records]
    (acc, acc_std), (bwt, bwt_std) = mean_std(accs), mean_std(bwts)
    acc_e, bwt_e = estimate(accs), estimate(bwts)
    return {
        "acc": acc,
        "bwt": bwt,
        "acc_std": acc_std,
        "bwt_std": bwt_std,
        "acc_se": acc_e.se,
        "bwt_se": bwt_e.se,
        "acc_ci": [acc_e.low, acc_e.high],
        "bwt_ci": [bwt_e.low, bwt_e.high],
    }


def first_tasks_text(k: int, total: int | None = None) -> str:
    """The first ``k`` tasks (k >= 1), of ``total`` if given: ``tasks 0..2``, ``task 0``,
    ``tasks 0..2 of 0..9``."""
    first = "task 0" if k == 1 else f"tasks 0..{k - 1}"
    return first if total is None else f"{first} of 0..{total - 1}"


def first_tasks(results: ClassifyResults, k: int) -> ClassifyResults:
    """``results`` over its first ``k`` tasks only: each seed's matrix cut to k x k, ACC and
    BWT over those tasks (as an unfinished run's, see
    :func:`~blip_rl.classification.checkpoints.unfinished_run`)."""
    if k == len(results.tasks):
        return results
    matrices = [[row[:k] for row in matrix[:k]] for matrix in results.acc_matrix]
    records = [
        replace(record, acc=acc, bwt=bwt, epochs=record.epochs[:k], task_end=record.task_end[:k])
        for record, (acc, bwt) in zip(results.per_seed, map(acc_bwt, matrices))
    ]
    return replace(
        results, tasks=results.tasks[:k], acc_matrix=matrices, per_seed=records, **spread(records)
    )


def merge_results(parts: Sequence[ClassifyResults]) -> ClassifyResults:
    """The results of several runs of one benchmark and method as one run's: their seeds in
    the order given, ACC and BWT over all of them, over the tasks every part has finished
    (:func:`first_tasks`); ``ValueError`` naming a seed given twice."""
    seeds = [seed for part in parts for seed in part.seeds]
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise ValueError(f"seed {twice[0]} of {parts[0].method} is given twice")
    k = min(len(part.tasks) for part in parts)
    parts = [first_tasks(part, k) for part in parts]
    records = [record for part in parts for record in part.per_seed]
    return replace(
        parts[0],
        seeds=seeds,
        acc_matrix=[m for part in parts for m in part.acc_matrix],
        per_seed=records,
        wall_time_s=sum(part.wall_time_s for part in parts),
        **spread(records),
    )


def format_results(results: ClassifyResults) -> str:
    """The accuracy matrix of each seed (rows: after task i) and ACC/BWT, as plain text."""
    names = results.tasks
    lines = [
        f"{results.benchmark} / {results.method}: accuracy (%) on each task (columns) "
        "after learning each task (rows)"
    ]
    for seed, matrix in zip(results.seeds, results.acc_matrix):
        lines.append(f"seed {seed}")
        lines += matrix_lines(names, list(zip(names, matrix)), digits=2)
    lines.append(f"{spread_text(results)}   ({results.wall_time_s:.0f} s)")
    return "\n".join(lines)


def spread_text(results: ClassifyResults, wrap: bool = False) -> str:
    """``ACC 97.31 ± 0.12 [97.10, 97.52] %, BWT -0.21 ± 0.05 [-0.30, -0.12] % (mean ± SE [95%
    CI] over n = 3 seeds)``; one seed has no spread: ``ACC 97.31 %, BWT -0.21 % (n = 1)``.
    With ``wrap``, ACC, BWT and the parenthesis each on a line of their own."""
    sep, end = ("\n", "\n") if wrap else (", ", " ")
    n = len(results.seeds)
    if n == 1:
        return f"ACC {results.acc:.2f} %{sep}BWT {results.bwt:+.2f} %{end}(n = 1)"
    e = results.estimates()
    return (
        f"ACC {e['acc'].text(2)} %{sep}BWT {e['bwt'].text(2, sign=True)} %{end}"
        f"(mean ± SE [95% CI] over n = {n} seeds)"
    )


class ClassifyRun(RunFolder):
    """A finished classify run, read back (``bits/seed_<s>/task_<k>.npz`` per seed)."""

    COMMAND = "classify"
    RECORD = "results.json"
    RECORD_WRITTEN = "at its end"
    METRICS = ("acc", "bwt")
    UNIT = " (%)"

    @cached_property
    def results(self) -> ClassifyResults:
        return self.read_record(ClassifyResults)

    @cached_property
    def classify_config(self) -> ClassifyConfig:
        """The run's resolved config; ``ValueError`` if ``config.json`` does not read."""
        return self.resolved_config(ClassifyConfig)

    @property
    def tasks(self) -> list[str]:
        return self.results.tasks

    @property
    def tasks_done(self) -> int:
        return len(self.results.tasks)

    @property
    def seeds(self) -> list[int]:
        return self.results.seeds

    @property
    def task_end_reports(self) -> list[list[dict[str, Any]]]:
        return [part.task_end for part in self.results.per_seed]

    def bits_seed(self, seed: int) -> int:
        return seed

    def metrics(self) -> dict[str, float | None]:
        return {"acc": self.results.acc, "bwt": self.results.bwt}


def group_classify_runs(
    runs: Sequence[ClassifyRun], names: Mapping[Path, str] | None = None
) -> dict[str, ClassifyResults]:
    """The merged results (:func:`merge_results`) of each group of ``runs`` of equal settings,
    by label (:func:`classify_labels`, or the one ``names``, run folder -> label, gives any
    of the group's runs), in the order first given; ``ValueError`` if two groups share a
    label, or the runs are not of one benchmark."""
    benchmarks = sorted({run.results.benchmark for run in runs})
    if len(benchmarks) > 1:
        raise ValueError(
            f"plot classify runs of one benchmark together, got {', '.join(benchmarks)}"
        )
    groups: dict[str, list[ClassifyRun]] = {}
    for run in runs:
        groups.setdefault(run.classify_config.group, []).append(run)
    configs = {key: group[0].classify_config for key, group in groups.items()}
    labels = group_labels(groups, classify_labels(configs), names)
    return {labels[key]: merge_results([r.results for r in group]) for key, group in groups.items()}


def classify_labels(configs: Mapping[str, ClassifyConfig]) -> dict[str, str]:
    """Each group's label (``configs``: one resolved config per group key; see
    :func:`~blip_rl.infra.rundir.setting_labels`): its method and the settings that set it
    apart from the other groups and from :func:`usual_config`: ``blip``, ``blip,
    preset=paper``, ``blip, fisher_prior=1e-11``."""
    return setting_labels(configs, usual_config, {"seeds"})


def usual_config(cfg: ClassifyConfig) -> ClassifyConfig:
    """What ``blip-rl classify`` runs given only ``cfg``'s benchmark, method and preset."""
    return ClassifyConfig(benchmark=cfg.benchmark, method=cfg.method, preset=cfg.preset).resolved()


def accuracy_figure(groups: Mapping[str, ClassifyResults], total: int = 0) -> Figure:
    """The mean test accuracy matrix (%) over the seeds of each group (label -> results),
    side by side, ACC/BWT in each title, on lines short enough to fit above the panel; over
    the tasks every group has finished (:func:`first_tasks`), and if those are fewer than the
    ``total`` of the sequence, each title says so."""
    k = min(len(r.tasks) for r in groups.values())
    note = f"\nunfinished: {first_tasks_text(k, total)}" if k < total else ""
    cut = {label: first_tasks(r, k) for label, r in groups.items()}
    panels = [
        (
            matrix_mean(r.acc_matrix),
            f"{r.benchmark} / {label}: accuracy (%)\n{spread_text(r, wrap=True)}{note}",
        )
        for label, r in cut.items()
    ]
    return matrices_figure(panels, next(iter(cut.values())).tasks, 100.0)


def open_classify_run(folder: Path) -> ClassifyRun:
    """The classify run in ``folder``; ``ValueError`` naming it if it holds none."""
    return cast(ClassifyRun, open_run(folder, (ClassifyRun,)))
