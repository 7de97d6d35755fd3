"""What a run used, recorded in it: the software versions, the git commit of blip-rl, the
device and the CPU threads (results on a CPU depend on the thread count: a reduction split over
two threads adds in another order than over one). Each session of a run (its start and every
resume) appends one record to the run folder's ``sessions.json``."""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from blip_rl.infra.files import read_checked, write_json

SESSIONS = "sessions.json"
PACKAGES = ("blip-rl", "torch", "stable_baselines3", "gymnasium", "numpy", "ale-py", "MinAtar")
"""The distributions whose versions a run records (``None``: not installed)."""


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git(*args: str, cwd: Path) -> str | None:
    """``git args`` run in ``cwd``: its stdout stripped, None if git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_commit() -> str:
    """blip-rl's ``git describe --always --dirty`` if it runs from its own git checkout, else
    ``"not a git checkout"`` (an installed wheel: its version says which release; a wheel
    inside another project's repository must not report that project's commit)."""
    root = Path(__file__).resolve().parents[2]
    top = git("rev-parse", "--show-toplevel", cwd=root)
    if top is None or Path(top).resolve() != root:
        return "not a git checkout"
    return git("describe", "--always", "--dirty", "--abbrev=12", cwd=root) or "not a git checkout"


def session_record(device: str, threads: int, kernels: str, step: int) -> dict[str, Any]:
    """One session: when it started (UTC, ISO 8601), at which env step or epoch ``step``,
    on which ``device`` with how many torch CPU ``threads`` and which ``kernels``
    (``--kernels``), and with which software."""
    return {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "step": step,
        "device": device,
        "torch_threads": threads,
        "kernels": kernels,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git_commit(),
        "versions": {name: package_version(name) for name in PACKAGES},
    }


def record_session(folder: Path, record: dict[str, Any]) -> None:
    """Append ``record`` to ``folder``'s ``sessions.json`` (a JSON list; an unreadable one,
    from a damaged or hand-edited file, is kept aside as ``sessions.json.unreadable``)."""
    path = Path(folder) / SESSIONS
    sessions: list[Any] = []
    if path.exists():
        try:
            sessions = json.loads(read_checked(path))
            if not isinstance(sessions, list):
                raise ValueError("not a list")
        except ValueError:
            path.rename(path.with_name(SESSIONS + ".unreadable"))
            sessions = []
    write_json(path, [*sessions, record])
