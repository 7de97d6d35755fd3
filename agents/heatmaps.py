"""``blip-rl heatmap RUN``: the paper's Fig. 2 from a train run's ``bits/task_<k>.npz``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blip_rl.agents.rundir import read_bits, read_run
from blip_rl.cli import Command
from blip_rl.config import argument, fail, option
from blip_rl.heatmap import default_tensor, figure_format, heatmap_figure, save_figure

ALL = "all"


@dataclass(frozen=True)
class HeatmapConfig:
    """What ``blip-rl heatmap`` draws."""

    run: str = argument("run folder written by blip-rl train")
    layer: str | None = option(
        None,
        "BLIP tensor to show, e.g. features_extractor.cnn.0.weight, or 'all' for one figure "
        "per tensor [default: the third conv weight, or the last conv of a smaller trunk]",
    )
    out: str | None = option(
        None,
        "figure file (.png, .pdf, .svg); with --layer all, a folder "
        "[default: RUN/heatmap_<tensor>.png, or RUN/heatmaps/]",
    )


def run(cfg: HeatmapConfig, prog: str) -> int:
    folder = Path(cfg.run)
    try:
        train_cfg, summary = read_run(folder)
        if train_cfg.method != "blip":
            raise ValueError(
                f"{cfg.run!r} is a --method {train_cfg.method} run: only blip freezes bits"
            )
        maps = read_bits(folder, summary["tasks_done"])
        shapes = {name: bits.shape for name, bits in maps[0].items()}
        if cfg.layer == ALL:
            tensors = list(shapes)
            where = Path(cfg.out) if cfg.out else folder / "heatmaps"
            paths = [where / f"{name}.png" for name in tensors]
        else:
            tensors = [cfg.layer or default_tensor(shapes)]
            if tensors[0] not in shapes:
                raise ValueError(
                    f"unknown tensor {tensors[0]!r}; choose from: {', '.join(shapes)}, {ALL}"
                )
            paths = [Path(cfg.out) if cfg.out else folder / f"heatmap_{tensors[0]}.png"]
        for path in paths:
            figure_format(path)
            path.parent.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as e:
        fail(prog, str(e))
    labels = [f"after {game}" for game in summary["games"]]
    for tensor, path in zip(tensors, paths):
        panels = [(label, bits[tensor]) for label, bits in zip(labels, maps)]
        save_figure(heatmap_figure(panels, tensor, train_cfg.blip.bits), path)
        print(path)
    return 0


COMMAND = Command(
    help="draw frozen bits per weight after each task of a BLIP train run (the paper's Fig. 2)",
    config=HeatmapConfig,
    run=run,
)
