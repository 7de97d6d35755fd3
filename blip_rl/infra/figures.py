"""The paper's result figures, drawn from plain arrays: per-task score curves (Fig. 3), the
accumulated normalized reward (Fig. 4) and the accuracy matrix A[i][j] as a heat map; and
writing any figure to PNG, PDF or SVG.

Every curve is a mean over runs with a band of one standard error and a marker at each
evaluation; its legend entry says how many runs it averages (``n = 3``). Matplotlib is
imported only when a figure is drawn, through its object API (no pyplot, no display needed).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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
"""One colour per group of runs, in the order the groups are given (BLIP first: red, as the
paper); the same group has the same colour in every figure of one ``blip-rl plot``."""
MARKERS = ("o", "s", "^", "D", "v", "P")
"""One marker per group, with its colour, so the lines stay apart in black and white."""
PAPER_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays text, as journals ask
    "svg.fonttype": "none",
}
"""Fonts that stay readable when a figure is printed at a column's width."""
SCORE_MARGIN = (0.05, 0.25)
"""Fig. 3's y range beyond the random (below) and reference (above) score, as shares of the
random-to-reference span: normalized -0.05 to 1.25, so a score above the reference stays in
view."""


@contextmanager
def paper_style() -> Iterator[None]:
    """Draw the figures made inside with :data:`PAPER_STYLE`."""
    import matplotlib

    with matplotlib.rc_context(PAPER_STYLE):
        yield


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
    fonts = logging.getLogger("fontTools")  # logs every glyph of a PDF's fonts at INFO
    level = fonts.level
    fonts.setLevel(logging.WARNING)
    try:
        with paper_style():
            fig.savefig(buffer, format=fmt, dpi=150)
    finally:
        fonts.setLevel(level)
    return buffer.getvalue()


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` atomically to ``path``, in the format its extension names."""
    atomic_write_bytes(path, figure_bytes(fig, figure_format(path)), checksum=False)


@dataclass(frozen=True)
class Curve:
    """One group's line over env steps: the mean of its runs and its standard error.

    Attributes:
        label: legend entry (the group).
        steps: (P,) global env steps of the evaluations.
        mean: (P,) mean over the runs that have a value at each step.
        se: (P,) its standard error: over those runs (sample std / sqrt(k)) where k >= 2 have
            a value, else the one run's own error over its evaluation episodes (NaN: unknown).
        runs: n, how many runs the curve averages.
    """

    label: str
    steps: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    runs: int


def mean_curve(label: str, series: Sequence[Mapping[int, tuple[float, float]]]) -> Curve:
    """Average several runs' ``{env step: (value, its episode SE)}`` series on the union of
    their steps (see :class:`Curve` for the error)."""
    steps = np.array(sorted(set().union(*series)), dtype=np.int64)
    mean, se = np.empty(len(steps)), np.empty(len(steps))
    for i, step in enumerate(steps):
        points = [s[int(step)] for s in series if step in s]
        if len(points) == 1:
            mean[i], se[i] = points[0]
        else:
            m, std = mean_std([value for value, _ in points])
            mean[i], se[i] = m, std / math.sqrt(len(points))
    return Curve(label, steps, mean, se, len(series))


def legend_label(curve: Curve) -> str:
    """``blip (n = 3)``: the group and how many runs its line averages."""
    return f"{curve.label} (n = {curve.runs})"


def band_note(curves: Sequence[Curve]) -> str:
    """What the bands of ``curves`` are: ±1 SE over seeds (n > 1), over one run's evaluation
    episodes (n = 1)."""
    over = []
    if any(c.runs > 1 for c in curves):
        over.append("seeds")
    if any(c.runs == 1 for c in curves):
        over.append("evaluation episodes (n = 1)" if over else "evaluation episodes")
    return "band: ±1 SE over " + ", over ".join(over)


def _draw(ax: Axes, curve: Curve, colour: str, marker: str) -> None:
    """``curve`` as a line with a marker at each evaluation and a band of ±1 SE."""
    ax.plot(
        curve.steps,
        curve.mean,
        color=colour,
        marker=marker,
        markersize=3.5,
        label=legend_label(curve),
        linewidth=1.4,
    )
    if curve.steps.size == 1:  # a band needs two points: an error bar instead
        ax.errorbar(curve.steps, curve.mean, yerr=curve.se, color=colour, capsize=3, fmt="none")
        return
    ax.fill_between(
        curve.steps,
        curve.mean - curve.se,
        curve.mean + curve.se,
        where=np.isfinite(curve.se),
        color=colour,
        alpha=0.2,
        linewidth=0,
    )


def _env_step_axis(ax: Axes) -> None:
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 500k, 1.5M
    ax.set_xlabel("env steps")


def _mark_boundaries(ax: Axes, boundaries: Sequence[int]) -> None:
    for step in boundaries:
        ax.axvline(step, color="grey", linestyle="--", linewidth=0.8)


def _step_limits(ax: Axes, start: int, end: int) -> None:
    """x from ``start`` to ``end`` env steps, 2% wider on each side: a marker at either end
    is drawn whole."""
    pad = 0.02 * (end - start)
    ax.set_xlim(start - pad, end + pad)


def score_limits(
    scores: tuple[float, float] | None, curves: Sequence[Curve]
) -> tuple[float, float] | None:
    """Fig. 3's y range for a game whose random and reference scores are ``scores``: the
    span between them widened by :data:`SCORE_MARGIN`, and further only as far as a curve or
    its band leaves it; ``None`` (autoscale) for a game without both scores."""
    if scores is None:
        return None
    random, reference = scores
    span = reference - random
    low, high = random - SCORE_MARGIN[0] * span, reference + SCORE_MARGIN[1] * span
    for curve in curves:
        drawn = np.concatenate([curve.mean, curve.mean - curve.se, curve.mean + curve.se])
        drawn = drawn[np.isfinite(drawn)]
        if drawn.size:
            low, high = min(low, float(drawn.min())), max(high, float(drawn.max()))
    return low, high


def _normalized_axis(ax: Axes, random: float, reference: float) -> None:
    """A right-hand axis of the normalized score (0: random, 1: reference), with dotted lines
    at both."""
    span = reference - random
    right = ax.secondary_yaxis(
        "right", functions=(lambda y: (y - random) / span, lambda z: random + z * span)
    )
    right.set_yticks([0, 0.5, 1])
    right.set_ylabel("normalized")
    for score in (random, reference):
        ax.axhline(score, color="black", linestyle=":", linewidth=0.8)


def task_scores_figure(
    tasks: Sequence[str],
    boundaries: Sequence[int],
    per_task: Sequence[Sequence[Curve]],
    scores: Sequence[tuple[float, float] | None],
) -> Figure:
    """Fig. 3: one panel per task j, its score (raw return) from its start ``boundaries[j]`` to
    the end of the sequence ``boundaries[-1]``; later task boundaries dashed.

    Each panel's y range is fixed by its game (:func:`score_limits`), not by the data, so
    evaluation noise is not drawn as a collapse; a right-hand axis reads the normalized score.

    Args:
        tasks: the T task names.
        boundaries: (T + 1,) env step at which each task starts, then the sequence's end.
        per_task: for each task, one :class:`Curve` per group (same group order throughout).
        scores: for each task, its game's (random, reference) raw score, or ``None``.
    """
    from matplotlib.figure import Figure

    with paper_style():
        cols = min(3, len(tasks))
        rows = -(-len(tasks) // cols)
        fig = Figure(figsize=(4.4 * cols, 3.1 * rows + 0.9), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).flatten()
        for j, (ax, name, curves, game) in enumerate(zip(axes, tasks, per_task, scores)):
            for curve, colour, marker in zip(curves, LINE_COLOURS, MARKERS):
                _draw(ax, curve, colour, marker)
            _mark_boundaries(ax, boundaries[j + 1 : -1])
            _step_limits(ax, boundaries[j], boundaries[-1])
            limits = score_limits(game, curves)
            if limits is not None and game is not None:
                ax.set_ylim(*limits)
                _normalized_axis(ax, *game)
            ax.set_title(name)
            _env_step_axis(ax)
            ax.set_ylabel("score (raw return)")
            ax.grid(alpha=0.3)
        for ax in axes[len(tasks) :]:
            ax.remove()
        handles, labels = axes[0].get_legend_handles_labels()
        note = band_note(per_task[0]) + "; dotted: random (0) and reference (1) score"
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 4), title=note
        )
    return fig


def accumulated_figure(curves: Sequence[Curve], boundaries: Sequence[int]) -> Figure:
    """Fig. 4: the sum of every task's normalized score (0..T) against env steps, one line per
    group; task boundaries (``boundaries``: (T + 1,) starts, then the end) dashed."""
    from matplotlib.figure import Figure

    with paper_style():
        n_tasks = len(boundaries) - 1
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
        for curve, colour, marker in zip(curves, LINE_COLOURS, MARKERS):
            _draw(ax, curve, colour, marker)
        _mark_boundaries(ax, boundaries[1:-1])
        _step_limits(ax, boundaries[0], boundaries[-1])
        ax.set_ylim(0, n_tasks)
        _env_step_axis(ax)
        ax.set_ylabel(f"accumulated normalized reward (0 to {n_tasks})")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", title=band_note(curves).replace(", over", ",\nover"))
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
    return matrices_figure([(matrix, title)], tasks, vmax)


def matrices_figure(
    panels: Sequence[tuple[np.ndarray, str]], tasks: Sequence[str], vmax: float
) -> Figure:
    """Several A matrices (each ``(matrix, title)``, see :func:`matrix_figure`) side by side
    on one colour scale 0..``vmax``."""
    from matplotlib.figure import Figure

    with paper_style():
        size = max(4.4, 1.6 + 0.75 * len(tasks))
        fig = Figure(figsize=(0.8 * size * len(panels) + 0.8, size), layout="compressed")
        axes = np.atleast_1d(fig.subplots(1, len(panels)))
        for ax, (matrix, title) in zip(axes, panels):
            image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", vmin=0, vmax=vmax)
            for (i, j), value in np.ndenumerate(matrix):
                if np.isfinite(value):
                    dark = value < 0.6 * vmax
                    colour = "white" if dark else "black"
                    label = f"{value:.1f}" if vmax > 1 else f"{value:.2f}"
                    ax.text(j, i, label, ha="center", va="center", fontsize=9, color=colour)
            ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
            ax.set_yticks(range(len(tasks)), tasks)
            ax.set_xlabel("evaluated on task")
            ax.set_title(title, fontsize=10)
        axes[0].set_ylabel("after learning task")
        fig.colorbar(image, ax=list(axes), shrink=0.8, fraction=0.1 / len(panels), pad=0.01)
    return fig
