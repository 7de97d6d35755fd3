"""``blip-rl classify``: run a continual image-classification benchmark over seeds."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from blip_rl.classification.benchmarks import get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.trainer import SeedResult, run_seed
from blip_rl.cli import Command
from blip_rl.config import fail
from blip_rl.device import resolve_device
from blip_rl.files import check_writable_dir, default_run_dir, write_json
from blip_rl.metrics import acc_bwt


def summarize(
    cfg: ClassifyConfig, task_names: list[str], results: list[SeedResult], seconds: float
) -> dict[str, Any]:
    """results.json: per-seed accuracy matrices (percent) and mean/std of ACC and BWT."""
    percent = [
        [[None if a is None else 100 * a for a in row] for row in r.acc_matrix] for r in results
    ]
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
    results = [run_seed(cfg, bench, tasks, seed, device) for seed in cfg.seeds]
    summary = summarize(cfg, [t.name for t in tasks], results, time.perf_counter() - start)
    write_json(out / "results.json", summary)
    print(format_table(summary))
    print(f"results: {out / 'results.json'}")
    return 0


COMMAND = Command(
    help="continual image classification (MNIST-5, PMNIST, CIFAR, ...)",
    config=ClassifyConfig,
    run=run,
)
