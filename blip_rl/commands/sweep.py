"""``blip-rl sweep``: every (method, seed) run of a ``train`` or ``classify`` command as a Ray
task, locally or on a cluster, then one table over seeds.

Each run is ``blip-rl <command> ... --method M --seed S --out DIR/<M>__<S>`` in a subprocess of
its Ray task (its log in ``DIR/logs/<M>__<S>.log``), with ``--cpus-per-run`` CPUs (and as many
torch threads) and ``--gpus-per-run`` GPUs. A finished run is skipped on re-launch and a train
run that stopped midway is resumed. ``DIR/runs.csv`` has one row per run; ``DIR/summary.csv``
the mean and standard deviation over seeds of each method; ``DIR/plots`` the figures of
``blip-rl plot``.
Ray is imported only here (``pip install 'blip-rl[sweep]'``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch

from blip_rl.agents.rundir import TrainRun
from blip_rl.classification.results import ClassifyRun
from blip_rl.commands import classify, train
from blip_rl.commands.command import Command
from blip_rl.commands.plot import figures_of
from blip_rl.commands.runs import open_run
from blip_rl.core.methods import METHODS
from blip_rl.core.metrics import estimate, pairwise_differences
from blip_rl.core.options import forwarded, option
from blip_rl.infra.device import resolve_device
from blip_rl.infra.figures import save_figure
from blip_rl.infra.files import read_checked, write_csv
from blip_rl.infra.flags import (
    Parser,
    add_config_arguments,
    config_from_args,
    config_from_dict,
    fail,
    flat_values,
    how_settings,
)
from blip_rl.infra.rundir import RunFolder
from blip_rl.infra.runlock import RunWriter
from blip_rl.infra.tables import difference_lines, estimate_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A command a sweep runs once per (method, seed).

    Attributes:
        command: the command.
        run_folder: the kind of run folder it writes.
        seed_args: the flags of its run of one seed.
        resumable: whether a stopped run continues with ``--resume`` (else it starts again).
        describe: what a run of a (resolved) config learns, in one line.
    """

    command: Command
    run_folder: type[RunFolder]
    seed_args: Callable[[int], tuple[str, ...]]
    resumable: bool
    describe: Callable[[Any], str]


JOBS = {
    "train": Job(
        train.COMMAND,
        TrainRun,
        lambda s: ("--seed", str(s), "--quiet"),
        True,
        train.sequence_line,
    ),
    "classify": Job(
        classify.COMMAND,
        ClassifyRun,
        lambda s: ("--seeds", str(s)),
        True,
        classify.sequence_line,
    ),
}
SET_PER_RUN = ("--method", "--seed", "--seeds", "--out", "--resume")
"""Flags the sweep sets for each run; given among the forwarded flags they are refused."""


@dataclass(frozen=True)
class SweepConfig:
    """What ``blip-rl sweep`` runs; every other flag goes to each run's command."""

    job: str = option("train", "the command each run is", choices=tuple(JOBS))
    methods: tuple[str, ...] = option(("blip", "ewc", "ft"), "comma-separated methods",
                                      choices=METHODS)  # fmt: skip
    seeds: tuple[int, ...] = option((0, 1, 2), "comma-separated seeds")
    out: str = option("runs/sweep", "sweep folder: one run folder per method and seed")
    address: str | None = option(
        None, "Ray cluster to run on, e.g. auto or ray://head:10001 [default: a local Ray]"
    )
    cpus_per_run: int = option(1, "CPUs Ray reserves for each run (and its torch threads)")
    gpus_per_run: float = option(0.0, "GPUs Ray reserves for each run (fractions share one)")
    run_args: tuple[str, ...] = forwarded("flags for each run's command")

    def __post_init__(self) -> None:
        if self.cpus_per_run < 1:
            raise ValueError(f"cpus_per_run must be an integer >= 1, got {self.cpus_per_run}")
        if not (math.isfinite(self.gpus_per_run) and self.gpus_per_run >= 0):
            raise ValueError(f"gpus_per_run must be a number >= 0, got {self.gpus_per_run}")
        for values, name in ((self.methods, "methods"), (self.seeds, "seeds")):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct, got {','.join(map(str, values))}")
        for arg in self.run_args:
            if arg.split("=")[0] in SET_PER_RUN:
                raise ValueError(
                    f"{arg.split('=')[0]} is set by the sweep for each run; "
                    "use --methods, --seeds and --out"
                )


