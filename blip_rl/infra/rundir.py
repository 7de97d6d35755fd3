"""Run folders, as the commands write them, read back for figures and reports without
importing any trainer.

Every run folder holds ``config.json`` (the run's resolved config), a record of its results
whose name depends on the kind of run, and the frozen bits of its BLIP tensors after each task
(``bits/task_<k>.npz``, or ``bits/seed_<s>/task_<k>.npz`` for a run of several seeds). A bits
file maps each BLIP tensor's name (``<layer>.<param>``) to its frozen-bit counts S, uint8,
the tensor's shape. Each kind of run is a :class:`RunFolder` subclass in its wing.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import time
import typing
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from blip_rl.core.layers import blip_layers
from blip_rl.infra.files import atomic_write_bytes, read_checked
from blip_rl.infra.flags import config_from_dict, flat_values, how_settings
from blip_rl.infra.jsontypes import matches, mismatch

MAX_BITS_BYTES = 2**30
"""The most a bits file may unpack to: one byte per BLIP parameter, so a billion parameters."""


def default_run_dir(*parts: object) -> Path:
    """``runs/<part>__<part>__...__<unix time>``, CleanRL's run naming."""
    return Path("runs") / "__".join(map(str, (*parts, int(time.time()))))


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
    """Where a run keeps its bits file after ``task`` (of run seed ``seed`` in a run of
    several seeds)."""
    where = folder / "bits" if seed is None else folder / "bits" / f"seed_{seed}"
    return where / f"task_{task}.npz"


def check_npz(data: io.BytesIO) -> None:
    """``ValueError`` unless ``data`` is a .npz of uint8 arrays whose sizes fit what its zip
    directory declares, in all at most :data:`MAX_BITS_BYTES`: checked from the headers,
    before anything is inflated or allocated (a crafted file cannot make a bomb of either)."""
    with zipfile.ZipFile(data) as archive:
        members = archive.infolist()
        size = sum(member.file_size for member in members)
        if size > MAX_BITS_BYTES:
            raise ValueError(f"it unpacks to {size:,} bytes, over {MAX_BITS_BYTES:,}")
        for member in members:
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                    version, np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(f)
                declared = math.prod(shape)
                if dtype != np.uint8 or declared > member.file_size - f.tell():
                    raise ValueError(
                        f"{member.filename} declares {declared:,} {dtype} values in "
                        f"{member.file_size:,} bytes"
                    )
    data.seek(0)


def read_bits(folder: Path, tasks: int, seed: int | None = None) -> list[dict[str, np.ndarray]]:
    """The bits files of ``folder``'s first ``tasks`` tasks (see :func:`bits_file`), as
    ``{tensor name: frozen bits}`` maps; ``ValueError`` naming a bad file."""
    maps = []
    for k in range(tasks):
        path = bits_file(folder, k, seed)
        try:
            data = io.BytesIO(read_checked(path))
            check_npz(data)
            with np.load(data) as saved:
                maps.append({name: saved[name] for name in saved.files})
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(
                f"cannot read {str(path)!r} ({e}); expected a .npz of uint8 arrays"
            ) from None
    return maps


Record = typing.TypeVar("Record")


