"""How much of a BLIP network's capacity is used: the per-layer numbers a task-end report
carries (see :class:`blip_rl.core.consolidate.LayerReport`, as a dict), totalled and tabulated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

LayerRows = Sequence[dict[str, Any]]
"""A BLIP task-end report's ``layers``: one :class:`LayerReport` dict per BLIP layer."""

COLUMNS = ("params", "bits added", "mean frozen", "bits free", "fully frozen", "reach", "movable")


def percent(share: float | None) -> str:
    """``3.9%``, ``1.0%``, ``0.016%``, ``<0.001%`` (two significant digits), ``1600%``; ``-``
    for ``None`` (a report written before the field existed, or the ``all`` row of a
    per-layer median)."""
    if share is None:
        return "-"
    value = 100 * share
    if 0 < value < 1e-3:
        return "<0.001%"
    return f"{value:.0f}%" if value >= 10 else f"{value:#.2g}%"


def total(layers: LayerRows) -> dict[str, Any]:
    """The parameter-weighted totals of ``layers`` as one row named ``all`` (the movable
    share only where every layer has it: reports written before it have not)."""
    params = sum(r["params"] for r in layers)

    def mean(key: str) -> float:
        return sum(r[key] * r["params"] for r in layers) / params

    row = {
        "layer": "all",
        "params": params,
        "bits_added_mean": mean("bits_added_mean"),
        "frozen_mean": mean("frozen_mean"),
        "fully_frozen_share": mean("fully_frozen_share"),
        "free_bit_share": mean("free_bit_share"),
    }
    if all("movable_share" in r for r in layers):
        row["movable_share"] = mean("movable_share")
    return row


def frozen_fraction(report: dict[str, Any]) -> float | None:
    """Share of all BLIP bits frozen, from a task-end report (``None`` for a method that
    freezes nothing)."""
    layers = report.get("layers")
    return 1.0 - total(layers)["free_bit_share"] if layers else None


def one_line(report: dict[str, Any]) -> str:
    """``+1.20 frozen bits per weight (mean 3.45, 83% of bits free)``; '' without layers."""
    layers = report.get("layers")
    if not layers:
        return ""
    row = total(layers)
    return (
        f"+{row['bits_added_mean']:.2f} frozen bits per weight (mean {row['frozen_mean']:.2f}, "
        f"{100 * row['free_bit_share']:.0f}% of bits free)"
    )


def capacity_table(reports: Sequence[dict[str, Any]], task_names: Sequence[str]) -> str:
    """For each task end, one row per BLIP layer and a total: parameters, mean bits frozen by
    that task, mean frozen bits, share of bits still free, share of parameters with every bit
    frozen, the reach (how far the median weight may still move, as a share of the layer's
    RMS weight; a median, so the total row has none) and the movable share (of weights that
    may still move by the RMS weight): see :func:`~blip_rl.core.consolidate.weight_room`.
    '' when the reports carry no layers (not a BLIP run)."""
    if not reports or not all(r.get("layers") for r in reports):
        return ""
    label = max(len("layer"), *(len(r["layer"]) for r in reports[0]["layers"])) + 2
    header = f"  {'layer':<{label}}" + "".join(f"{c:>14}" for c in COLUMNS)
    lines = ["BLIP capacity: frozen bits per parameter, by layer, after each task"]
    for name, report in zip(task_names, reports):
        lines += [f"after {name}", header]
        for row in [*report["layers"], total(report["layers"])]:
            lines.append(
                f"  {row['layer']:<{label}}{row['params']:>14,}"
                f"{row['bits_added_mean']:>14.2f}{row['frozen_mean']:>14.2f}"
                f"{100 * row['free_bit_share']:>13.1f}%{100 * row['fully_frozen_share']:>13.1f}%"
                f"{percent(row.get('reach_median')):>14}{percent(row.get('movable_share')):>14}"
            )
    return "\n".join(lines)
