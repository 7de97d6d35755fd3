"""Checkpoints of a run: ``checkpoints/<name>/{state.pt,meta.json,SHA256SUMS}``.

``state.pt`` holds all a run needs to continue exactly where it was. For ``blip-rl train``:
the policy's and its optimizer's state dicts (BLIP buffers included), SB3's step counters, the
run's progress, the strategy's own state (EWC), the transitions kept for the task's Fisher and
the RNG states; for ``blip-rl classify``, one seed's net, strategy, RNG states and accuracies
after a task. It holds tensors and plain containers only and is read with
``torch.load(weights_only=True)``, so a crafted file cannot run code; the caller rebuilds the
model from the run's config and loads the state dicts into it (SB3's ``PPO.load`` would
unpickle objects from a zip).

``meta.json`` gives the checkpoint's step (an env step, or a count of tasks learned) and task,
to order checkpoints without loading them; ``SHA256SUMS`` the checksum of both (see
:mod:`blip_rl.infra.files`). A checkpoint is written into a temporary folder and renamed into
place. Resuming takes the newest checkpoint whose files match their checksums and load; each
broken one is reported and skipped. Task-end checkpoints (``task_<k>``) are kept (or the newest
``keep_tasks``), and the newest :data:`KEEP_MID_TASK` mid-task ones (``step_<n>``), so a broken
newest one always has a predecessor.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import random
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from blip_rl.infra.files import SUMS, CorruptFile, atomic_write_bytes, read_checked, read_sums

log = logging.getLogger(__name__)

STATE, META = "state.pt", "meta.json"
META_BYTES = 4096
"""Far more than a checkpoint's meta.json holds; a longer one is not read further."""
KEEP_MID_TASK = 2
"""Mid-task checkpoints kept: the newest and its predecessor, the fallback if it is broken."""


class CheckpointError(ValueError):
    """No checkpoint of a run can be used; the message names each one and what is wrong."""


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


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: its folder, env step and ``state`` (what was saved)."""

    path: Path
    step: int
    state: dict[str, Any]


def save_checkpoint(
    folder: Path,
    name: str,
    step: int,
    task: int,
    state: dict[str, Any],
    keep_tasks: int | None = None,
) -> Path:
    """Write ``state`` as checkpoint ``folder/name`` at ``step`` during ``task``; then remove
    mid-task checkpoints but the newest :data:`KEEP_MID_TASK`, and task-end ones but the
    newest ``keep_tasks`` (all kept if ``None``)."""
    files = {STATE: _tensor_bytes(state), META: _json_bytes({"step": step, "task": task})}
    folder.mkdir(parents=True, exist_ok=True)
    final, tmp = folder / name, folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for file, data in files.items():
            atomic_write_bytes(tmp / file, data)
        if final.exists() and is_ours(final):  # the same step again after a fallback
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:  # a full disk, say: no half checkpoint left, the older ones intact
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for prefix, keep in (("step_", KEEP_MID_TASK), ("task_", keep_tasks)):
        if keep is None:
            continue
        for _, old in sorted(_steps(folder, prefix), reverse=True)[keep:]:
            if is_ours(old):
                shutil.rmtree(old)
    return final


NAME = re.compile(r"(step|task)_\d+")
"""The names of the checkpoints blip-rl writes."""


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a checkpoint blip-rl wrote, and so may remove: a real folder (not
    a link) named ``step_<n>`` or ``task_<k>``, holding exactly its state, meta and checksum
    files, the checksums listing the first two."""
    if path.is_symlink() or not path.is_dir() or not NAME.fullmatch(path.name):
        return False
    if {p.name for p in path.iterdir()} != {STATE, META, SUMS}:
        return False
    try:
        return set(read_sums(path)) == {STATE, META}
    except CorruptFile:
        return False


def latest_checkpoint(folder: Path) -> Checkpoint | None:
    """The newest intact checkpoint in ``folder``; ``None`` if there is none at all.

    A checkpoint whose files are missing, do not match ``SHA256SUMS`` or do not load safely is
    skipped, with a warning naming it and what is wrong. Raises :class:`CheckpointError` if
    every one is broken.
    """
    found = sorted(_steps(folder, ""), key=lambda s: (s[0], s[1].name.startswith("task_")))
    if not found:
        return None
    broken = []
    for _, path in reversed(found):
        try:
            checkpoint = read_checkpoint(path)
        except CheckpointError as e:
            broken.append(f"{path.name}: {e}")
            continue
        if broken:
            log.warning("skipped broken checkpoint(s) (%s); using %s", "; ".join(broken), path.name)
        return checkpoint
    raise CheckpointError(f"no intact checkpoint in {str(folder)!r}: {'; '.join(broken)}")


def _steps(folder: Path, prefix: str) -> list[tuple[int, Path]]:
    """(env step, folder) of the checkpoints in ``folder`` named ``prefix*``; the step is read
    from ``meta.json`` (-1 if unreadable, so a broken checkpoint sorts oldest)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"{prefix}*"):
        if path.is_dir() and NAME.fullmatch(path.name):
            try:
                with open(path / META, "rb") as f:
                    step = int(json.loads(f.read(META_BYTES))["step"])
            except (OSError, ValueError, KeyError, TypeError):
                step = -1
            found.append((step, path))
    return found


def read_checkpoint(path: Path) -> Checkpoint:
    """Checkpoint ``path``, its files checked; :class:`CheckpointError` if it is broken."""
    try:
        unlisted = {STATE, META} - set(read_sums(path))
        if unlisted:
            raise CorruptFile(f"{SUMS} does not list {', '.join(sorted(unlisted))}")
        data = {file: read_checked(path / file) for file in (STATE, META)}
    except CorruptFile as e:
        raise CheckpointError(str(e).replace(f"{str(path)}/", "")) from None
    except OSError as e:
        raise CheckpointError(f"missing or unreadable files: {e}") from None
    try:
        state = torch.load(io.BytesIO(data[STATE]), weights_only=True, map_location="cpu")
        step = int(json.loads(data[META])["step"])
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{STATE} is not a safe tensor file ({first_line(e)})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{META} does not give the step ({e})") from None
    return Checkpoint(path, step, state)


def first_line(e: Exception) -> str:
    """The first line of ``e``'s message (torch's are paragraphs), or its type's name."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _tensor_bytes(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj) + "\n").encode()
