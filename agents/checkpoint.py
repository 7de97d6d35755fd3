"""Checkpoints of a continual RL run: ``checkpoints/<name>/{model.zip,state.pt}`` and
``checkpoints/latest.json`` naming the newest.

``model.zip`` is SB3's own save (policy with its BLIP buffers, optimizer, step counters);
``state.pt`` holds what SB3 does not: the run's :class:`Progress`, the strategy's own state
(EWC) and the RNG states. A checkpoint is written into a temporary folder and renamed, and
``latest.json`` is replaced atomically after it, so a crash leaves the previous one usable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO

from blip_rl.agents.results import Progress
from blip_rl.files import write_json

LATEST = "latest.json"


def rng_state() -> dict[str, Any]:
    """RNG states of torch, numpy and ``random`` (plain lists and tensors: loadable with
    ``torch.load(weights_only=True)``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "random": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["random"]
    random.setstate((version, tuple(internal), gauss_next))


@dataclass
class Checkpoint:
    """A loaded checkpoint."""

    model: PPO
    progress: Progress
    strategy_state: dict[str, Any]


def save_checkpoint(
    folder: Path, name: str, model: PPO, progress: Progress, strategy_state: dict[str, Any]
) -> Path:
    """Write checkpoint ``name`` and point ``latest.json`` at it; earlier mid-task checkpoints
    (``step_*``) are then removed, task-end ones (``task_*``) kept."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model.save(tmp / "model.zip")
    torch.save(
        {"progress": progress.to_dict(), "strategy": strategy_state, "rng": rng_state()},
        tmp / "state.pt",
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_json(folder / LATEST, {"checkpoint": name, "step": model.num_timesteps})
    for old in folder.glob("step_*"):
        if old.name != name:
            shutil.rmtree(old)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The folder ``latest.json`` names, or ``None`` if there is no checkpoint yet."""
    pointer = folder / LATEST
    if not pointer.exists():
        return None
    path = folder / json.loads(pointer.read_text())["checkpoint"]
    if not (path / "model.zip").exists() or not (path / "state.pt").exists():
        raise ValueError(f"checkpoint {str(path)!r} named by {str(pointer)!r} is incomplete")
    return path


def load_checkpoint(path: Path, device: torch.device) -> Checkpoint:
    """Model, progress and strategy state of checkpoint ``path``; restores the RNG states."""
    state = torch.load(path / "state.pt", weights_only=True)
    model = PPO.load(path / "model.zip", device=device)
    set_rng_state(state["rng"])
    return Checkpoint(model, Progress.from_dict(state["progress"]), state["strategy"])