@dataclass(frozen=True)
class PlannedRun:
    """One run of the sweep: its name ``<method>__<seed>``, folder, command line, state
    (``todo``, ``resume`` or ``done``) and what it learns (:attr:`Job.describe`)."""

    name: str
    folder: Path
    argv: tuple[str, ...]
    state: str
    learns: str


def run_argv(cfg: SweepConfig, method: str, seed: int, folder: Path) -> list[str]:
    """The ``blip-rl`` arguments of one run."""
    seed_args = JOBS[cfg.job].seed_args(seed)
    return [cfg.job, *cfg.run_args, "--method", method, "--out", str(folder), *seed_args]


def run_state(job: Job, folder: Path, config: Any) -> str:
    """``done`` if ``folder`` holds the finished run of ``config``, ``resume`` for a run of a
    resumable job stopped midway, else ``todo``; ``ValueError`` if it holds a run of other
    settings (defaults written out or not is the same setting)."""
    saved_path = folder / "config.json"
    if not saved_path.exists():
        return "todo"
    try:
        saved = json.loads(read_checked(saved_path))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {str(saved_path)!r} ({e})") from None
    now = flat_values(config.resolved())
    then = flat_values(config_from_dict(job.command.config, saved).resolved())
    free = how_settings(job.command.config)
    for name, value in now.items():
        if name not in free and then[name] != value:
            raise ValueError(
                f"{str(folder)!r} holds a run with {name} {then[name]}, the sweep's is {value}; "
                "choose another --out or remove that folder"
            )
    if (folder / job.run_folder.RECORD).exists() and open_run(folder).finished:
        return "done"
    return "resume" if job.resumable else "todo"


def plan(cfg: SweepConfig) -> list[PlannedRun]:
    """Every run of the sweep, each command line validated as its command would. On a local
    Ray (no ``--address``) the GPUs asked for must be on this machine: Ray would wait for them
    forever."""
    local = cfg.address is None
    if local and cfg.gpus_per_run > 0 and not torch.cuda.is_available():
        raise ValueError(
            f"--gpus-per-run {cfg.gpus_per_run:g} asked for, but no CUDA GPU is available; "
            "use 0, or --address of a Ray cluster with GPUs"
        )
    if local and cfg.cpus_per_run > (os.cpu_count() or 1):
        raise ValueError(
            f"--cpus-per-run {cfg.cpus_per_run} asked for, but this machine has "
            f"{os.cpu_count()} CPUs; use at most that, or --address of a Ray cluster"
        )
    if not local:
        check_reachable(cfg.address)  # type: ignore[arg-type]
    job = JOBS[cfg.job]
    parser = Parser(prog=f"blip-rl {cfg.job}", allow_abbrev=False)
    add_config_arguments(parser, job.command.config)
    out = Path(cfg.out)
    runs = []
    for method in cfg.methods:
        for seed in cfg.seeds:
            name, folder = f"{method}__{seed}", out / f"{method}__{seed}"
            argv = run_argv(cfg, method, seed, folder)
            config = config_from_args(job.command.config, parser.parse_args(argv[1:]))
            if local:
                resolve_device(config.device)
            state = run_state(job, folder, config)
            if state == "resume":
                argv.append("--resume")
            learns = job.describe(config.resolved())
            runs.append(PlannedRun(name, folder, tuple(argv), state, learns))
    return runs


REACH_TIMEOUT_S = 10.0
"""How long a sweep waits to reach a Ray cluster's ``--address`` before refusing it."""


