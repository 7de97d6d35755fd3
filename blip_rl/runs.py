"""Run folders, as ``blip-rl train`` and ``blip-rl classify`` write them, read back for figures
and reports without importing either trainer.

A train run holds ``config.json``, ``summary.json`` (after its first task), ``eval.csv`` and
``bits/task_<k>.npz``; a classify run holds ``config.json``, ``results.json`` (when every seed
is done) and ``bits/seed_<s>/task_<k>.npz``. A bits file maps each BLIP tensor's name
(``<layer>.<param>``) to its frozen-bit counts S, uint8, the tensor's shape.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch import nn

from blip_rl.files import atomic_write_bytes, read_checked
from blip_rl.layers import blip_layers

EVAL_POLICIES = ("sampled", "greedy")
"""How a train run's evaluation picks actions: sampled from pi(.|s), or its argmax (the
paper's)."""

RunKind = Literal["train", "classify"]
RECORDS: dict[RunKind, str] = {"train": "summary.json", "classify": "results.json"}
"""The file holding each kind of run's results."""


def frozen_bits(model: nn.Module) -> dict[str, np.ndarray]:
    """Frozen-bit count S of every BLIP tensor, uint8, keyed by ``<layer>.<param>`` name."""
    return {
        f"{name}.{pname}": layer.frozen_bits(pname).cpu().numpy()
        for name, layer in blip_layers(model)
        for pname, _, _ in layer.blip_tensors()
    }


def write_bits(path: Path, model: nn.Module) -> None:
    """A bits file: :func:`frozen_bits` of ``model``, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **frozen_bits(model))
    atomic_write_bytes(path, buffer.getvalue())


def bits_file(folder: Path, task: int, seed: int | None = None) -> Path:
    """Where a run keeps its bits file after ``task``: per seed for a classify run."""
    where = folder / "bits" if seed is None else folder / "bits" / f"seed_{seed}"
    return where / f"task_{task}.npz"


def read_bits(folder: Path, tasks: int, seed: int | None = None) -> list[dict[str, np.ndarray]]:
    """The bits files of ``folder``'s first ``tasks`` tasks (of run seed ``seed`` for a
    classify run), as ``{tensor name: frozen bits}`` maps; ``ValueError`` naming a bad file."""
    maps = []
    for k in range(tasks):
        path = bits_file(folder, k, seed)
        try:
            with np.load(io.BytesIO(read_checked(path))) as saved:
                maps.append({name: saved[name] for name in saved.files})
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(
                f"cannot read {str(path)!r} ({e}); expected a .npz of uint8 arrays"
            ) from None
    return maps


@dataclass(frozen=True)
class EvalPoint:
    """One row of a train run's ``eval.csv``: task ``task`` evaluated at global env step
    ``step`` with ``policy`` actions; its raw mean return (the file's normalized score used the
    score table of its day: normalize again with the current one)."""

    step: int
    task: int
    game: str
    policy: str
    mean_return: float


@dataclass(frozen=True)
class RunFolder:
    """A finished or running train/classify run, read back.

    Attributes:
        path: the folder.
        kind: ``train`` or ``classify``.
        config: its ``config.json``, as written (``dataclasses.asdict`` of the run's config).
        record: its ``summary.json`` (train) or ``results.json`` (classify).
    """

    path: Path
    kind: RunKind
    config: dict[str, Any]
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def method(self) -> str:
        return self.config["method"]

    @property
    def n_bits(self) -> int:
        """N, bits per BLIP weight."""
        return self.config["blip"]["bits"]

    @property
    def tasks(self) -> list[str]:
        """Every task of the sequence, in order (game names, or classify task names)."""
        return self.record["games"] if self.kind == "train" else self.record["tasks"]

    @property
    def tasks_done(self) -> int:
        return self.record["tasks_done"] if self.kind == "train" else len(self.tasks)

    @property
    def seeds(self) -> list[int]:
        return [self.config["seed"]] if self.kind == "train" else self.record["seeds"]

    @property
    def task_end_reports(self) -> list[list[dict[str, Any]]]:
        """Per seed, the strategy's report at each task end (BLIP's has ``layers``)."""
        if self.kind == "train":
            return [self.record["task_end_reports"]]
        return [part["task_end"] for part in self.record["per_seed"]]

    def bits(self, seed: int) -> list[dict[str, np.ndarray]]:
        """Frozen bits of every BLIP tensor after each finished task, for run seed ``seed``."""
        if seed not in self.seeds:
            raise ValueError(
                f"{str(self.path)!r} has no seed {seed}; choose from: "
                + ", ".join(map(str, self.seeds))
            )
        return read_bits(self.path, self.tasks_done, None if self.kind == "train" else seed)

    @cached_property
    def evaluations(self) -> list[EvalPoint]:
        """A train run's ``eval.csv``, read once, in file order; a point evaluated twice (a
        resumed run) keeps its last row."""
        path = self.path / "eval.csv"
        try:
            with io.StringIO(read_checked(path).decode(), newline="") as f:
                rows = [
                    EvalPoint(
                        int(row["step"]),
                        int(row["task"]),
                        row["game"],
                        row["policy"],
                        float(row["mean_return"]),
                    )
                    for row in csv.DictReader(f)
                ]
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f"cannot read {str(path)!r} (bad value or missing column {e}); expected the "
                "columns step, task, game, policy, mean_return"
            ) from None
        return list({(p.step, p.task, p.policy): p for p in rows}.values())

    def eval_points(self, policy: str) -> list[EvalPoint]:
        """The run's evaluations with ``policy`` actions (see :attr:`evaluations`)."""
        return [p for p in self.evaluations if p.policy == policy]


def lacks_entry(run: str | Path, e: KeyError) -> str:
    """The error for a run file without an entry every run writes (a hand-edited file)."""
    return f"{str(run)!r} holds an unreadable run (a run file lacks the entry {e})"


def open_run(folder: Path) -> RunFolder:
    """The train or classify run in ``folder``; ``ValueError`` naming it if it holds none."""
    folder = Path(folder)
    kinds = [kind for kind, name in RECORDS.items() if (folder / name).exists()]
    try:
        config = json.loads(read_checked(folder / "config.json"))
        if not kinds:
            raise FileNotFoundError
        kind = kinds[0]
        record = json.loads(read_checked(folder / RECORDS[kind]))
        for name, value in (("config.json", config), (RECORDS[kind], record)):
            if not isinstance(value, dict):
                raise ValueError(f"{name} holds a JSON {type(value).__name__}, not an object")
    except FileNotFoundError:
        raise ValueError(
            f"{str(folder)!r} holds no finished task of a blip-rl run (a train run writes "
            "summary.json after its first task, a classify run results.json at its end)"
        ) from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{str(folder)!r} holds an unreadable run ({e})") from None
    return RunFolder(folder, kind, config, record)
