"""Plain-text tables: a score matrix with named rows and columns, and metrics over seeds with
their errors and differences, as commands print them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from blip_rl.core.metrics import Difference, Estimate


def matrix_lines(
    columns: Sequence[str], rows: Sequence[tuple[str, Sequence[float | None]]], digits: int
) -> list[str]:
    """A header of ``columns``, then one line per ``(name, values)`` row: the name, then each
    value with ``digits`` decimals (blank for ``None``), in columns as wide as the widest
    column name plus one (and at least ``digits + 6`` characters)."""
    width = max(digits + 6, *(len(name) + 1 for name in columns))

    def cells(values: Sequence[float | None]) -> str:
        return "".join(f"{'' if a is None else f'{a:.{digits}f}':>{width}}" for a in values)

    header = " " * width + "".join(f"{name:>{width}}" for name in columns)
    return [header, *(f"{name:<{width}}{cells(values)}" for name, values in rows)]


def estimate_lines(
    rows: Sequence[tuple[str, Mapping[str, Estimate | None]]],
    metrics: Sequence[str],
    digits: int = 3,
    unit: str = "",
) -> list[str]:
    """A header of ``metrics`` (each followed by ``unit``), then one line per ``(label,
    {metric: estimate})`` row, each cell ``mean ± SE [95% CI]`` (the mean alone for one run,
    which has no spread; ``-`` without a value), ``n`` the runs of the row's first estimate."""
    cells = [[_cell(values.get(m), digits) for m in metrics] for _, values in rows]
    width = max([len(m + unit) for m in metrics] + [len(c) for row in cells for c in row]) + 2
    label = max([len("method"), *(len(name) for name, _ in rows)]) + 2
    lines = [f"{'':<{label}}{'n':>3}" + "".join(f"{m + unit:>{width}}" for m in metrics)]
    for (name, values), row in zip(rows, cells):
        lines.append(f"{name:<{label}}{_runs(values):>3}" + "".join(f"{c:>{width}}" for c in row))
    return lines


def estimate_markdown(
    rows: Sequence[tuple[str, Mapping[str, Estimate | None]]],
    metrics: Sequence[str],
    digits: int = 3,
    unit: str = "",
) -> list[str]:
    """The table of :func:`estimate_lines` as a Markdown table (for a README or a results
    page): ``| method | n | acc (%) | ...`` then one row per label, minus signs as ``−``."""
    lines = [
        "| " + " | ".join(["method", "n", *(m + unit for m in metrics)]) + " |",
        "|" + "---|" * (len(metrics) + 2),
    ]
    for name, values in rows:
        cells = [_cell(values.get(m), digits).replace("-", "−") for m in metrics]
        lines.append("| " + " | ".join([name, str(_runs(values)), *cells]) + " |")
    return lines


def _cell(e: Estimate | None, digits: int) -> str:
    if e is None:
        return "-"
    return e.text(digits) if e.n > 1 else f"{e.mean:.{digits}f}"


def _runs(values: Mapping[str, Estimate | None]) -> int:
    """The runs of a row: those of its first estimate."""
    return next((e.n for e in values.values() if e is not None), 0)


def difference_lines(
    by_metric: Mapping[str, Sequence[Difference]], digits: int = 3, item: str = "  "
) -> list[str]:
    """Each metric's pairwise differences, ``first - second: d ± SE [95% CI]``, marked
    ``significant`` where a t-test gives p < 0.05 (the p-value follows); a difference with one
    run on a side is its value alone, ``not tested (n = 1)``. Each pair's line starts with
    ``item`` (``"- "`` makes a Markdown list)."""
    lines = [
        "differences (95% bootstrap CI over seeds; paired where the seeds match; "
        "significant: t-test p < 0.05):"
    ]
    for metric, diffs in by_metric.items():
        for d in diffs:
            if d.estimate.n > 1:
                shown = d.estimate.text(digits, sign=True)
                verdict = "significant" if d.significant else "within the noise"
                verdict += " (p < 0.001)" if d.p_value < 0.001 else f" (p = {d.p_value:.3f})"
            else:
                shown, verdict = f"{d.estimate.mean:+.{digits}f}", "not tested (n = 1)"
            lines.append(f"{item}{metric:<28} {d.first} - {d.second}: {shown}  {verdict}")
    return lines