def check_reachable(address: str) -> None:
    """``ValueError`` unless ``address`` (``auto``, ``host:port`` or ``ray://host:port``)
    accepts a connection within :data:`REACH_TIMEOUT_S` (Ray itself retries for minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except ValueError:
        raise ValueError(
            f"--address {address!r} is not auto, host:port or ray://host:port"
        ) from None
    except OSError as e:
        raise ValueError(
            f"cannot reach a Ray cluster at --address {address!r} ({e.strerror or e}); "
            "start one there, or check the address"
        ) from None


def run_one(argv: tuple[str, ...], log_path: str, threads: int) -> tuple[int, str]:
    """One run as ``python -m blip_rl ...`` with its output in ``log_path``: the exit code and
    the last line of the log (the error, when it failed). Runs inside a Ray task."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with open(log_path, "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "blip_rl", *argv], stdout=out, stderr=subprocess.STDOUT, env=env
        )
        try:
            while True:  # wake each second: ray.cancel's KeyboardInterrupt waits for Python code
                try:
                    code = child.wait(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except KeyboardInterrupt:  # the sweep was stopped (ray.cancel)
            child.terminate()  # SIGTERM: the run saves a checkpoint and exits
            code = child.wait()
    lines = Path(log_path).read_text().strip().splitlines()
    return code, lines[-1] if lines else ""


def launch(cfg: SweepConfig, runs: list[PlannedRun], stop: SignalStop) -> dict[str, str]:
    """Run every unfinished run as a Ray task; returns the error line of each failed one.
    ``KeyboardInterrupt`` on Ctrl-C or SIGTERM (``stop``), once every run has stopped."""
    import ray

    todo = [r for r in runs if r.state != "done"]
    if not todo:
        return {}
    logs = Path(cfg.out) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ray.init(address=cfg.address, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)  # fmt: skip
    previous = signal.signal(signal.SIGTERM, stop)  # after Ray's own handler, replacing it
    try:
        task = ray.remote(run_one).options(num_cpus=cfg.cpus_per_run, num_gpus=cfg.gpus_per_run)
        pending = {
            task.remote(r.argv, str(logs / f"{r.name}.log"), cfg.cpus_per_run): r for r in todo
        }
        try:
            return collect(pending)
        except KeyboardInterrupt:  # stop every run with a checkpoint, then the sweep
            for ref in pending:
                ray.cancel(ref)
            ray.wait(list(pending), num_returns=len(pending), timeout=STOP_TIMEOUT_S)
            raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        ray.shutdown()


STOP_TIMEOUT_S = 120.0
"""How long a stopped sweep waits for its runs to save their checkpoints."""


def collect(pending: dict[Any, PlannedRun]) -> dict[str, str]:
    """Wait for every run of ``pending`` (Ray reference -> run), removing each as it ends;
    the error line of each failed one."""
    import ray

    failed: dict[str, str] = {}
    start = time.perf_counter()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        run = pending.pop(ready[0])
        try:
            code, last = ray.get(ready[0])
        except Exception as e:  # the Ray task itself died (node lost, out of memory)
            code, last = -1, f"{type(e).__name__}: {e}".splitlines()[0]
        minutes = (time.perf_counter() - start) / 60
        if code == 0:
            log.info("%s done (%.1f min into the sweep)", run.name, minutes)
        else:
            failed[run.name] = last
            log.warning("%s FAILED (exit %d): %s", run.name, code, last)
    return failed


def aggregate(cfg: SweepConfig, runs: list[PlannedRun], failed: dict[str, str]) -> str:
    """Write ``runs.csv``, ``summary.csv`` (per method: mean, standard error and 95% bootstrap
    CI over seeds of each metric) and ``differences.csv`` (every pair of methods); returns
    them as text. A run whose results do not read is added to ``failed``. A train run's
    metrics are recomputed with the current score table."""
    out = Path(cfg.out)
    metrics = JOBS[cfg.job].run_folder.METRICS
    per_run = {}
    for r in runs:
        if r.name not in failed:
            try:
                per_run[r.name] = open_run(r.folder).metrics()
            except (ValueError, KeyError) as e:  # a finished run whose results do not read
                failed[r.name] = f"unreadable results: {e}"
    write_csv(
        out / "runs.csv",
        ["run", "method", "seed", *metrics, "error"],
        [[r.name, *r.name.split("__"), *(per_run.get(r.name, {}).get(m) for m in metrics),
          failed.get(r.name, "")] for r in runs],
    )  # fmt: skip
    values = {  # metric -> method -> seed -> value
        m: {
            method: {
                seed: per_run[f"{method}__{seed}"][m]
                for seed in cfg.seeds
                if per_run.get(f"{method}__{seed}", {}).get(m) is not None
            }
            for method in cfg.methods
        }
        for m in metrics
    }
    estimates = {
        method: {
            m: estimate(list(v[method].values())) if v[method] else None for m, v in values.items()
        }
        for method in cfg.methods
    }
    header = ["method", "runs", "failed"]
    header += [f"{m}_{part}" for m in metrics for part in ("mean", "se", "ci_low", "ci_high")]
    rows = []
    for method in cfg.methods:
        done = sum(f"{method}__{s}" in per_run for s in cfg.seeds)
        row: list[object] = [method, done, len(cfg.seeds) - done]
        for m in metrics:
            e = estimates[method][m]
            row += [None] * 4 if e is None else [e.mean, e.se, e.low, e.high]
        rows.append(row)
    write_csv(out / "summary.csv", header, rows)
    differences = {m: pairwise_differences(v) for m, v in values.items()}
    write_csv(
        out / "differences.csv",
        ["metric", "first", "second", "paired", "difference", "se", "ci_low", "ci_high",
         "p_value", "significant"],
        [[m, d.first, d.second, d.paired, d.estimate.mean, d.estimate.se, d.estimate.low,
          d.estimate.high, d.p_value, d.significant]
         for m, diffs in differences.items() for d in diffs],
    )  # fmt: skip
    unit = JOBS[cfg.job].run_folder.UNIT
    table = estimate_lines(list(estimates.items()), metrics, unit=unit)
    return "\n".join([*table, *difference_lines(differences)])


def sweep_banner(cfg: SweepConfig, runs: list[PlannedRun]) -> str:
    """What a sweep is about to run: how many runs of which command, what each learns, how
    many start, resume or are done already, and where."""
    states = Counter(r.state for r in runs)
    learned = "\n".join(f"  {line}" for line in dict.fromkeys(r.learns for r in runs))
    return (
        f"sweep of {len(runs)} `blip-rl {cfg.job}` runs ({', '.join(cfg.methods)} x seeds "
        f"{','.join(map(str, cfg.seeds))}) into {cfg.out}: {states['todo']} to start, "
        f"{states['resume']} to resume, {states['done']} done; each learns\n{learned}"
    )


def sweep(cfg: SweepConfig, prog: str) -> int:
    try:
        runs = plan(cfg)
        import ray  # noqa: F401  (fail now, in one line, if the extra is missing)

        writer = RunWriter(Path(cfg.out))  # last: a refused sweep leaves no folder behind
    except ImportError:
        fail(prog, "blip-rl sweep needs Ray: pip install 'blip-rl[sweep]'")
    except ValueError as e:
        fail(prog, str(e))
    with writer:
        log.info("%s", sweep_banner(cfg, runs))
        skipped = [r.name for r in runs if r.state == "done"]
        if skipped:
            log.info("finished already, skipped: %s", ", ".join(skipped))
        stop = SignalStop()
        try:
            failed = launch(cfg, runs, stop)
        except KeyboardInterrupt:
            status = 128 + (stop.signum or signal.SIGINT)
            sys.stderr.write(f"{prog}: stopped; its runs stopped with checkpoints; run the "
                             "same sweep again to go on\n")  # fmt: skip
            return status
        return report(cfg, runs, failed)


class SignalStop:
    """A SIGTERM handler that stops the sweep where it is, as Ctrl-C does (a
    ``KeyboardInterrupt``), remembering the signal for the exit code (Ray's calls may turn
    any ``KeyboardInterrupt`` into a plain one)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        raise KeyboardInterrupt


def report(cfg: SweepConfig, runs: list[PlannedRun], failed: dict[str, str]) -> int:
    """The tables, the failed runs and the figures of a finished sweep; its exit code."""
    print(aggregate(cfg, runs, failed))
    for name, error in failed.items():
        print(f"FAILED {name}: {error} (log: {Path(cfg.out) / 'logs' / (name + '.log')})")
    done = [open_run(r.folder) for r in runs if r.name not in failed]
    for name, fig in figures_of(done).items():
        save_figure(fig, Path(cfg.out) / "plots" / f"{name}.png")
    print(f"sweep: {Path(cfg.out) / 'summary.csv'}")
    return 1 if failed else 0


COMMAND = Command(
    help="run every (method, seed) of a train or classify command as a Ray task, then a table; "
    "every other flag goes to each run (see blip-rl train --help, blip-rl classify --help)",
    config=SweepConfig,
    run=sweep,
    forwards=True,
    examples=(
        "--suite minatar --methods blip,ewc,ft --seeds 0,1,2,3,4 --out runs/minatar5",
        "--job classify --benchmark pdigits --methods blip,ewc --out runs/pdigits",
        "--suite minatar --out runs/minatar5   # again: finished runs are kept, others resume",
    ),
)