@dataclass(frozen=True)
class RunFolder(ABC):
    """A finished or running run, read back. Subclasses (one per kind of run) say which file
    holds its results and how to read them.

    Attributes:
        path: the folder.
        config: its ``config.json``, as written (``dataclasses.asdict`` of the run's config).
        record: its results file (:attr:`RECORD`), as written.
    """

    COMMAND: ClassVar[str]
    """The command that writes this kind of run."""
    RECORD: ClassVar[str]
    """The file holding its results."""
    RECORD_WRITTEN: ClassVar[str]
    """When the command writes :attr:`RECORD` (for the error on a folder without one)."""
    METRICS: ClassVar[tuple[str, ...]]
    """The headline metrics of :meth:`metrics`."""
    UNIT: ClassVar[str] = ""
    """The unit of the metrics, for table headers (e.g. ``" (%)"``)."""

    path: Path
    config: dict[str, Any]
    record: dict[str, Any]

    def resolved_config(self, cls: type) -> Any:
        """``config.json`` as ``cls`` (a run config), resolved; ``ValueError`` naming this run
        if it does not read."""
        try:
            return config_from_dict(cls, self.config).resolved()
        except (TypeError, ValueError) as e:
            raise ValueError(f"{str(self.path)!r} holds an unreadable config.json ({e})") from None

    def read_record(self, cls: type[Record]) -> Record:
        """:attr:`record` as ``cls`` (see :func:`read_record`); ``ValueError`` naming this
        run's file if an entry has the wrong type."""
        try:
            return read_record(cls, self.record)
        except ValueError as e:
            raise ValueError(
                f"{str(self.path)!r} holds an unreadable {self.RECORD} ({e})"
            ) from None

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
    @abstractmethod
    def tasks(self) -> list[str]:
        """Every task of the sequence, in order."""

    @property
    @abstractmethod
    def tasks_done(self) -> int:
        """Tasks finished (their bits files written) in every seed."""

    @property
    @abstractmethod
    def seeds(self) -> list[int]:
        """The run seeds, in order."""

    @property
    @abstractmethod
    def task_end_reports(self) -> list[list[dict[str, Any]]]:
        """Per seed, the strategy's report at each task end (BLIP's has ``layers``)."""

    @property
    def finished(self) -> bool:
        """Whether every task of the sequence is done."""
        return self.tasks_done == len(self.tasks)

    @abstractmethod
    def bits_seed(self, seed: int) -> int | None:
        """The seed part of :func:`bits_file` for run seed ``seed``."""

    @abstractmethod
    def metrics(self) -> dict[str, float | None]:
        """The :attr:`METRICS` of this run (its seeds' mean)."""

    def bits(self, seed: int) -> list[dict[str, np.ndarray]]:
        """Frozen bits of every BLIP tensor after each finished task, for run seed ``seed``."""
        if seed not in self.seeds:
            raise ValueError(
                f"{str(self.path)!r} has no seed {seed}; choose from: "
                + ", ".join(map(str, self.seeds))
            )
        return read_bits(self.path, self.tasks_done, self.bits_seed(seed))


def setting_labels(
    configs: Mapping[str, Any], usual: Callable[[Any], Any], skip: Collection[str]
) -> dict[str, str]:
    """Each group's label (``configs``: one run config per group key, a frozen dataclass with
    ``method``, ``preset`` and ``method_settings``): its method, then ``name=value`` for every
    setting of its ``method_settings`` that differs between the groups and, in this group,
    from ``usual(config)``'s (the config a command runs given only what the label already
    says; ``preset`` from the default preset). Settings in ``skip`` and those marked ``how``
    are never shown. ``blip`` and ``blip, bit_budget=0.2``, say. Labels that would still
    coincide get the key's hash (``<sequence>__<method>__<hash>``)."""
    if not configs:
        return {}
    kind = type(next(iter(configs.values())))
    skip = {*skip, *how_settings(kind), "method"}
    values = {key: flat_values(cfg.method_settings) for key, cfg in configs.items()}
    names = next(iter(values.values()))
    varying = [
        name
        for name in names
        if name not in skip and len({repr(v[name]) for v in values.values()}) > 1
    ]
    labels = {}
    for key, cfg in configs.items():
        own = values[key]
        unsaid = {**flat_values(usual(cfg).method_settings), "preset": kind().preset}
        parts = [f"{name}={_shown(own[name])}" for name in varying if own[name] != unsaid[name]]
        labels[key] = ", ".join([cfg.method, *parts])
    shared = [label for label in labels.values() if list(labels.values()).count(label) > 1]
    return {
        key: f"{label} [{key.rsplit('__', 1)[-1]}]" if label in shared else label
        for key, label in labels.items()
    }


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def group_labels(
    groups: Mapping[str, Sequence[RunFolder]],
    labels: Mapping[str, str],
    names: Mapping[Path, str] | None = None,
) -> dict[str, str]:
    """The label of each group of runs (by key): the name ``names`` (run folder -> name, from
    ``--label``) gives any of its runs, else its default from ``labels``; ``ValueError`` if
    ``names`` gives one group two names or two groups end up with one label."""
    names = {Path(p).resolve(): name for p, name in (names or {}).items()}
    shown = dict(labels)
    for key, group in groups.items():
        given = {names[r.path.resolve()] for r in group if r.path.resolve() in names}
        if len(given) > 1:
            raise ValueError(
                f"--label gives the runs of group {labels[key]!r} two names: "
                f"{', '.join(sorted(given))}; name a group once"
            )
        if given:
            shown[key] = given.pop()
    values = list(shown.values())
    twice = next((label for label in values if values.count(label) > 1), None)
    if twice is not None:
        raise ValueError(
            f"two groups of different settings are both labelled {twice!r}; "
            "give each group its own --label"
        )
    return shown


