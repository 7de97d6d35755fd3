"""``blip-rl classify``: run a continual image-classification benchmark over seeds."""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from blip_rl.classification.benchmarks import Task, get_benchmark
from blip_rl.classification.checkpoints import saved_result, seed_folder
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.recorder import SeedRecorder
from blip_rl.classification.results import (
    SeedResult,
    first_tasks_text,
    format_results,
    open_classify_run,
    summarize,
)
from blip_rl.classification.trainer import SeedRun, TaskStopped, run_seed
from blip_rl.commands.command import Command
from blip_rl.core.numerics import NumericalFault
from blip_rl.core.quant import use_kernels
from blip_rl.infra.checkpoints import CheckpointError, latest_checkpoint
from blip_rl.infra.device import resolve_device, set_threads
from blip_rl.infra.files import write_error, write_json
from blip_rl.infra.flags import fail, resumed_config
from blip_rl.infra.interrupt import DeferredInterrupt
from blip_rl.infra.rundir import default_run_dir
from blip_rl.infra.runlock import RunWriter
from blip_rl.infra.versions import record_session, session_record

log = logging.getLogger(__name__)


def sequence_line(cfg: ClassifyConfig) -> str:
    """The benchmark of ``cfg`` in one line: ``digits5, at most 200 epochs per task``."""
    return f"{cfg.benchmark}, at most {cfg.epochs} epochs per task"


def run(cfg: ClassifyConfig, prog: str) -> int:
    """Every seed in turn; exit 0, 1 on a numerical fault or a failed write, 2 on bad input,
    128 + signal when stopped."""
    with DeferredInterrupt("stopping after the current batch; finished tasks are saved") as stop:
        return _run(cfg, prog, stop)


def _run(cfg: ClassifyConfig, prog: str, stop: DeferredInterrupt) -> int:
    try:
        device = resolve_device(cfg.device)
        if cfg.resume and cfg.out is None:
            raise ValueError("--resume needs --out, the run directory to continue")
        seeds = "-".join(map(str, cfg.seeds))
        out = Path(cfg.out) if cfg.out else default_run_dir(cfg.benchmark, cfg.method, seeds)
        writer = RunWriter(out)
    except ValueError as e:
        fail(prog, str(e))
    with writer:
        try:
            cfg = resumed_config(ClassifyConfig, out, cfg, "classify") if cfg.resume else cfg
            if cfg.resume and (out / "results.json").exists():
                print(format_results(open_classify_run(out).results))
                print(f"run: {out} (finished already: nothing to do)")
                return 0
            if not cfg.resume and not writer.is_empty():
                raise ValueError(
                    f"--out {str(out)!r} is not empty; pass --resume to continue that run "
                    "or choose another --out"
                )
            tasks = get_benchmark(cfg.benchmark).build(Path(cfg.data_dir) if cfg.data_dir else None)
            set_threads(cfg.threads)  # after every input check: its warning is no error
            use_kernels(cfg.kernels, device)
        except ValueError as e:  # includes DataError, a missing or malformed data file
            writer.discard_if_empty()
            fail(prog, str(e))
        try:
            return _classify(cfg.resolved(), prog, out, tasks, device, stop)
        except OSError as e:  # a full disk, a read-only file system, a file size limit
            fail(prog, write_error(e), status=1)


def _classify(
    cfg: ClassifyConfig,
    prog: str,
    out: Path,
    tasks: list[Task],
    device: torch.device,
    stop: DeferredInterrupt,
) -> int:
    if not cfg.resume:
        write_json(out / "config.json", asdict(cfg))
    session = session_record(str(device), torch.get_num_threads(), cfg.kernels, step=0)
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
    names = [t.name for t in tasks]
    results = []
    for seed in cfg.seeds:
        try:
            results.append(_learn_seed(cfg, out, tasks, seed, device, stop))
        except NumericalFault as e:
            fail(prog, f"seed {seed}: {e}", status=1)
        except ValueError as e:  # CheckpointError: none usable; or the W&B run's settings
            fail(prog, f"seed {seed}: {e}")
        except (TaskStopped, KeyboardInterrupt) as e:  # a second signal: KeyboardInterrupt
            stop.settle()  # finished tasks are saved: a further signal would only cut this line
            saved = saved_line(seed_folder(out, seed))
            resume = f"blip-rl classify --out {shlex.quote(str(out))} --resume"
            how = "at once " if isinstance(e, KeyboardInterrupt) else ""
            sys.stderr.write(
                f"{prog}: stopped {how}in seed {seed} ({saved}); resume with: {resume}\n"
            )
            return stop.exit_code
    seconds = sum(r.wall_time_s for r in results)
    summary = summarize(cfg.benchmark, cfg.method, names, results, seconds)
    write_json(out / "results.json", summary.to_dict())
    print(format_results(summary))
    print(f"results: {out / 'results.json'}")
    return 0


def saved_line(folder: Path) -> str:
    """What a stopped seed has kept: ``tasks 0..K saved in DIR`` (``task 0 ...``), or ``no
    task done``."""
    try:
        kept = latest_checkpoint(folder)
    except CheckpointError as e:
        return f"no intact checkpoint: {e}"
    return f"{first_tasks_text(kept.step)} saved in {kept.path}" if kept else "no task done"


def _learn_seed(
    cfg: ClassifyConfig,
    out: Path,
    tasks: list[Task],
    seed: int,
    device: torch.device,
    stop: DeferredInterrupt,
) -> SeedResult:
    """Seed ``seed``, learned or continued from its checkpoints; a seed whose checkpoints
    hold every task is only read back (its W&B run was finished then)."""
    folder = seed_folder(out, seed)
    done = saved_result(folder)
    if done is not None and done.tasks_done == len(tasks):
        return done
    recorder = SeedRecorder(cfg, out, seed, [t.name for t in tasks])
    result = None
    try:
        run = SeedRun(recorder, folder, lambda: stop.requested)
        result = run_seed(cfg, get_benchmark(cfg.benchmark), tasks, seed, device, run)
    finally:
        recorder.finish(result)
    return result


COMMAND = Command(
    help="continual image classification (MNIST-5, PMNIST, CIFAR, ...)",
    config=ClassifyConfig,
    run=run,
    examples=(
        "                                      # digits5, offline (scikit-learn's digits)",
        "--benchmark mnist5 --data-dir ~/data/mnist --seeds 0,1,2,3,4",
        "--benchmark pdigits --method ewc --epochs 20",
        "--benchmark fmnist5 --preset paper    # real Fashion-MNIST (make data), the authors' BLIP",
        "--out runs/my_run --resume            # continue a stopped run",
    ),
)
