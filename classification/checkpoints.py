"""Task-end checkpoints of one classify seed: ``checkpoints/seed_<s>/task_<k>``, the newest
:data:`KEEP` kept (the older one in case the newest is broken).

Each holds what the seed needs to go on exactly as if it had never stopped: the net (heads
and BLIP buffers included), the strategy's state, the seed's shuffling generator, the global
RNG states and its :class:`~blip_rl.classification.trainer.SeedResult` so far. A run still
learning is read back from them (:func:`unfinished_run`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from blip_rl.classification.benchmarks import Task, get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.data import DataError
from blip_rl.classification.nets import MultiHeadNet
from blip_rl.classification.results import ClassifyRun, SeedResult, first_tasks_text, summarize
from blip_rl.core.strategy import Strategy
from blip_rl.infra.checkpoints import (
    CheckpointError,
    first_line,
    latest_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from blip_rl.infra.files import read_checked
from blip_rl.infra.flags import config_from_dict

KEEP = 2
"""Task-end checkpoints kept per seed: a pfmnist one is ~30 MB."""


def seed_folder(out: Path, seed: int) -> Path:
    """Where seed ``seed`` of the run in ``out`` keeps its checkpoints."""
    return out / "checkpoints" / f"seed_{seed}"


def save_seed(
    folder: Path,
    model: MultiHeadNet,
    strategy: Strategy,
    gen: torch.Generator,
    result: SeedResult,
) -> Path:
    """Checkpoint the seed after its task ``result.tasks_done - 1``."""
    k = result.tasks_done - 1
    state = {
        "model": model.state_dict(),
        "strategy": strategy.state_dict(),
        "generator": gen.get_state(),
        "rng": rng_state(),
        "result": asdict(result),
    }
    return save_checkpoint(folder, f"task_{k}", k + 1, k, state, keep_tasks=KEEP)


def saved_result(folder: Path) -> SeedResult | None:
    """The seed's result as of its newest intact checkpoint; ``None`` if it has none."""
    found = latest_checkpoint(folder)
    return None if found is None else SeedResult(**found.state["result"])


def restore_seed(
    folder: Path,
    model: MultiHeadNet,
    strategy: Strategy,
    gen: torch.Generator,
    tasks: list[Task],
) -> SeedResult | None:
    """Load the seed's newest intact checkpoint into ``model`` (its heads added first),
    ``strategy``, ``gen`` and the global RNGs; its result so far, or ``None`` if it has
    none. :class:`CheckpointError` if none is intact or it does not fit this run."""
    found = latest_checkpoint(folder)
    if found is None:
        return None
    state = found.state
    try:
        result = SeedResult(**state["result"])
        for task in tasks[: result.tasks_done]:
            model.add_head(task.classes)
        model.load_state_dict(state["model"])
        strategy.load_state_dict(state["strategy"])
        gen.set_state(state["generator"])
        set_rng_state(state["rng"])
    except (KeyError, TypeError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {str(found.path)!r} does not fit this run ({first_line(e)})"
        ) from None
    return result


@dataclass(frozen=True)
class UnfinishedClassifyRun(ClassifyRun):
    """A classify run not finished (learning, stopped or failed), read from its seeds' newest
    checkpoints: its results are those of tasks 0..k-1, the tasks every started seed has
    finished (ACC and BWT over them, as a train run's in progress).

    Attributes:
        sequence: the task names of the whole sequence (:attr:`tasks`, as a train run's;
            ``results.tasks`` holds the finished ones).
    """

    sequence: tuple[str, ...] = ()

    @property
    def tasks(self) -> list[str]:
        return list(self.sequence)

    @property
    def finished(self) -> bool:
        return False

    @property
    def progress(self) -> str:
        """``unfinished: tasks 0..2 of 0..9 done in seeds 0, 1 (seed 2 not started)``."""
        waiting = [s for s in self.classify_config.seeds if s not in self.seeds]
        return (
            f"unfinished: {first_tasks_text(self.tasks_done, len(self.tasks))} done in "
            f"{seeds_text(self.seeds)}"
            + (f" ({seeds_text(waiting)} not started)" if waiting else "")
        )


def seeds_text(seeds: list[int]) -> str:
    """``seed 0`` or ``seeds 0, 1``."""
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def unfinished_run(folder: Path) -> UnfinishedClassifyRun | None:
    """The classify run in ``folder`` that has not finished (no ``results.json``), or
    ``None`` if ``folder`` holds no classify run with a finished task. The task names come
    from the benchmark's data, as the run read them: :class:`DataError` naming the folder if
    they do not read, :class:`CheckpointError` if a seed has no intact checkpoint."""
    if (folder / ClassifyRun.RECORD).exists():  # finished: its results file speaks for it
        return None
    try:
        config = json.loads(read_checked(folder / "config.json"))
        cfg = config_from_dict(ClassifyConfig, config).resolved()
    except (OSError, ValueError, TypeError):
        return None
    saved = (saved_result(seed_folder(folder, seed)) for seed in cfg.seeds)
    started = [result for result in saved if result is not None]
    if not started:
        return None
    data_dir = Path(cfg.data_dir) if cfg.data_dir else None
    try:
        names = [task.name for task in get_benchmark(cfg.benchmark).build(data_dir)]
    except DataError as e:
        raise DataError(
            f"{str(folder)!r} is unfinished; its task names come from its data: {e}"
        ) from None
    k = min(r.tasks_done for r in started)
    cut = [
        replace(
            r,
            acc_matrix=[row[:k] for row in r.acc_matrix[:k]],
            epochs=r.epochs[:k],
            reports=r.reports[:k],
        )
        for r in started
    ]
    seconds = sum(r.wall_time_s for r in started)
    record = summarize(cfg.benchmark, cfg.method, names[:k], cut, seconds).to_dict()
    return UnfinishedClassifyRun(folder, config, record, sequence=tuple(names))
