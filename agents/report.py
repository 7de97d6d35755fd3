"""``blip-rl inspect RUN``: a run's scores, ACC/BWT, plasticity and the capacity BLIP has left
in each layer after each task.

A train run's metrics are recomputed from its ``summary.json`` with the current score table
(works on a run still in progress); a classify run's come from its ``results.json``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from blip_rl.agents.results import EVAL_POLICIES, format_summary
from blip_rl.agents.rundir import fresh_summary, train_config
from blip_rl.agents.scratch import load_scratch
from blip_rl.capacity import capacity_table
from blip_rl.classification.cli import format_table
from blip_rl.cli import Command
from blip_rl.config import argument, fail, option
from blip_rl.runs import lacks_entry, open_run


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


def run(cfg: InspectConfig, prog: str) -> int:
    try:
        folder = open_run(Path(cfg.run))
        if folder.kind == "classify":
            parts = [format_table(folder.record)]
        else:
            train_cfg = replace(
                train_config(folder), eval_policy=cfg.policy or folder.record["eval_policy"]
            )
            scratch_dirs = cfg.scratch or train_cfg.scratch
            scratch = load_scratch(scratch_dirs, train_cfg) if scratch_dirs else None
            parts = [format_summary(fresh_summary(folder, train_cfg, scratch))]
        for seed, reports in zip(folder.seeds, folder.task_end_reports):
            table = capacity_table(reports, folder.tasks)
            if table:
                parts.append(
                    f"\nseed {seed}: {table}" if folder.kind == "classify" else f"\n{table}"
                )
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
)
