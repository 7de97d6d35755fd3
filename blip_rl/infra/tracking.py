"""Weights & Biases dashboards (``--wandb offline|online``), CleanRL's ``--track``.

``wandb`` is imported only when a dashboard is asked for. Offline runs are written under the
run folder (``RUN/wandb/offline-run-*``) for ``wandb sync`` later; the W&B run id is kept in
``RUN/wandb_run_id`` so a resumed run continues the same W&B run.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from blip_rl.infra.figures import figure_bytes
from blip_rl.infra.files import atomic_write_bytes
from blip_rl.infra.flags import how_settings
from blip_rl.infra.heatmaps import default_tensor, heatmap_figure, task_panels

WANDB_MODES = ("off", "offline", "online")
RUN_ID_FILE = "wandb_run_id"
PROJECT_NAME = re.compile(r"[^/\\#?%:\s][^/\\#?%:]{0,126}[^/\\#?%:\s]|[^/\\#?%:\s]")
"""A W&B project name: 1 to 128 characters, none of / \\ # ? % :, no space at either end."""


def check_project(name: str) -> None:
    """``ValueError`` naming ``name`` if W&B would refuse it as a project name."""
    if not PROJECT_NAME.fullmatch(name):
        raise ValueError(
            f"invalid W&B project {name!r}: 1 to 128 characters, none of / \\ # ? % :, "
            "and no space at either end"
        )


def experiment_group(name: str, config: Any) -> str:
    """``<name>__<6 hex digits>``: the same for every run of ``config`` (a config dataclass)
    but its seed and how it is carried out (its ``how`` settings: device, output folder,
    reporting), so W&B groups seeds and keeps experiments apart."""
    skip = {*how_settings(type(config)), "seed", "seeds"}
    kept = {k: v for k, v in asdict(config).items() if k not in skip}
    digest = hashlib.sha1(json.dumps(kept, sort_keys=True).encode()).hexdigest()
    return f"{name}__{digest[:6]}"


class Dashboard:
    """One W&B run: every metric is plotted against ``step_metric`` (say ``env_step``), so
    metrics logged at an earlier step than the last one are never dropped.

    Args:
        mode: ``offline`` or ``online``.
        folder: the blip-rl run folder (W&B files go under it).
        project: W&B project.
        group: runs that differ only by seed share a group (W&B averages them).
        tags: e.g. ``method:blip``, ``suite:minatar``, ``seed:0``.
        config: the run's config (``dataclasses.asdict``).
        step_metric: the x axis of every chart.
        quiet: no W&B messages on the terminal.
        run_id_file: where in ``folder`` the W&B run id is kept.
    """

    def __init__(
        self,
        mode: str,
        folder: Path,
        project: str,
        group: str,
        tags: Sequence[str],
        config: Mapping[str, Any],
        step_metric: str,
        quiet: bool = False,
        run_id_file: str = RUN_ID_FILE,
    ) -> None:
        try:
            import wandb
        except ImportError:
            raise ValueError(
                f"--wandb {mode} needs the wandb package: pip install 'wandb>=0.31'"
            ) from None
        if mode == "online" and not wandb.login(prompt=False, verify=False):
            raise ValueError(
                "--wandb online needs a W&B login: run `wandb login` or set WANDB_API_KEY "
                "(or use --wandb offline and `wandb sync` later)"
            )
        id_file = folder / run_id_file
        run_id = id_file.read_text().strip() if id_file.exists() else None
        self.wandb = wandb
        self.step_metric = step_metric
        self.run = wandb.init(
            project=project,
            dir=folder,
            mode=mode,
            id=run_id,
            resume="allow",
            name=folder.resolve().name,
            group=group,
            tags=list(tags),
            config=dict(config),
            settings=wandb.Settings(silent=quiet),
        )
        atomic_write_bytes(id_file, self.run.id.encode())
        self.run.define_metric(step_metric)
        self.run.define_metric("*", step_metric=step_metric)

    def log(self, values: Mapping[str, Any], step: int) -> None:
        """Log ``values`` at x = ``step`` of :attr:`step_metric`."""
        self.run.log({self.step_metric: step, **values})

    def summarize(self, values: Mapping[str, Any]) -> None:
        """Set run-level results (ACC, BWT, ...) shown in W&B's runs table."""
        self.run.summary.update(dict(values))

    def bits_charts(
        self, tasks: Sequence[str], maps: Sequence[Mapping[str, np.ndarray]], n_bits: int
    ) -> dict[str, Any]:
        """After a task: ``frozen_bits/<tensor>``, a histogram of each tensor's frozen-bit
        counts now (one bin per count 0..``n_bits``), and ``frozen_bits/heatmap``, Fig. 2 of
        the default tensor with one panel per bits map in ``maps`` (one per task so far)."""
        edges = np.arange(n_bits + 2) - 0.5
        charts = {
            f"frozen_bits/{name}": self.wandb.Histogram(
                np_histogram=np.histogram(counts, bins=edges)
            )
            for name, counts in maps[-1].items()
        }
        tensor = default_tensor({name: b.shape for name, b in maps[-1].items()})
        fig = heatmap_figure(task_panels(tasks, maps, tensor), tensor, n_bits)
        png = Image.open(io.BytesIO(figure_bytes(fig, "png")))
        charts["frozen_bits/heatmap"] = self.wandb.Image(png, caption=f"frozen bits of {tensor}")
        return charts

    def table(
        self, rows: Sequence[str], columns: Sequence[str], matrix: Sequence[Sequence[Any]]
    ) -> Any:
        """A W&B table with a first column ``after`` naming each row."""
        return self.wandb.Table(
            columns=["after", *columns], data=[[r, *row] for r, row in zip(rows, matrix)]
        )

    def finish(self, failed: bool = False) -> None:
        """Close the W&B run; a ``failed`` one is marked crashed (exit code 1)."""
        self.run.finish(exit_code=1 if failed else 0)