def lacks_entry(run: str | Path, e: KeyError) -> str:
    """The error for a run file without an entry every run writes (a hand-edited file)."""
    return f"{str(run)!r} holds an unreadable run (a run file lacks the entry {e})"


def read_record(cls: type[Record], data: Any) -> Record:
    """A result record (a dataclass) read back from JSON: ``KeyError`` naming a missing entry
    (one with a default takes it: a record written before the field was added), ``ValueError``
    naming one of the wrong type. Fields that are records themselves (or lists
    or dicts of them) are read the same way."""
    if not isinstance(data, dict):
        raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {
        f.name: _read(hints[f.name], data[f.name], f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data or not has_default(f)  # a field added since keeps its default
    }
    return cls(**values)


def has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _read(tp: Any, value: Any, name: str) -> Any:
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return read_record(tp, value)  # type: ignore[arg-type]
    if typing.get_origin(tp) is list and dataclasses.is_dataclass(args[0]):
        if not isinstance(value, list):
            raise ValueError(mismatch(name, value, list))
        return [read_record(args[0], v) for v in value]
    if typing.get_origin(tp) is dict and dataclasses.is_dataclass(args[1]):
        if not isinstance(value, dict):
            raise ValueError(mismatch(name, value, dict))
        return {k: read_record(args[1], v) for k, v in value.items()}
    if not matches(value, tp):
        raise ValueError(mismatch(name, value, tp))
    return value


def open_run(folder: Path, kinds: Sequence[type[RunFolder]]) -> RunFolder:
    """The run in ``folder``, of the first of ``kinds`` whose results file it holds;
    ``ValueError`` naming the folder if it holds none."""
    folder = Path(folder)
    if not folder.exists():
        raise ValueError(f"{str(folder)!r} does not exist")
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is a file, not a run folder")
    found = [kind for kind in kinds if (folder / kind.RECORD).exists()]
    try:
        config = json.loads(read_checked(folder / "config.json"))
        if not found:
            raise FileNotFoundError
        kind = found[0]
        record = json.loads(read_checked(folder / kind.RECORD))
        for name, value in (("config.json", config), (kind.RECORD, record)):
            if not isinstance(value, dict):
                raise ValueError(f"{name} holds a JSON {type(value).__name__}, not an object")
        return kind(folder, config, record)
    except FileNotFoundError:
        written = ", ".join(
            f"a {k.COMMAND} run writes {k.RECORD} {k.RECORD_WRITTEN}" for k in kinds
        )
        raise ValueError(
            f"{str(folder)!r} holds no finished task of a blip-rl run ({written})"
        ) from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{str(folder)!r} holds an unreadable run ({e})") from None
