"""Plain-text tables: a score matrix with named rows and columns, as commands print it."""

from __future__ import annotations

from collections.abc import Sequence


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
