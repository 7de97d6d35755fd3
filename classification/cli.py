"""``blip-rl classify``: run a continual image-classification benchmark over seeds."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from blip_rl.classification.benchmarks import get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.nets import MultiHeadNet
from blip_rl.classification.trainer import SeedResult, run_seed
from blip_rl.cli import Command
from blip_rl.config import fail
from blip_rl.device import resolve_device
from blip_rl.files import check_writable_dir, default_run_dir, write_json
from blip_rl.metrics import acc_bwt
from blip_rl.runs import bits_file, read_bits, write_bits
from blip_rl.tracking import Dashboard, experiment_group


def summarize(
    cfg: ClassifyConfig, task_names: list[str], results: list[SeedResult], seconds: float
) -> dict[str, Any]:
    """results.json: per-seed accuracy matrices (percent) and mean/std of ACC and BWT."""
    percent = [r.percent for r in results]
    scores = [acc_bwt(m) for m in percent]
    accs, bwts = [a for a, _ in scores], [b for _, b in scores]
    spread = statistics.pstdev if len(results) > 1 else (lambda _: 0.0)
    return {
        "benchmark": cfg.benchmark,
        "method": cfg.method,
        "seeds": list(cfg.seeds),
        "tasks": task_names,
        "acc_matrix": percent,
        "acc": statistics.fmean(accs),
        "bwt": statistics.fmean(bwts),
        "acc_std": spread(accs),
        "bwt_std": spread(bwts),
        "per_seed": [
            {"seed": r.seed, "acc": a, "bwt": b, "epochs": r.epochs, "task_end": r.reports}
            for r, a, b in zip(results, accs, bwts)
        ],
        "wall_time_s": seconds,
    }


def format_table(summary: dict[str, Any]) -> str:
    """The accuracy matrix of each seed (rows: after task i) and ACC/BWT, as plain text."""
    names = summary["tasks"]
    width = max(8, max(len(n) for n in names) + 1)
    lines = [
        f"{summary['benchmark']} / {summary['method']}: accuracy (%) on each task (columns) "
        "after learning each task (rows)"
    ]
    for seed, matrix in zip(summary["seeds"], summary["acc_matrix"]):
        lines.append(f"seed {seed}")
        lines.append(" " * width + "".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, matrix):
            cells = "".join(f"{'' if a is None else f'{a:.2f}':>{width}}" for a in row)
            lines.append(f"{name:<{width}}{cells}")
    lines.append(
        f"ACC {summary['acc']:.2f} +- {summary['acc_std']:.2f} %   "
        f"BWT {summary['bwt']:.2f} +- {summary['bwt_std']:.2f} %   "
        f"({len(summary['seeds'])} seed(s), {summary['wall_time_s']:.0f} s)"
    )
    return "\n".join(lines)


class SeedRecorder:
    """After each task of one seed: the bits file ``bits/seed_<s>/task_<k>.npz`` and, with
    ``--wandb``, the seed's W&B run (x axis: tasks learned). Keys: ``accuracy/<task>`` and
    ``accuracy/mean`` (%), ``frozen_bits/<tensor>`` histograms, the heat map
    ``frozen_bits/heatmap``; at the end the A matrix ``A`` as a table and ACC/BWT."""

    def __init__(self, cfg: ClassifyConfig, out: Path, seed: int, tasks: list[str]) -> None:
        self.out, self.seed, self.tasks, self.n_bits = out, seed, tasks, cfg.blip.bits
        self.dashboard = None
        if cfg.wandb != "off":
            config = asdict(cfg)
            self.dashboard = Dashboard(
                cfg.wandb,
                out,
                cfg.wandb_project,
                experiment_group(f"{cfg.benchmark}__{cfg.method}", config),
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


def run(cfg: ClassifyConfig, prog: str) -> int:
    try:
        device = resolve_device(cfg.device)
        bench = get_benchmark(cfg.benchmark)
        seeds = "-".join(map(str, cfg.seeds))
        out = Path(cfg.out) if cfg.out else default_run_dir(cfg.benchmark, cfg.method, seeds)
        if (out / "results.json").exists():
            raise ValueError(f"--out {str(out)!r} already holds results.json; choose another --out")
        tasks = bench.build(Path(cfg.data_dir) if cfg.data_dir else None)
        check_writable_dir(out)
    except ValueError as e:  # includes DataError, a missing or malformed data file
        fail(prog, str(e))
    write_json(out / "config.json", asdict(cfg))
    start = time.perf_counter()
    names = [t.name for t in tasks]
    results = []
    for seed in cfg.seeds:
        try:
            recorder = SeedRecorder(cfg, out, seed, names)
        except ValueError as e:
            fail(prog, str(e))
        result = None
        try:
            result = run_seed(cfg, bench, tasks, seed, device, recorder)
        finally:
            recorder.finish(result)
        results.append(result)
    summary = summarize(cfg, names, results, time.perf_counter() - start)
    write_json(out / "results.json", summary)
    print(format_table(summary))
    print(f"results: {out / 'results.json'}")
    return 0


COMMAND = Command(
    help="continual image classification (MNIST-5, PMNIST, CIFAR, ...)",
    config=ClassifyConfig,
    run=run,
)
