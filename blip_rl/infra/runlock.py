"""One writer per run folder: an exclusive lock (``fcntl.flock``) on ``<folder>/.lock``, held
while a command writes the folder. A second writer is refused at once, naming the holder's
PID; readers (``inspect``, ``plot``, ``heatmap``) never take it. The lock is the operating
system's: it ends with its process, however the process ends, so a killed run never leaves
a stale lock behind (only, at worst, the empty file, which the next writer reuses)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from blip_rl.infra.files import check_writable_dir

LOCK = ".lock"


class RunWriter:
    """The one writer of ``folder``: creates it if need be (``ValueError`` if it cannot be
    created or written) and locks it (``ValueError`` naming the holder's PID if another
    process has it). ``with`` it to release the lock at the end.

    Attributes:
        folder: the run folder.
        made: whether this writer created it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.made = not self.folder.exists()
        check_writable_dir(self.folder)
        self.path = self.folder / LOCK
        self._fd: int | None = self._lock()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def _lock(self) -> int:
        """A descriptor of the lock file, locked. The holder removes the file when it ends,
        so a lock taken on a file that was removed meanwhile is taken again on the new one."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise ValueError(f"cannot lock {str(self.folder)!r}: {e.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ValueError(
                    f"{str(self.folder)!r} is being written by another blip-rl process "
                    f"(PID {holder}); wait for it to end, or choose another folder"
                ) from None
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def is_empty(self) -> bool:
        """Whether the folder holds nothing but its lock."""
        return all(p.name == LOCK for p in self.folder.iterdir())

    def discard_if_empty(self) -> None:
        """After a refusal: remove the folder again if this writer made it and wrote nothing,
        so a refused command leaves nothing behind."""
        if self.made and self.is_empty():
            self.release()
            self.folder.rmdir()

    def release(self) -> None:
        """Remove the lock file and unlock (in that order: see :meth:`_lock`). A process
        that dies without releasing leaves the file, but the lock ends with it."""
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
