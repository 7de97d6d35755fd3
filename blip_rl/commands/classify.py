"""``blip-rl classify``: run a continual image-classification benchmark over seeds."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch

from blip_rl.classification.benchmarks import Task, get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.recorder import SeedRecorder
from blip_rl.classification.results import format_results, summarize
from blip_rl.classification.trainer import run_seed
from blip_rl.commands.command import Command
from blip_rl.core.numerics import NumericalFault
from blip_rl.infra.device import resolve_device
from blip_rl.infra.files import write_error, write_json
from blip_rl.infra.flags import fail
from blip_rl.infra.rundir import default_run_dir
from blip_rl.infra.runlock import RunWriter
from blip_rl.infra.versions import record_session, session_record

log = logging.getLogger(__name__)


def sequence_line(cfg: ClassifyConfig) -> str:
    """The benchmark of ``cfg`` in one line: ``digits5, at most 200 epochs per task``."""
    return f"{cfg.benchmark}, at most {cfg.epochs} epochs per task"


def run(cfg: ClassifyConfig, prog: str) -> int:
    """Every seed in turn; exit 0, 1 on a numerical fault or a failed write, 2 on bad input."""
    try:
        device = resolve_device(cfg.device)
        bench = get_benchmark(cfg.benchmark)
        seeds = "-".join(map(str, cfg.seeds))
        out = Path(cfg.out) if cfg.out else default_run_dir(cfg.benchmark, cfg.method, seeds)
        tasks = bench.build(Path(cfg.data_dir) if cfg.data_dir else None)
        writer = RunWriter(out)
    except ValueError as e:  # includes DataError, a missing or malformed data file
        fail(prog, str(e))
    with writer:
        if (out / "results.json").exists():
            fail(prog, f"--out {str(out)!r} already holds results.json; choose another --out")
        try:
            return _classify(cfg.resolved(), prog, out, tasks, device)
        except OSError as e:  # a full disk, a read-only file system, a file size limit
            fail(prog, write_error(e), status=1)


def _classify(
    cfg: ClassifyConfig, prog: str, out: Path, tasks: list[Task], device: torch.device
) -> int:
    write_json(out / "config.json", asdict(cfg))
    session = session_record(str(device), torch.get_num_threads(), step=0)
    record_session(out, session)
    log.info(
        "%s on %s (%d tasks); seeds %s; device %s (%d CPU threads), run folder %s",
        cfg.method,
        sequence_line(cfg),
        len(tasks),
        ",".join(map(str, cfg.seeds)),
        device,
        session["torch_threads"],
        out,
    )
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
            result = run_seed(cfg, get_benchmark(cfg.benchmark), tasks, seed, device, recorder)
        except NumericalFault as e:
            fail(prog, f"seed {seed}: {e}", status=1)
        finally:
            recorder.finish(result)
        results.append(result)
    summary = summarize(cfg.benchmark, cfg.method, names, results, time.perf_counter() - start)
    write_json(out / "results.json", summary.to_dict())
    print(format_results(summary))
    print(f"results: {out / 'results.json'}")
    return 0


COMMAND = Command(
    help="continual image classification (MNIST-5, PMNIST, CIFAR, ...)",
    config=ClassifyConfig,
    run=run,
    examples=(
        "                                      # digits5, offline (scikit-learn's digits)",
        "--benchmark mnist5 --data-dir ~/data/mnist --seeds 0,1,2,3,4",
        "--benchmark pdigits --method ewc --epochs 20",
    ),
)
