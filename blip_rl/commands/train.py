"""``blip-rl train``: learn a sequence of games with PPO and a continual-learning method."""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.observers import RunObserver, WandbObserver
from blip_rl.agents.progress import Heartbeat, TerminalProgress
from blip_rl.agents.resources import check_resources
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.summary import format_summary
from blip_rl.agents.trainer import ContinualTrainer
from blip_rl.commands.command import Command
from blip_rl.core.numerics import NumericalFault
from blip_rl.core.quant import use_kernels
from blip_rl.envs.games import SUITES
from blip_rl.infra.device import resolve_device, set_threads
from blip_rl.infra.files import write_error, write_json
from blip_rl.infra.flags import fail, resumed_config
from blip_rl.infra.interrupt import DeferredInterrupt, Interrupted
from blip_rl.infra.rundir import default_run_dir
from blip_rl.infra.runlock import RunWriter
from blip_rl.infra.tracking import Dashboard
from blip_rl.infra.versions import record_session, session_record

log = logging.getLogger(__name__)


def observers_for(cfg: TrainConfig, out: Path, session: dict[str, Any]) -> list[RunObserver]:
    """The W&B dashboard if asked for (its config: ``cfg``, the run's resolved config, and
    the ``session`` record); unless quiet, progress bars on a terminal, else a heartbeat line
    a minute."""
    observers: list[RunObserver] = []
    if cfg.wandb != "off":
        dashboard = Dashboard(
            cfg.wandb,
            out,
            cfg.wandb_project,
            cfg.group,
            (f"method:{cfg.method}", f"suite:{cfg.suite}", f"seed:{cfg.seed}"),
            {**asdict(cfg), "session": session},
            step_metric="env_step",
            quiet=cfg.quiet,
        )
        observers.append(WandbObserver(dashboard))
    console = Console()
    if not cfg.quiet:
        total = len(cfg.games) * cfg.steps_per_task
        observers.append(
            TerminalProgress(len(cfg.games), cfg.steps_per_task, console)
            if console.is_terminal
            else Heartbeat(total)
        )
    return observers


PLATFORMS = {"atari": "Atari 2600", "minatar": "MinAtar", "fake": "SB3's fake image env"}


def sequence_line(cfg: TrainConfig) -> str:
    """The task sequence of a resolved ``cfg`` in one line: ``MinAtar: 3 tasks (breakout,
    space_invaders, freeway), 500,000 env steps each, 1,500,000 in all``."""
    steps, n = cfg.steps_per_task, len(cfg.games)
    platform = PLATFORMS.get(SUITES[cfg.suite].platform, cfg.suite)
    return (
        f"{platform}: {n} tasks ({', '.join(cfg.games)}), {steps:,} env steps each, "
        f"{n * steps:,} in all"
    )


def start_banner(given: TrainConfig, cfg: TrainConfig, out: Path, session: dict[str, Any]) -> str:
    """What a run is about to do, before it does it: method, platform, games, env steps, the
    device, the run folder, and any step count rounded up to whole rollouts (``given``: the
    settings as given, ``cfg``: resolved)."""
    lines = [
        f"{cfg.method} on {sequence_line(cfg)}; seed {cfg.seed}",
        f"device {session['device']} ({session['torch_threads']} CPU threads), run folder {out}",
    ]
    if session["step"]:
        lines.append(f"resuming at env step {session['step']:,}")
    rounded = given.rounding()
    if rounded:
        lines.append(
            f"rounded up to whole rollouts of {cfg.rollout:,} env steps: {'; '.join(rounded)}"
        )
    return "\n".join(lines)


def run(cfg: TrainConfig, prog: str) -> int:
    """Train; exit 0, 1 on a numerical fault, 2 on bad input, 128 + signal when stopped."""
    with DeferredInterrupt() as stop:
        return _run(cfg, prog, stop)


