"""``blip-rl train``: learn a sequence of games with PPO and a continual-learning method."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.observers import RunObserver, WandbObserver
from blip_rl.agents.progress import TerminalProgress
from blip_rl.agents.results import format_summary
from blip_rl.agents.trainer import ContinualTrainer
from blip_rl.cli import Command
from blip_rl.config import HOW_NOT_WHAT, config_from_dict, fail, flat_values
from blip_rl.device import resolve_device
from blip_rl.files import check_writable_dir, default_run_dir, read_checked, write_json
from blip_rl.interrupt import DeferredInterrupt, Interrupted
from blip_rl.numerics import NumericalFault
from blip_rl.tracking import Dashboard, experiment_group


def resumed_config(out: Path, given: TrainConfig) -> TrainConfig:
    """The run's saved config; a flag given now (not at its default) must agree with it."""
    path = out / "config.json"
    if not path.exists():
        raise ValueError(f"--out {str(out)!r} holds no run to resume (no config.json)")
    data = read_checked(path)  # CorruptFile names the file itself
    try:
        saved: TrainConfig = config_from_dict(TrainConfig, json.loads(data))
    except (TypeError, ValueError) as e:
        raise ValueError(f"--out {str(out)!r} holds no train run to resume ({e})") from None
    defaults, now, then = flat_values(TrainConfig()), flat_values(given), flat_values(saved)
    for name, value in now.items():
        if name in HOW_NOT_WHAT or value == defaults[name] or value == then[name]:
            continue
        flag = "--" + name.replace("_", "-")
        raise ValueError(
            f"{flag} {value} differs from the run's {then[name]} (config.json); "
            "a resumed run keeps its settings"
        )
    return replace(saved, resume=True, device=given.device, out=str(out))


def observers_for(cfg: TrainConfig, out: Path, sequence: str) -> list[RunObserver]:
    """The W&B dashboard if asked for, and progress bars unless quiet or not on a terminal."""
    observers: list[RunObserver] = []
    if cfg.wandb != "off":
        config = asdict(cfg)
        dashboard = Dashboard(
            cfg.wandb,
            out,
            cfg.wandb_project,
            experiment_group(f"{sequence}__{cfg.method}", config),
            (f"method:{cfg.method}", f"suite:{cfg.suite}", f"seed:{cfg.seed}"),
            config,
            step_metric="env_step",
            quiet=cfg.quiet,
        )
        observers.append(WandbObserver(dashboard))
    console = Console()
    if not cfg.quiet and console.is_terminal:
        observers.append(TerminalProgress(len(cfg.sequence), cfg.task_steps, console))
    return observers


def run(cfg: TrainConfig, prog: str) -> int:
    """Train; exit 0, 1 on a numerical fault, 2 on bad input, 128 + signal when stopped."""
    with DeferredInterrupt() as stop:
        return _run(cfg, prog, stop)


def _run(cfg: TrainConfig, prog: str, stop: DeferredInterrupt) -> int:
    observers: list[RunObserver] = []
    made: Path | None = None  # --out, if this call creates it
    try:
        device = resolve_device(cfg.device)
        if cfg.resume and cfg.out is None:
            raise ValueError("--resume needs --out, the run directory to continue")
        sequence = cfg.suite if cfg.games is None else "-".join(cfg.games)
        out = Path(cfg.out) if cfg.out else default_run_dir(sequence, cfg.method, cfg.seed)
        if cfg.resume:
            cfg = resumed_config(out, cfg)
        elif out.exists() and any(out.iterdir()):
            raise ValueError(
                f"--out {str(out)!r} is not empty; pass --resume to continue that run "
                "or choose another --out"
            )
        made = None if out.exists() else out
        check_writable_dir(out)
        if cfg.quiet:
            logging.getLogger().setLevel(logging.WARNING)
        observers = observers_for(cfg, out, sequence)
        trainer = ContinualTrainer(cfg, out, device, cfg.resume, observers, stop)
    except ValueError as e:  # includes CheckpointError: no usable checkpoint to resume from
        close(observers)
        if made is not None and made.is_dir() and not any(made.iterdir()):
            made.rmdir()  # refused before writing anything: leave no empty folder behind
        fail(prog, str(e))
    if not cfg.resume:
        write_json(out / "config.json", asdict(cfg))
    resume = f"resume with: blip-rl train --out {out} --resume"
    try:
        summary = trainer.run()
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
    except BaseException:
        close(observers, failed=True)
        raise
    close(observers)
    print(format_summary(summary))
    print(f"run: {out}")
    return 0


def close(observers: list[RunObserver], failed: bool = False) -> None:
    for observer in observers:
        observer.close(failed)


COMMAND = Command(
    help="continual RL: PPO learns a sequence of Atari or MinAtar games",
    config=TrainConfig,
    run=run,
)
