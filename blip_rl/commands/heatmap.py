"""``blip-rl heatmap RUN``: the paper's Fig. 2, frozen bits per weight after each task, for a
train or classify run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blip_rl.commands.command import Command
from blip_rl.commands.runs import open_run
from blip_rl.core.options import argument, option
from blip_rl.infra.figures import figure_format, save_figure
from blip_rl.infra.files import check_writable_dir
from blip_rl.infra.flags import fail
from blip_rl.infra.heatmaps import default_tensor, heatmap_figure, task_panels
from blip_rl.infra.rundir import lacks_entry

ALL = "all"


@dataclass(frozen=True)
class HeatmapConfig:
    """What ``blip-rl heatmap`` draws."""

    run: str = argument("run folder written by blip-rl train or blip-rl classify")
    layer: str | None = option(
        None,
        "BLIP tensor to show, e.g. features_extractor.cnn.0.weight, or 'all' for one figure "
        "per tensor [default: the third conv weight, or the last conv of a smaller net]",
    )
    seed: int | None = option(None, "which seed of a classify run [default: its first]")
    out: str | None = option(
        None,
        "figure file (.png, .pdf, .svg); with --layer all, a folder "
        "[default: RUN/heatmap_<tensor>.png, or RUN/heatmaps/]",
    )


def draw_heatmaps(cfg: HeatmapConfig, prog: str) -> int:
    try:
        run = open_run(Path(cfg.run), unfinished=True)
        if run.method != "blip":
            raise ValueError(f"{cfg.run!r} is a --method {run.method} run: only blip freezes bits")
        maps = run.bits(run.seeds[0] if cfg.seed is None else cfg.seed)
        shapes = {name: bits.shape for name, bits in maps[0].items()}
        if cfg.layer == ALL:
            tensors = list(shapes)
            where = Path(cfg.out) if cfg.out else run.path / "heatmaps"
            paths = [where / f"{name}.png" for name in tensors]
        else:
            tensors = [cfg.layer or default_tensor(shapes)]
            if tensors[0] not in shapes:
                raise ValueError(
                    f"unknown tensor {tensors[0]!r}; choose from: {', '.join(shapes)}, {ALL}"
                )
            paths = [Path(cfg.out) if cfg.out else run.path / f"heatmap_{tensors[0]}.png"]
        for path in paths:
            figure_format(path)
            check_writable_dir(path.parent)
    except (ValueError, OSError) as e:
        fail(prog, str(e))
    except KeyError as e:  # a run file without an entry every run writes
        fail(prog, lacks_entry(cfg.run, e))
    for tensor, path in zip(tensors, paths):
        save_figure(heatmap_figure(task_panels(run.tasks, maps, tensor), tensor, run.n_bits), path)
        print(path)
    return 0


COMMAND = Command(
    help="draw frozen bits per weight after each task of a BLIP run (the paper's Fig. 2)",
    config=HeatmapConfig,
    run=draw_heatmaps,
)
