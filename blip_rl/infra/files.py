"""Files a run writes: atomic (temporary name + rename), so a crash never leaves half a file,
and checksummed: each folder's ``SHA256SUMS`` (the format of ``sha256sum -c``) lists the
SHA-256 of every file blip-rl wrote in it, and readers refuse a file that no longer matches.

While a file is replaced its folder's list accepts both the old and the new checksum, so a run
killed at any point leaves every file matching its list.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SUMS = "SHA256SUMS"


class CorruptFile(ValueError):
    """A file no longer matches the checksum blip-rl recorded when it wrote it."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sums(folder: Path) -> dict[str, set[str]]:
    """``folder``'s ``SHA256SUMS``: file name -> accepted checksums (empty if there is none)."""
    path = Path(folder) / SUMS
    if not path.exists():
        return {}
    sums: dict[str, set[str]] = {}
    try:
        for line in path.read_text().splitlines():
            digest, name = line.split("  ", 1)
            sums.setdefault(name, set()).add(digest)
    except (OSError, ValueError) as e:
        raise CorruptFile(f"{str(path)!r} is damaged ({e})") from None
    return sums


READ_ATTEMPTS = 5
"""Reads of a file whose checksum does not match before it is called damaged: a live run may
replace it between the reader's two reads (the file, then the list)."""


def read_checked(path: Path) -> bytes:
    """The bytes of ``path``; :class:`CorruptFile` if its folder's ``SHA256SUMS`` lists it
    with other checksums (a file it does not list, as from older versions, is not checked).

    The list is read after the file: a writer lists a new checksum before it replaces the file
    (see :func:`atomic_write_bytes`), so a file read from a finished write is always listed
    then. Only another complete write in between can make them disagree; the read is retried.
    """
    path = Path(path)
    for attempt in range(READ_ATTEMPTS):
        data = path.read_bytes()
        listed = read_sums(path.parent).get(path.name)
        if listed is None or sha256(data) in listed:
            return data
        time.sleep(0.01 * (attempt + 1))
    raise CorruptFile(
        f"{str(path)!r} does not match its checksum in {SUMS}: it was changed or damaged "
        "after blip-rl wrote it"
    )


def atomic_write_bytes(path: Path, data: bytes, checksum: bool = True) -> None:
    """Write ``data`` to ``path`` atomically and, with ``checksum``, record its checksum in
    ``SHA256SUMS`` (not for figures: a paper's figure folder needs no list)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not checksum:
        _replace(path, data)
        return
    try:
        sums = read_sums(path.parent)
    except CorruptFile:
        sums = {}  # a damaged list is started again
    digest = sha256(data)
    _write_sums(path.parent, {**sums, path.name: sums.get(path.name, set()) | {digest}})
    _replace(path, data)
    _write_sums(path.parent, {**sums, path.name: {digest}})


def _write_sums(folder: Path, sums: dict[str, set[str]]) -> None:
    lines = (f"{d}  {name}\n" for name in sorted(sums) for d in sorted(sums[name]))
    _replace(folder / SUMS, "".join(lines).encode())


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:  # a failed write names no file
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Atomically write a CSV file: ``header``, then one line per row (``None`` -> empty)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(path, text.getvalue().encode())


def write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def write_error(e: OSError) -> str:
    """A failed write in one line: the path, the reason and its errno name
    (``cannot write 'run/eval.csv': No space left on device [ENOSPC]``)."""
    name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno is not None else "?"
    where = f" {str(e.filename)!r}" if e.filename else ""
    return f"cannot write{where}: {e.strerror or e} [{name}]"


def check_writable_dir(path: Path) -> None:
    """Create ``path`` if needed; raise ``ValueError`` naming it if it cannot be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        what = "is a file, not a folder" if blocking and blocking.is_file() else "is not a folder"
        reason = f"{str(blocking)!r} {what}" if blocking else e.strerror
        raise ValueError(f"cannot create output directory {str(path)!r}: {reason}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"output directory {str(path)!r} is not writable")
