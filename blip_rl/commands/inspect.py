"""``blip-rl inspect RUN``: a run's scores, ACC/BWT, plasticity and the capacity BLIP has left
in each layer after each task.

A train run's metrics are recomputed from its ``summary.json`` with the current score table; a
classify run's come from its ``results.json``, or before it has one (learning, stopped,
failed) from its seeds' checkpoints (over the tasks every started seed has finished)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.rundir import TrainRun
from blip_rl.agents.scratch import load_scratch
from blip_rl.agents.summary import format_summary
from blip_rl.classification.checkpoints import UnfinishedClassifyRun
from blip_rl.classification.results import ClassifyRun, format_results
from blip_rl.commands.command import Command
from blip_rl.commands.runs import open_run
from blip_rl.core.capacity import capacity_table
from blip_rl.core.options import argument, option
from blip_rl.infra.flags import fail
from blip_rl.infra.rundir import RunFolder, lacks_entry


@dataclass(frozen=True)
class InspectConfig:
    """What ``blip-rl inspect`` shows."""

    run: str = argument("run folder written by blip-rl train or blip-rl classify")
    scratch: tuple[str, ...] | None = option(
        None, "comma-separated --method scratch runs for plasticity [default: the run's own]"
    )
    policy: str | None = option(
        None, "evaluation actions to show [default: the run's --eval-policy]", choices=EVAL_POLICIES
    )


def scores_text(folder: RunFolder, cfg: InspectConfig) -> str:
    """The run's score matrix and headline metrics: recomputed for a train run (with
    ``cfg``'s policy and scratch runs), as saved for a classify run."""
    if isinstance(folder, TrainRun):
        train_cfg = folder.train_config
        scratch_dirs = cfg.scratch or train_cfg.scratch
        scratch = load_scratch(scratch_dirs, train_cfg) if scratch_dirs else None
        return format_summary(folder.fresh_summary(cfg.policy, scratch))
    text = format_results(cast(ClassifyRun, folder).results)
    return f"{text}\n{folder.progress}" if isinstance(folder, UnfinishedClassifyRun) else text


def run(cfg: InspectConfig, prog: str) -> int:
    try:
        folder = open_run(Path(cfg.run), unfinished=True)
        parts = [scores_text(folder, cfg)]
        per_seed = isinstance(folder, ClassifyRun)  # a run of several seeds
        for seed, reports in zip(folder.seeds, folder.task_end_reports):
            table = capacity_table(reports, folder.tasks)
            if table:
                parts.append(f"\nseed {seed}: {table}" if per_seed else f"\n{table}")
    except ValueError as e:
        fail(prog, str(e))
    except KeyError as e:  # a run file without an entry every run writes
        fail(prog, lacks_entry(cfg.run, e))
    print("\n".join(parts))
    return 0


COMMAND = Command(
    help="show a run's scores, ACC/BWT, plasticity and the frozen bits of each BLIP layer",
    config=InspectConfig,
    run=run,
    examples=(
        "runs/minatar__blip__0__1764547200",
        "runs/minatar__blip__0__1764547200 --policy greedy --scratch runs/scratch_0,runs/scratch_1",
    ),
)
