"""Fig. 2 of the paper: frozen bits per entry of one weight tensor, one panel per task end.

Works on the ``{tensor name: uint8 array}`` maps a run writes after each task (see
:mod:`blip_rl.infra.rundir`). Frozen bits are counts 0..N, so the colour scale has N + 1
discrete levels with integer ticks. A tensor with more rows or columns than
:data:`MAX_CELLS` is shown at every k-th output (input) channel, and the axis says so.
Matplotlib is imported only when a figure is drawn, through its object API (no pyplot, no
display needed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from blip_rl.infra.figures import paper_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOUR_MAP = "coolwarm"
"""Blue (no bit frozen) to red (all bits frozen), as the paper's Fig. 2."""
FIGURE_CONV = 3
"""The paper's Fig. 2 shows the third conv layer."""
MAX_CELLS = 256
"""The most rows or columns a panel draws; a larger tensor is subsampled (every k-th output
or input channel, labelled), never squeezed into fewer pixels than it has entries."""


def weight_grid(bits: np.ndarray) -> np.ndarray:
    """A 2-D layout of a parameter tensor's entries.

    Conv weights (O, C, kh, kw) -> (O * kh, C * kw): band ``o`` of kh rows holds output
    channel o's C kernels side by side. Linear weights (O, I) stay as they are; a bias (O,)
    becomes one row (1, O).
    """
    if bits.ndim == 4:
        out_ch, in_ch, kh, kw = bits.shape
        return bits.transpose(0, 2, 1, 3).reshape(out_ch * kh, in_ch * kw)
    if bits.ndim in (1, 2):
        return np.atleast_2d(bits)
    raise ValueError(f"cannot lay out a tensor of shape {bits.shape} (want 1, 2 or 4 dims)")


def ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``22nd``."""
    suffix = "th" if k % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


@dataclass(frozen=True)
class Axis:
    """One axis of a panel: which channels (units) of the tensor it shows.

    Attributes:
        name: ``output channel``, ``input feature``, ...
        total: how many the tensor has.
        step: every ``step``-th is shown (1: all).
        block: grid cells per shown channel (a kernel's rows or columns; 1 otherwise).
    """

    name: str
    total: int
    step: int
    block: int

    @property
    def shown(self) -> int:
        return -(-self.total // self.step)

    @property
    def label(self) -> str:
        if self.step == 1:
            return self.name
        return f"{self.name} (every {ordinal(self.step)} of {self.total})"


@dataclass(frozen=True)
class TensorView:
    """What a panel draws of one tensor: ``grid`` (R, C) frozen bits and its two axes."""

    grid: np.ndarray
    rows: Axis
    cols: Axis


def _step(total: int, block: int) -> int:
    return max(1, math.ceil(total * block / MAX_CELLS))


def tensor_view(bits: np.ndarray) -> TensorView:
    """The panel layout of ``bits``: a conv weight (O, C, kh, kw) as O bands of kh rows, each
    holding that output channel's C kernels side by side (:func:`weight_grid`); a linear weight
    (O, I) as it is; a bias (O,) as one strip. Channels beyond :data:`MAX_CELLS` cells are
    subsampled (every k-th, whole kernels kept)."""
    if bits.ndim == 4:
        out_ch, in_ch, kh, kw = bits.shape
        rows = Axis("output channel", out_ch, _step(out_ch, kh), kh)
        cols = Axis("input channel", in_ch, _step(in_ch, kw), kw)
        return TensorView(weight_grid(bits[:: rows.step, :: cols.step]), rows, cols)
    if bits.ndim == 2:
        rows = Axis("output unit", bits.shape[0], _step(bits.shape[0], 1), 1)
        cols = Axis("input feature", bits.shape[1], _step(bits.shape[1], 1), 1)
        return TensorView(bits[:: rows.step, :: cols.step], rows, cols)
    if bits.ndim == 1:
        cols = Axis("output channel / unit", bits.shape[0], _step(bits.shape[0], 1), 1)
        return TensorView(bits[:: cols.step][None, :], Axis("", 1, 1, 1), cols)
    raise ValueError(f"cannot lay out a tensor of shape {bits.shape} (want 1, 2 or 4 dims)")


def default_tensor(shapes: Mapping[str, tuple[int, ...]]) -> str:
    """The tensor Fig. 2 shows: the third conv weight (the last conv weight of a trunk with
    fewer convs; the first weight if there is no conv). ``shapes`` keeps the network's order."""
    convs = [name for name, shape in shapes.items() if len(shape) == 4]
    if convs:
        return convs[min(FIGURE_CONV, len(convs)) - 1]
    weights = [name for name in shapes if name.endswith("weight")]
    if not weights:
        raise ValueError("no weight tensor to show")
    return weights[0]


def task_panels(
    tasks: Sequence[str], maps: Sequence[Mapping[str, np.ndarray]], tensor: str
) -> list[tuple[str, np.ndarray]]:
    """``(after <task>, frozen bits of tensor)`` for each bits map, one per finished task."""
    return [(f"after {name}", bits[tensor]) for name, bits in zip(tasks, maps)]


def colour_ticks(n_bits: int) -> list[int]:
    """Integer colour-bar ticks from 0 to ``n_bits``, at most 11 of them, ``n_bits`` last."""
    step = max(1, math.ceil(n_bits / 10))
    ticks = list(range(0, n_bits + 1, step))
    if ticks[-1] != n_bits:
        ticks = [*ticks[:-1], n_bits] if n_bits - ticks[-1] < step / 2 else [*ticks, n_bits]
    return ticks


NICE_STEPS = (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 512, 1000)


def _channel_ticks(axis: Axis, inches: float) -> tuple[list[float], list[str]]:
    """Tick positions (grid cells, at a channel's middle) and labels (its index in the
    tensor) at round indices, about two per inch."""
    wanted = axis.total / max(2.0, 2.5 * inches)
    fits = [e for e in NICE_STEPS if e >= wanted and e % axis.step == 0]
    every = fits[0] if fits else axis.step * math.ceil(wanted / axis.step)
    shown = range(0, axis.total, every)  # multiples of the step: channels drawn
    positions = [i // axis.step * axis.block + (axis.block - 1) / 2 for i in shown]
    return positions, [str(i) for i in shown]


def _separators(ax: Axes, view: TensorView) -> None:
    """Thin lines between output channels (and between input channels) of a conv weight."""
    for axis, draw in ((view.rows, ax.axhline), (view.cols, ax.axvline)):
        if axis.block > 1:
            for i in range(1, axis.shown):
                draw(i * axis.block - 0.5, color="black", linewidth=0.4, alpha=0.7)


def _panel_size(view: TensorView, n_panels: int) -> tuple[float, float]:
    """(width, height) of one panel, inches: cells about square, the figure at most 16 wide."""
    rows, cols = view.grid.shape
    height = min(3.8, max(2.2, 0.05 * rows))
    width = min(5.0, max(1.4, height * cols / rows))
    shrink = min(1.0, (16.0 - 1.6) / (n_panels * width))
    return width * shrink, height * shrink


def heatmap_figure(panels: Sequence[tuple[str, np.ndarray]], tensor: str, n_bits: int) -> Figure:
    """One panel per ``(label, frozen bits)`` of ``tensor`` (see :func:`tensor_view`), on one
    discrete blue (0) to red (``n_bits``) scale with integer ticks; each panel's title gives the
    mean frozen bits of the whole tensor. A bias is drawn as a strip per panel, one above the
    other."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    views = [tensor_view(bits) for _, bits in panels]
    shape = tuple(panels[0][1].shape)
    strip = panels[0][1].ndim == 1
    cmap = colormaps[COLOUR_MAP].resampled(n_bits + 1)
    with paper_style():
        if strip:
            width = 7.5
            fig = Figure(figsize=(width + 1.6, 1.3 + 0.75 * len(panels)), layout="constrained")
            axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
        else:
            width, height = _panel_size(views[0], len(panels))
            fig = Figure(figsize=(1.6 + width * len(panels), 1.3 + height), layout="constrained")
            axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (label, bits), view in zip(axes, panels, views):
            image = ax.imshow(
                view.grid,
                cmap=cmap,
                vmin=-0.5,
                vmax=n_bits + 0.5,
                interpolation="nearest",
                aspect="auto",
            )
            mean = f"mean {bits.mean():.1f} bits"
            ax.set_title(f"{label} ({mean})" if strip else f"{label}\n{mean}", fontsize=9)
            ax.set_xticks(*_channel_ticks(view.cols, width / 2 if strip else width))
            if strip:
                ax.set_yticks([])
            else:
                ax.set_yticks(*_channel_ticks(view.rows, height))
                _separators(ax, view)
            ax.tick_params(length=2)
        if strip:
            axes[-1].set_xlabel(views[0].cols.label)
        else:  # one x label under all panels: a panel is narrower than its label
            fig.supxlabel(views[0].cols.label, fontsize=10)
            axes[0].set_ylabel(views[0].rows.label)
        bar = fig.colorbar(
            image, ax=list(axes), label="frozen bits", shrink=0.9, ticks=colour_ticks(n_bits)
        )
        bar.ax.tick_params(length=2)
        what = f"frozen bits per {'bias' if strip else 'weight'}"
        if len(shape) == 4:
            what += f"; a block is one {shape[2]}x{shape[3]} kernel"
        fig.suptitle(f"{tensor} {shape}\n{what}", fontsize=10)
    return fig
