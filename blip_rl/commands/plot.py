"""``blip-rl plot RUN [RUN ...]``: the paper's Fig. 3 (each task's score from its start to the
end of the sequence) and Fig. 4 (accumulated normalized reward) over train runs, one line per
group of settings with a band of one standard error; the A matrix of each group and of each
classify run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.plots import file_names, train_figures
from blip_rl.agents.rundir import TrainRun
from blip_rl.classification.results import ClassifyRun, accuracy_figure, group_classify_runs
from blip_rl.commands.command import Command
from blip_rl.commands.runs import open_run
from blip_rl.core.options import argument, option
from blip_rl.infra.figures import FIGURE_FORMATS, save_figure
from blip_rl.infra.files import check_writable_dir
from blip_rl.infra.flags import fail
from blip_rl.infra.rundir import RunFolder, lacks_entry

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class PlotConfig:
    """What ``blip-rl plot`` draws."""

    runs: tuple[str, ...] = argument(
        "run folders; train runs of the same settings but the seed (the W&B group) are "
        "averaged: mean and a band of one standard error"
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
    label: tuple[str, ...] | None = option(
        None,
        "comma-separated RUN=NAME: NAME is the legend label of the group RUN (one of the run "
        "folders given) belongs to [default: the method, then each setting that differs "
        "between groups, e.g. 'blip, bit_budget=0.2'; for classify runs the method and a "
        "preset other than the default]",
    )


def parse_labels(items: Sequence[str], runs: Sequence[RunFolder]) -> dict[Path, str]:
    """``--label`` items ``RUN=NAME`` as {run folder: NAME}; ``ValueError`` naming an item
    that is not of that form or whose RUN is not one of ``runs``."""
    given_runs = {r.path.resolve(): r for r in runs}
    labels: dict[Path, str] = {}
    for item in items:
        folder, _, name = item.partition("=")
        if not folder or not name.strip():
            raise ValueError(f"invalid --label {item!r}; expected RUN=NAME, e.g. runs/blip_s0=BLIP")
        path = Path(folder).resolve()
        if path not in given_runs:
            given = ", ".join(str(r.path) for r in given_runs.values())
            raise ValueError(
                f"--label names {folder!r}, which is not a run given; choose from: {given}"
            )
        labels[path] = name.strip()
    return labels


def figures_of(
    runs: Sequence[RunFolder], policy: str | None = None, labels: Mapping[Path, str] | None = None
) -> dict[str, Figure]:
    """Every figure of ``runs`` by file name: Figs. 3 and 4 and each group's A matrix over the
    train runs (``policy``: their evaluation actions; ``labels``: run folder -> the label of
    its group); the mean accuracy matrix of each group of classify runs of equal settings (the
    seeds of an experiment; an unfinished run over its finished tasks, and its group with it),
    and all of them side by side, over the tasks all have finished, when there are several."""
    train = [r for r in runs if isinstance(r, TrainRun)]
    figures = train_figures(train, policy, labels) if train else {}
    classify = [r for r in runs if isinstance(r, ClassifyRun)]
    groups = group_classify_runs(classify, labels) if classify else {}
    total = max((len(r.tasks) for r in classify), default=0)  # an unfinished run's: all
    for (label, results), name in zip(groups.items(), file_names(list(groups))):
        figures[f"accuracy_{name}"] = accuracy_figure({label: results}, total)
    if len(groups) > 1:
        figures["accuracy_all"] = accuracy_figure(groups, total)
    return figures


def draw_plots(cfg: PlotConfig, prog: str) -> int:
    try:
        runs = [open_run(Path(folder), unfinished=True) for folder in cfg.runs]
        labels = parse_labels(cfg.label or (), runs)
        figures = figures_of(runs, cfg.policy, labels)
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
