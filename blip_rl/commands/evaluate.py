"""``blip-rl evaluate RUN``: play a train run's games with the agent one of its checkpoints
saved, each game with its own heads, and optionally record an animated GIF of each.

Read-only on RUN: it reads ``config.json``, ``summary.json`` and one checkpoint (written whole
and renamed into place), so a run still being trained can be evaluated meanwhile.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import EVAL_POLICIES, evaluate_task
from blip_rl.agents.model import new_model
from blip_rl.agents.rundir import TrainRun, contents
from blip_rl.agents.state import EvalRow
from blip_rl.commands.command import Command
from blip_rl.commands.runs import open_run
from blip_rl.core.methods import make_strategy
from blip_rl.core.options import argument, option
from blip_rl.core.strategy import Strategy
from blip_rl.envs import Game
from blip_rl.infra.checkpoints import (
    NAME,
    Checkpoint,
    CheckpointError,
    first_line,
    latest_checkpoint,
    read_checkpoint,
)
from blip_rl.infra.device import DEVICES, resolve_device
from blip_rl.infra.files import atomic_write_bytes, check_writable_dir, write_error
from blip_rl.infra.flags import fail
from blip_rl.infra.rundir import lacks_entry

FRAME_MS = {"atari": 70, "minatar": 100}
"""Display time of a GIF frame (one agent step), ms, in GIF's steps of 10 ms: Atari's 4
emulator frames at 60 Hz."""


@dataclass(frozen=True)
class EvaluateConfig:
    """What ``blip-rl evaluate`` plays and records."""

    run: str = argument("run folder written by blip-rl train")
    task: int | None = option(
        None, "evaluate only this task (0-based) with its heads [default: every task learned]"
    )
    episodes: int = option(10, "episodes per game")
    policy: str | None = option(
        None,
        "actions sampled from the policy or its argmax [default: the run's --eval-policy]",
        choices=EVAL_POLICIES,
    )
    seed: int | None = option(
        None,
        "seed of the episode starts and sampled actions [default: the run's: episodes start as "
        "in its own evaluations]",
    )
    checkpoint: str | None = option(
        None, "checkpoint of RUN to load, e.g. task_0 [default: the newest intact one]"
    )
    video: str | None = option(
        None,
        "folder (created if missing) for an animated GIF of each game's first episode, "
        "<task>_<game>.gif",
    )
    max_frames: int = option(1000, "frames per GIF at most (one per agent step)")
    device: str = option("auto", "torch device", choices=DEVICES)

    def __post_init__(self) -> None:
        for name in ("episodes", "max_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)}")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


@dataclass(frozen=True)
class SavedAgent:
    """A train run's agent as checkpoint ``checkpoint`` saved it: its PPO ``model`` and its
    ``strategy`` (which swaps in a task's own weights to evaluate it, for the methods that
    keep some); ``learned`` tasks, the last maybe in part."""

    run: TrainRun
    config: TrainConfig
    checkpoint: Checkpoint
    model: PPO
    strategy: Strategy
    learned: int

    @property
    def games(self) -> tuple[Game, ...]:
        return self.config.sequence

    @property
    def carried(self) -> list[int]:
        """The tasks the model can play: all learned, or the last for ``--method scratch``."""
        return list(range(self.learned)) if self.strategy.continual else [self.learned - 1]

    def tasks(self, task: int | None) -> list[int]:
        """``[task]``, or :attr:`carried` for ``None``; ``ValueError`` for a task it cannot
        play, naming those it can."""
        if task is None:
            return self.carried
        if task in self.carried:
            return [task]
        name = f"checkpoint {self.checkpoint.path.name} of {str(self.run.path)!r}"
        if 0 <= task < self.learned:  # learned, but not carried: --method scratch
            last = self.carried[-1]
            raise ValueError(
                f"--task {task}: a --method {self.run.method} model plays only the task it "
                f"learned last, {last} ({self.games[last].name}), in {name}; to play task "
                f"{task}, load the checkpoint of its end: --checkpoint task_{task}"
            )
        span = "task 0" if self.learned == 1 else f"tasks 0-{self.learned - 1}"
        games = ", ".join(f"{j} {self.games[j].name}" for j in range(self.learned))
        message = f"--task {task} is out of range: {name} has learned {span} ({games})"
        if self.learned <= task < len(self.games):
            message += f"; task {task} ({self.games[task].name}) is not learned yet"
        raise ValueError(message)


def load_agent(folder: Path, checkpoint: str | None, device: str) -> SavedAgent:
    """The agent of the train run in ``folder`` from its checkpoint ``checkpoint`` (the newest
    intact one for ``None``), rebuilt from the run's config as the trainer builds it;
    ``ValueError`` naming what is missing or broken."""
    run = open_run(folder)
    if not isinstance(run, TrainRun):
        raise ValueError(f"{str(folder)!r} is a {run.COMMAND} run; evaluate plays train runs")
    cfg, found = run.train_config, find_checkpoint(folder, checkpoint)
    # the training envs the model is built on are not used: no subprocess for each
    model = new_model(replace(cfg, vec_env="dummy"), resolve_device(device))
    model.get_env().close()
    strategy = make_strategy(
        cfg.method, model.policy, blip=cfg.blip, ewc=cfg.ewc, packnet=cfg.packnet
    )
    try:
        model.policy.load_state_dict(found.state["policy"])
        strategy.load_state_dict(found.state["strategy"])
        progress = found.state["progress"]
        # a task-end checkpoint is taken when the next task is due, before it starts
        learned = int(progress["task"]) + (found.step > int(progress["task_start"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"checkpoint {str(found.path)!r} does not fit this run ({first_line(e)})"
        ) from None
    return SavedAgent(run, cfg, found, model, strategy, min(learned, len(cfg.sequence)))


def find_checkpoint(folder: Path, name: str | None) -> Checkpoint:
    """Checkpoint ``name`` of the run in ``folder``, or its newest intact one for ``None``."""
    checkpoints = folder / "checkpoints"
    if name is None:
        found = latest_checkpoint(checkpoints)
        if found is None:
            raise ValueError(
                f"{str(folder)!r} holds no checkpoint to evaluate ({contents(folder)})"
            )
        return found
    names = sorted(p.name for p in checkpoints.glob("*") if NAME.fullmatch(p.name))
    if name not in names:
        raise ValueError(
            f"no checkpoint {name!r} in {str(checkpoints)!r}; choose from: "
            f"{', '.join(names) or 'none (the run has no checkpoint)'}"
        )
    try:
        return read_checkpoint(checkpoints / name)
    except CheckpointError as e:
        raise CheckpointError(f"checkpoint {name!r} of {str(folder)!r} is broken: {e}") from None


def video_folder(video: str | None, run: Path) -> Path | None:
    """The ``--video`` folder, created; ``ValueError`` if it is inside ``run`` (never written)
    or cannot be a writable folder."""
    if video is None:
        return None
    folder = Path(video)
    if folder.resolve().is_relative_to(run.resolve()):
        raise ValueError(
            f"--video {video!r} is inside the run folder {str(run)!r}; evaluate never writes "
            "into a run: choose a folder outside it"
        )
    try:
        check_writable_dir(folder)
    except ValueError as e:
        raise ValueError(f"--video: {e}") from None
    return folder


def write_gif(path: Path, frames: list[np.ndarray], frame_ms: int) -> None:
    """``frames`` (RGB uint8 (H, W, 3) each) as a looping animated GIF, written atomically."""
    first, *rest = (Image.fromarray(f) for f in frames)
    data = io.BytesIO()
    first.save(data, format="GIF", save_all=True, append_images=rest, duration=frame_ms, loop=0)
    atomic_write_bytes(path, data.getvalue(), checksum=False)


def play(agent: SavedAgent, task: int, cfg: EvaluateConfig, frames: list | None) -> EvalRow:
    """Task ``task`` played ``cfg.episodes`` times with its heads; the first episode's screens
    go into ``frames`` (at most ``cfg.max_frames``) if given."""
    run_cfg, game = agent.config, agent.games[task]
    policy = cfg.policy or run_cfg.eval_policy

    def keep(frame: np.ndarray) -> None:
        if len(frames) < cfg.max_frames:
            frames.append(frame)

    with agent.strategy.evaluating(task):
        mean, std = evaluate_task(
            agent.model,
            game,
            task,
            cfg.episodes,
            run_cfg.eval_max_steps,
            run_cfg.seed if cfg.seed is None else cfg.seed,
            run_cfg.n_envs,
            greedy=policy == "greedy",
            on_frame=None if frames is None else keep,
        )
    step = agent.checkpoint.step
    return EvalRow(step, task, game.name, policy, cfg.episodes, mean, std, game.normalize(mean))


COLUMNS = "task  game            episodes  return (mean ± SE)  normalized  policy"


def row_line(row: EvalRow) -> str:
    """One game's line under :data:`COLUMNS`: return in raw game score with its standard
    error, normalized score of the mean (``-`` without a reference score)."""
    normalized = "-" if row.normalized is None else f"{row.normalized:.3f}"
    score = f"{row.mean_return:.2f} ± {row.standard_error:.2f}"
    return (
        f"{row.task:>4}  {row.game:<16}{row.episodes:>8}  {score:>18}  {normalized:>10}  "
        f"{row.policy}"
    )


def run(cfg: EvaluateConfig, prog: str) -> int:
    try:
        agent = load_agent(Path(cfg.run), cfg.checkpoint, cfg.device)
        tasks = agent.tasks(cfg.task)
        folder = video_folder(cfg.video, agent.run.path)
    except ValueError as e:
        fail(prog, str(e))
    except KeyError as e:  # a run file without an entry every run writes
        fail(prog, lacks_entry(cfg.run, e))
    seed = agent.config.seed if cfg.seed is None else cfg.seed
    set_random_seed(seed)
    for i, task in enumerate(tasks):
        frames: list[np.ndarray] | None = None if folder is None else []
        try:
            row = play(agent, task, cfg, frames)
        except ValueError as e:  # a game with no screen to record: refused before any line
            fail(prog, str(e))
        if i == 0:
            checkpoint = agent.checkpoint
            print(f"{cfg.run}: checkpoint {checkpoint.path.name} (env step {checkpoint.step}), "
                  f"seed {seed}\n{COLUMNS}")  # fmt: skip
        print(row_line(row), flush=True)
        if frames is not None:
            print(f"      video: {record(folder, row, frames, agent.games[task], prog)}")
    return 0


def record(folder: Path, row: EvalRow, frames: list[np.ndarray], game: Game, prog: str) -> str:
    """Write ``frames`` as ``folder/<task>_<game>.gif``; what was written, in a few words."""
    if not frames:
        return "none: the first episode ended at its first step"
    path = folder / f"{row.task}_{row.game}.gif"
    try:
        write_gif(path, frames, FRAME_MS[game.platform])
    except OSError as e:
        fail(prog, write_error(e), status=1)
    return f"{path} ({len(frames)} steps of the first episode)"


COMMAND = Command(
    help="play a train run's games with its saved agent and record them as GIFs (--video)",
    config=EvaluateConfig,
    run=run,
    examples=(
        "runs/minatar__blip__0__1764547200",
        "runs/minatar__blip__0__1764547200 --task 1 --episodes 2 --video videos",
        "runs/minatar__blip__0__1764547200 --checkpoint task_0 --policy greedy --episodes 200",
    ),
)
