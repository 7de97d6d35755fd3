"""Opening a run folder of any kind: the wings' run kinds in one place."""

from __future__ import annotations

from pathlib import Path

from blip_rl.agents.rundir import TrainRun
from blip_rl.classification.results import ClassifyRun
from blip_rl.infra import rundir
from blip_rl.infra.rundir import RunFolder

RUN_KINDS: tuple[type[RunFolder], ...] = (TrainRun, ClassifyRun)


def open_run(folder: Path) -> RunFolder:
    """The train or classify run in ``folder``; ``ValueError`` naming it if it holds none."""
    return rundir.open_run(folder, RUN_KINDS)
