"""Choose the torch device from ``--device auto|cpu|cuda`` and its CPU threads from
``--threads``."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda")
THREADS_HELP = (
    "torch CPU threads (0: torch's default, one per core); 1 when other jobs share the cores "
    "(threads waiting for each other beside them can slow training 20x)"
)
"""The ``--threads`` help of every command."""
KERNELS_HELP = (
    "how the quantized weights are rebuilt after each update: eager torch ops, or one pass "
    "compiled by torch.compile (the same bits, faster on large layers; needs a C++ compiler "
    "on a CPU, Triton on a GPU; compiling takes a few seconds at the start)"
)
"""The ``--kernels`` help of every command."""

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """'auto': CUDA when available, else CPU. 'cuda' without a GPU raises ``ValueError``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available; use cpu or auto")
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose from: {', '.join(DEVICES)}")
    return torch.device(name)


def oversubscription(threads: int, busy: int, cores: int) -> str | None:
    """Why ``threads`` torch threads may slow a run when ``busy`` other processes are running
    on the machine's ``cores``, or ``None``.

    Torch's threads wait for each other at every operation: when other jobs keep the cores
    busy, one descheduled thread stalls the rest, and a MinAtar run slowed 20-30x here (115 -
    157 env steps/s beside a one-thread run on 2 cores, against 3,565 alone).
    """
    if threads < 2 or busy + threads <= cores:
        return None
    return (
        f"{threads} torch threads on {cores} cores while {busy} other process"
        f"{'es are' if busy > 1 else ' is'} running: threads waiting for each other beside "
        f"other jobs can slow training 20x; pass --threads {max(1, cores - busy)} "
        "if those jobs keep running"
    )


def running_processes(samples: int = 5, interval: float = 0.02) -> int | None:
    """Other processes running right now (Linux's /proc/loadavg, the median of ``samples``
    reads ``interval`` seconds apart, this one not counted), or ``None`` where unknown."""
    counts = []
    for i in range(samples):
        try:
            runnable = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        except (OSError, IndexError):
            return None
        counts.append(int(runnable) - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return max(0, statistics.median_low(counts))


def check_threads(threads: int) -> None:
    """``ValueError`` naming a ``--threads`` value that is not a thread count (0: one per core)."""
    if threads < 0:
        raise ValueError(f"threads must be an integer >= 0 (0: one per core), got {threads}")


def set_threads(threads: int) -> int:
    """Use ``threads`` CPU threads in torch (0: keep torch's default, one per core) and
    return the number in use; log a warning if other jobs are keeping the cores busy."""
    check_threads(threads)
    if threads:
        torch.set_num_threads(threads)
    in_use = torch.get_num_threads()
    busy = running_processes() if in_use > 1 else None  # one thread waits for no other
    warning = None if busy is None else oversubscription(in_use, busy, os.cpu_count() or 1)
    if warning:
        log.warning(warning)
    return in_use
