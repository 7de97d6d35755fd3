"""The paper's result figures, drawn from plain arrays: per-task score curves (Fig. 3), the
accumulated normalized reward (Fig. 4) and the accuracy matrix A[i][j] as a heat map; and
writing any figure to PNG, PDF or SVG.

Matplotlib is imported only when a figure is drawn, through its object API (no pyplot, no
display needed).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from blip_rl.core.metrics import mean_std
from blip_rl.infra.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGURE_FORMATS = ("png", "pdf", "svg")
LINE_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown")
"""One colour per method, in the order the methods are given (BLIP first: red, as the paper)."""


def figure_format(path: Path) -> str:
    """The file format named by ``path``'s extension; ``ValueError`` for another one."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FIGURE_FORMATS:
        raise ValueError(
            f"cannot write a figure to {str(path)!r}; end it in one of: "
            + ", ".join(f".{f}" for f in FIGURE_FORMATS)
        )
    return fmt


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """``fig`` encoded as ``fmt`` (one of :data:`FIGURE_FORMATS`) at 150 dpi."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=150)
    return buffer.getvalue()


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` atomically to ``path``, in the format its extension names."""
    atomic_write_bytes(path, figure_bytes(fig, figure_format(path)), checksum=False)


@dataclass(frozen=True)
class Curve:
    """One method's line over env steps: the mean of its runs and their standard deviation.

    Attributes:
        label: legend entry (the method).
        steps: (P,) global env steps.
        mean: (P,) mean over the runs that have a value at each step.
        std: (P,) sample standard deviation over those runs (0 where one has a value).
        runs: how many runs the curve averages.
    """

    label: str
    steps: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    runs: int


def mean_curve(label: str, series: Sequence[Mapping[int, float]]) -> Curve:
    """Average several runs' ``{env step: value}`` series on the union of their steps."""
    steps = np.array(sorted(set().union(*series)), dtype=np.int64)
    stats = np.array(
        [mean_std([s[int(step)] for s in series if step in s]) for step in steps], dtype=float
    ).reshape(-1, 2)
    return Curve(label, steps, stats[:, 0], stats[:, 1], len(series))


def _draw(ax: Axes, curve: Curve, colour: str) -> None:
    label = curve.label if curve.runs == 1 else f"{curve.label} ({curve.runs} runs)"
    ax.plot(curve.steps, curve.mean, color=colour, label=label, linewidth=1.4)
    if curve.runs > 1:
        ax.fill_between(
            curve.steps, curve.mean - curve.std, curve.mean + curve.std, color=colour, alpha=0.2
        )


def _mark_boundaries(ax: Axes, boundaries: Sequence[int]) -> None:
    for step in boundaries:
        ax.axvline(step, color="grey", linestyle="--", linewidth=0.8)


def task_scores_figure(
    tasks: Sequence[str], boundaries: Sequence[int], per_task: Sequence[Sequence[Curve]]
) -> Figure:
    """Fig. 3: one panel per task j, its score (raw return) from its start ``boundaries[j]`` to
    the end of the sequence ``boundaries[-1]``; later task boundaries dashed.

    Args:
        tasks: the T task names.
        boundaries: (T + 1,) env step at which each task starts, then the sequence's end.
        per_task: for each task, one :class:`Curve` per method (same method order throughout).
    """
    from matplotlib.figure import Figure

    cols = min(3, len(tasks))
    rows = -(-len(tasks) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for j, (ax, name, curves) in enumerate(zip(axes, tasks, per_task)):
        for curve, colour in zip(curves, LINE_COLOURS):
            _draw(ax, curve, colour)
        _mark_boundaries(ax, boundaries[j + 1 : -1])
        ax.set_xlim(boundaries[j], boundaries[-1])
        ax.set_title(name)
        ax.set_xlabel("env steps")
        ax.set_ylabel("score")
        ax.grid(alpha=0.3)
    for ax in axes[len(tasks) :]:
        ax.remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig


def accumulated_figure(curves: Sequence[Curve], boundaries: Sequence[int]) -> Figure:
    """Fig. 4: the sum of every task's normalized score (0..T) against env steps, one line per
    method; task boundaries (``boundaries``: (T + 1,) starts, then the end) dashed."""
    from matplotlib.figure import Figure

    n_tasks = len(boundaries) - 1
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    for curve, colour in zip(curves, LINE_COLOURS):
        _draw(ax, curve, colour)
    _mark_boundaries(ax, boundaries[1:-1])
    ax.set_xlim(boundaries[0], boundaries[-1])
    ax.set_ylim(0, n_tasks)
    ax.set_xlabel("env steps")
    ax.set_ylabel("accumulated normalized reward")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return fig


def matrix_mean(matrices: Sequence[Sequence[Sequence[float | None]]]) -> np.ndarray:
    """The element-wise mean of several A matrices, NaN where not evaluated."""
    stack = np.array(
        [[[np.nan if a is None else a for a in row] for row in m] for m in matrices], dtype=float
    )
    return stack.mean(axis=0)


def matrix_figure(matrix: np.ndarray, tasks: Sequence[str], title: str, vmax: float) -> Figure:
    """A[i][j] (row: after task i, column: task j; NaN where not evaluated) as a heat map on
    0..``vmax``, each cell labelled with its value."""
    from matplotlib.figure import Figure

    size = max(4.4, 1.6 + 0.75 * len(tasks))
    fig = Figure(figsize=(size + 1.6, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", vmin=0, vmax=vmax)
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            dark = value < 0.6 * vmax
            colour = "white" if dark else "black"
            label = f"{value:.1f}" if vmax > 1 else f"{value:.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_xlabel("evaluated on task")
    ax.set_ylabel("after learning task")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
