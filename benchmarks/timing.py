"""What every benchmark script shares: a median timer and the headline line it ends with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def headline(name: str, value: float, target: str) -> None:
    """The script's last line, ``name: X (target >= Y)``, as `make bench` collects them."""
    print(f"{name}: {value:.4g} (target {target})")
