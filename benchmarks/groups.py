"""What the table scripts share: runs given as ``--group LABEL RUN...`` and the table of a
metric's mean ± SE [95% CI] over seeds per group, then every pair of groups' difference."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from blip_rl.core.metrics import estimate, pairwise_differences
from blip_rl.infra.tables import difference_lines, estimate_lines, estimate_markdown

SeedValues = Callable[[Path], Iterable[tuple[int, dict[str, float | None]]]]
"""A run folder -> (seed, {metric: value or None}) for each seed it holds."""


def add_group_argument(parser: argparse.ArgumentParser, runs: str) -> None:
    """``--group LABEL RUN...``, repeatable (``runs``: what the RUNs are), and
    ``--markdown``."""
    parser.add_argument(
        "--group", nargs="+", action="append", required=True, metavar=("LABEL", "RUN"),
        help=f"a label, then its {runs}",
    )  # fmt: skip
    parser.add_argument(
        "--markdown", action="store_true",
        help="print the groups as a Markdown table (for a README), the differences as a list",
    )  # fmt: skip


def group_table(
    groups: Sequence[Sequence[str]],
    columns: Sequence[str],
    seed_values: SeedValues,
    digits: int = 3,
    unit: str = "",
    markdown: bool = False,
) -> list[str]:
    """The lines of the table of ``groups`` (``[label, run, ...]`` each) over ``columns``:
    per group, each metric over its runs' seeds; then the pairwise differences (with
    ``markdown``, a Markdown table, then the differences as a list).

    A run that cannot be read (missing, or its settings do not match) exits with one line.
    """
    values: dict[str, dict[str, dict[int, float]]] = {c: {} for c in columns}
    for label, *runs in groups:
        for column in columns:
            values[column][label] = {}
        for folder in runs:
            try:
                seeds = list(seed_values(Path(folder)))
            except (OSError, ValueError) as err:  # one line naming the run, not a traceback
                raise SystemExit(f"error: {folder}: {err}") from None
            for seed, metrics in seeds:
                for column, value in metrics.items():
                    if value is not None:
                        values[column][label][seed] = value
    rows = [
        (label, {c: estimate(list(v[label].values())) if v[label] else None
                 for c, v in values.items()})
        for label, *_ in groups
    ]  # fmt: skip
    differences = {c: pairwise_differences(v) for c, v in values.items()}
    if not markdown:
        return estimate_lines(rows, columns, digits, unit) + difference_lines(differences, digits)
    table = estimate_markdown(rows, columns, digits, unit)
    return [*table, "", *difference_lines(differences, digits, item="- ")]
