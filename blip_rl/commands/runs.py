"""Opening a run folder of any kind: the wings' run kinds in one place."""

from __future__ import annotations

from pathlib import Path

from blip_rl.agents.rundir import TrainRun
from blip_rl.classification.checkpoints import running_run
from blip_rl.classification.results import ClassifyRun
from blip_rl.infra import rundir
from blip_rl.infra.rundir import RunFolder

RUN_KINDS: tuple[type[RunFolder], ...] = (TrainRun, ClassifyRun)


def open_run(folder: Path, running: bool = False) -> RunFolder:
    """The train or classify run in ``folder``; ``ValueError`` naming it if it holds none.
    With ``running``, also a classify run still learning, over the tasks it has finished
    (a train run in progress opens anyway: it writes its summary after each task)."""
    try:
        return rundir.open_run(folder, RUN_KINDS)
    except ValueError:
        found = running_run(Path(folder)) if running and Path(folder).is_dir() else None
        if found is None:
            raise
        return found
