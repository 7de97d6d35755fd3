"""What every benchmark script shares: a median timer and the headline line it ends with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


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


def paired_rates(timers: Mapping[str, Callable[[], float]], pairs: int) -> dict[str, list[float]]:
    """``pairs`` rates from each of the two ``timers`` ("plain" and "blip", each timing one
    call and giving its rate), back to back: plain first in even pairs, BLIP first in odd
    ones, so each pair's ratio sees one machine load and drift cancels over pairs."""
    rates: dict[str, list[float]] = {"plain": [], "blip": []}
    for i in range(pairs):
        for name in ("plain", "blip") if i % 2 == 0 else ("blip", "plain"):
            rates[name].append(timers[name]())
    return rates


def report_pairs(
    contenders: str,
    what: str,
    unit: str,
    rates: dict[str, list[float]],
    detail: str,
    method: str = "BLIP",
) -> None:
    """The median rates of ``what`` (plain, ``method``: the "blip" timer's), every pair's
    method/plain ratio, and the headline, ``contenders`` (say "BLIP PPO / plain SB3 PPO"): the
    median ratio (target >= 0.97)."""
    plain, blip = rates["plain"], rates["blip"]
    ratios = sorted(b / p for p, b in zip(plain, blip))
    print(
        f"{what}: plain {statistics.median(plain):.1f} {unit}, {method} "
        f"{statistics.median(blip):.1f} {unit} ({detail}; medians of {len(ratios)}); ratio per "
        f"pair {ratios[0]:.3f} .. {ratios[-1]:.3f} ({', '.join(f'{r:.3f}' for r in ratios)})"
    )
    headline(f"{contenders} {unit} ({what}, median of {len(ratios)} pairs)",
             statistics.median(ratios), ">= 0.97")  # fmt: skip
