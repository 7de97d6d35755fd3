"""Task-end checkpoints of one classify seed: ``checkpoints/seed_<s>/task_<k>``, the newest
:data:`KEEP` kept (the older one in case the newest is broken).

Each holds what the seed needs to go on exactly as if it had never stopped: the net (heads
and BLIP buffers included), the strategy's state, the seed's shuffling generator, the global
RNG states and its :class:`~blip_rl.classification.trainer.SeedResult` so far.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from blip_rl.classification.benchmarks import Task
from blip_rl.classification.nets import MultiHeadNet
from blip_rl.classification.results import SeedResult
from blip_rl.core.strategy import Strategy
from blip_rl.infra.checkpoints import (
    CheckpointError,
    first_line,
    latest_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

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
