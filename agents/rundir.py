"""Reading back a ``blip-rl train`` run folder: its :class:`TrainConfig`, and its summary
recomputed with the current score table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.results import Progress, summarize
from blip_rl.config import config_from_dict
from blip_rl.runs import RunFolder, open_run


def train_config(run: RunFolder) -> TrainConfig:
    """The config of a train run; ``ValueError`` for a classify run or an unreadable one."""
    if run.kind != "train":
        raise ValueError(f"{str(run.path)!r} is a blip-rl {run.kind} run, not a train run")
    try:
        return config_from_dict(TrainConfig, run.config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{str(run.path)!r} holds an unreadable config.json ({e})") from None


def read_run(folder: Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The config and summary of the train run in ``folder``; ``ValueError`` if it is none."""
    run = open_run(folder)
    return train_config(run), run.record


def progress_of(summary: dict[str, Any]) -> Progress:
    """The task-end part of a run's :class:`Progress`, read back from its ``summary.json``."""
    return Progress(
        task=summary["tasks_done"],
        task_ends=summary["task_end_steps"],
        scores={
            policy: [row[: i + 1] for i, row in enumerate(part["A_raw"])]
            for policy, part in summary["by_policy"].items()
        },
        reports=summary["task_end_reports"],
        wall_time_s=summary["wall_time_s"],
    )


def fresh_summary(
    run: RunFolder, cfg: TrainConfig, scratch: dict[str, dict[str, float]] | None = None
) -> dict[str, Any]:
    """``run``'s summary recomputed with the current score table, with ``cfg.eval_policy``'s
    metrics at the top level (``cfg``: the run's config, its eval policy as wanted)."""
    return summarize(cfg.sequence, cfg.method, progress_of(run.record), cfg.eval_policy, scratch)