def _run(cfg: TrainConfig, prog: str, stop: DeferredInterrupt) -> int:
    try:
        device = resolve_device(cfg.device)
        if cfg.resume and cfg.out is None:
            raise ValueError("--resume needs --out, the run directory to continue")
        out = Path(cfg.out) if cfg.out else default_run_dir(cfg.sequence_name, cfg.method, cfg.seed)
        if (out / "checkpoints").is_symlink():
            raise ValueError(f"{str(out / 'checkpoints')!r} is a symbolic link; blip-rl keeps "
                             "its checkpoints in a folder of its own")  # fmt: skip
        writer = RunWriter(out)
    except ValueError as e:
        fail(prog, str(e))
    with writer:
        observers: list[RunObserver] = []
        try:
            given = cfg
            cfg = resumed_config(TrainConfig, out, cfg, "train") if cfg.resume else cfg.resolved()
            if not cfg.resume and not writer.is_empty():
                raise ValueError(
                    f"--out {str(out)!r} is not empty; pass --resume to continue that run "
                    "or choose another --out"
                )
            if cfg.resume and (out / "summary.json").exists() and open_train_run(out).finished:
                print(format_summary(open_train_run(out).fresh_summary()))
                print(f"run: {out} (finished already: nothing to do)")
                return 0
            check_resources(cfg)
            trainer = ContinualTrainer(cfg, out, device, cfg.resume, stop)
            set_threads(cfg.threads)  # after every input check: its warning is no error
            use_kernels(cfg.kernels, device)
            if cfg.quiet:
                logging.getLogger().setLevel(logging.WARNING)
            session = session_record(
                str(device), torch.get_num_threads(), cfg.kernels, trainer.num_timesteps
            )
            observers = observers_for(cfg, out, session)
        except ValueError as e:  # includes CheckpointError: no usable checkpoint to resume from
            close(observers)
            writer.discard_if_empty()
            fail(prog, str(e))
        try:
            if not cfg.resume:
                write_json(out / "config.json", asdict(cfg))
            record_session(out, session)
        except OSError as e:
            close(observers, failed=True)
            fail(prog, write_error(e), status=1)
        log.info("%s", start_banner(given, cfg, out, session))
        return _train(trainer, observers, prog, stop)


def _train(
    trainer: ContinualTrainer, observers: list[RunObserver], prog: str, stop: DeferredInterrupt
) -> int:
    """Run ``trainer``; the exit code, or a one-line error for a fault."""
    resume = f"resume with: blip-rl train --out {shlex.quote(str(trainer.out))} --resume"
    try:
        summary = trainer.run(observers)
    except Interrupted as e:
        close(observers, failed=True)
        sys.stderr.write(f"{prog}: {e}; {resume}\n")
        return e.exit_code
    except KeyboardInterrupt:
        close(observers, failed=True)
        latest = trainer.last_checkpoint or "none yet"
        sys.stderr.write(f"{prog}: stopped at once; newest checkpoint: {latest}; {resume}\n")
        return stop.exit_code
    except NumericalFault as e:
        close(observers, failed=True)
        fail(prog, str(e), status=1)
    except OSError as e:  # a full disk, a read-only file system, a file size limit
        close(observers, failed=True)
        kept = trainer.last_checkpoint or "none yet"
        fail(prog, f"{write_error(e)}; the newest checkpoint ({kept}) is intact; {resume}", 1)
    except BaseException:
        close(observers, failed=True)
        raise
    close(observers)
    print(format_summary(summary))
    print(f"run: {trainer.out}")
    return 0


def close(observers: list[RunObserver], failed: bool = False) -> None:
    for observer in observers:
        observer.close(failed)


COMMAND = Command(
    help="continual RL: PPO learns a sequence of Atari or MinAtar games",
    config=TrainConfig,
    run=run,
    examples=(
        "--suite minatar                       # the demo: 3 MinAtar games, 500k steps each",
        "--suite minatar --games breakout,freeway --steps-per-task 100000 --seed 1",
        "--games kungfu,boxing --method ewc    # 2 of the paper's Atari games, 10M steps each",
        "--suite minatar --preset paper        # BLIP exactly as its authors ran it",
        "--out runs/my_run --resume            # continue a stopped run",
    ),
)
