"""Reading back a ``blip-rl train`` run folder: its ``config.json``, ``summary.json`` and
``bits/task_<k>.npz``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from blip_rl.agents.config import TrainConfig
from blip_rl.config import config_from_dict


def read_run(folder: Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The config and summary of the train run in ``folder``; ``ValueError`` if it is none."""
    try:
        cfg = config_from_dict(TrainConfig, json.loads((folder / "config.json").read_text()))
        summary = json.loads((folder / "summary.json").read_text())
    except FileNotFoundError as e:
        raise ValueError(
            f"{str(folder)!r} is not a blip-rl train run (no {Path(e.filename).name}; "
            "summary.json appears after the first task)"
        ) from None
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{str(folder)!r} holds an unreadable run ({e})") from None
    return cfg, summary


def read_bits(folder: Path, tasks: int) -> list[dict[str, np.ndarray]]:
    """Frozen bits of every BLIP tensor after each of the run's first ``tasks`` tasks."""
    maps = []
    for k in range(tasks):
        path = folder / "bits" / f"task_{k}.npz"
        try:
            with np.load(path) as saved:
                maps.append({name: saved[name] for name in saved.files})
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read {str(path)!r} ({e})") from None
    return maps
