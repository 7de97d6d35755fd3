"""What a classify run records after each task of one seed: its bits file and, with
``--wandb``, the seed's W&B run."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.nets import MultiHeadNet
from blip_rl.classification.trainer import SeedResult
from blip_rl.core.metrics import acc_bwt
from blip_rl.infra.rundir import bits_file, read_bits, write_bits
from blip_rl.infra.tracking import Dashboard


class SeedRecorder:
    """After each task of one seed: the bits file ``bits/seed_<s>/task_<k>.npz`` and, with
    ``--wandb``, the seed's W&B run (x axis: tasks learned). Keys: ``accuracy/<task>`` and
    ``accuracy/mean`` (%), ``frozen_bits/<tensor>`` histograms, the heat map
    ``frozen_bits/heatmap``; at the end the A matrix ``A`` as a table and ACC/BWT.

    ``cfg`` is the run's resolved config.
    """

    def __init__(self, cfg: ClassifyConfig, out: Path, seed: int, tasks: list[str]) -> None:
        self.out, self.seed, self.tasks, self.n_bits = out, seed, tasks, cfg.blip.bits
        self.dashboard = None
        if cfg.wandb != "off":
            config = asdict(cfg)
            self.dashboard = Dashboard(
                cfg.wandb,
                out,
                cfg.wandb_project,
                cfg.group,
                (f"method:{cfg.method}", f"benchmark:{cfg.benchmark}", f"seed:{seed}"),
                {**config, "seed": seed},
                step_metric="tasks_learned",
                run_id_file=f"wandb_run_id_seed_{seed}",
            )

    def __call__(
        self, task: int, model: MultiHeadNet, accuracies: list[float | None], report: dict
    ) -> None:
        write_bits(bits_file(self.out, task, self.seed), model)
        if self.dashboard is None:
            return
        now = {name: 100 * a for name, a in zip(self.tasks, accuracies) if a is not None}
        values: dict[str, Any] = {f"accuracy/{name}": a for name, a in now.items()}
        values["accuracy/mean"] = statistics.fmean(now.values())
        if report.get("layers"):
            maps = read_bits(self.out, task + 1, self.seed)
            values.update(self.dashboard.bits_charts(self.tasks, maps, self.n_bits))
        self.dashboard.log(values, task + 1)

    def finish(self, result: SeedResult | None) -> None:
        """Log the seed's A matrix (%) and ACC/BWT, and close its W&B run."""
        if self.dashboard is None:
            return
        if result is not None:
            acc, bwt = acc_bwt(result.percent)
            self.dashboard.log(
                {"A": self.dashboard.table(self.tasks, self.tasks, result.percent)},
                len(self.tasks),
            )
            self.dashboard.summarize({"acc": acc, "bwt": bwt})
        self.dashboard.finish(failed=result is None)
