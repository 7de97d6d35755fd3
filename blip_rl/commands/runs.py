"""Opening a run folder of any kind: the wings' run kinds in one place."""

from __future__ import annotations

from pathlib import Path

from blip_rl.agents.rundir import TrainRun
from blip_rl.classification.checkpoints import unfinished_run
from blip_rl.classification.results import ClassifyRun
from blip_rl.infra import rundir
from blip_rl.infra.rundir import RunFolder

RUN_KINDS: tuple[type[RunFolder], ...] = (TrainRun, ClassifyRun)


def open_run(folder: Path, unfinished: bool = False) -> RunFolder:
    """The train or classify run in ``folder``; ``ValueError`` naming it if it holds none.
    With ``unfinished``, also a classify run not finished (learning, stopped or failed), over
    the tasks it has finished (a train run in progress opens anyway: it writes its summary
    after each task)."""
    try:
        return rundir.open_run(folder, RUN_KINDS)
    except ValueError:
        found = unfinished_run(Path(folder)) if unfinished and Path(folder).is_dir() else None
        if found is None:
            raise
        return found
