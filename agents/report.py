"""``blip-rl inspect RUN``: a run's scores, ACC/BWT, plasticity and frozen bits, recomputed from
its ``summary.json`` with the current score table (works on a run still in progress)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blip_rl.agents.results import EVAL_POLICIES, Progress, format_summary, summarize
from blip_rl.agents.rundir import read_run
from blip_rl.agents.scratch import load_scratch
from blip_rl.cli import Command
from blip_rl.config import argument, fail, option


@dataclass(frozen=True)
class InspectConfig:
    """What ``blip-rl inspect`` shows."""

    run: str = argument("run folder written by blip-rl train")
    scratch: tuple[str, ...] | None = option(
        None, "comma-separated --method scratch runs for plasticity [default: the run's own]"
    )
    policy: str | None = option(
        None, "evaluation actions to show [default: the run's --eval-policy]", choices=EVAL_POLICIES
    )


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


def layer_table(summary: dict[str, Any]) -> str:
    """Mean frozen bits of each BLIP layer (rows) after each task (columns); '' if none."""
    reports = [r.get("layers") for r in summary["task_end_reports"]]
    if not reports or not all(reports):
        return ""
    names = summary["games"][: len(reports)]
    width = max(9, max(len(n) for n in names) + 1)
    label = max(len(r["layer"]) for r in reports[0]) + 1
    lines = [
        "mean frozen bits per parameter, by layer (rows) after each game (columns)",
        " " * label + "".join(f"{n:>{width}}" for n in names),
    ]
    for k, layer in enumerate(reports[0]):
        cells = "".join(f"{task[k]['frozen_mean']:>{width}.2f}" for task in reports)
        lines.append(f"{layer['layer']:<{label}}{cells}")
    return "\n".join(lines)


def run(cfg: InspectConfig, prog: str) -> int:
    folder = Path(cfg.run)
    try:
        train_cfg, summary = read_run(folder)
        policy = cfg.policy or summary["eval_policy"]
        train_cfg = replace(train_cfg, eval_policy=policy)
        scratch_dirs = cfg.scratch or train_cfg.scratch
        scratch = load_scratch(scratch_dirs, train_cfg) if scratch_dirs else None
    except ValueError as e:
        fail(prog, str(e))
    fresh = summarize(train_cfg.sequence, train_cfg.method, progress_of(summary), policy, scratch)
    print(format_summary(fresh))
    table = layer_table(summary)
    if table:
        print(table)
    return 0


COMMAND = Command(
    help="show a train run's scores, ACC/BWT, plasticity and frozen bits",
    config=InspectConfig,
    run=run,
)
