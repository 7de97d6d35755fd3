"""Fig. 2 of the paper: frozen bits per entry of one weight tensor, one panel per task end.

Works on the ``{tensor name: uint8 array}`` maps a run writes after each task (see
:mod:`blip_rl.infra.rundir`). Matplotlib is imported only when a figure is drawn, through its
object API (no pyplot, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOUR_MAP = "coolwarm"
"""Blue (no bit frozen) to red (all bits frozen), as the paper's Fig. 2."""
FIGURE_CONV = 3
"""The paper's Fig. 2 shows the third conv layer."""


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


def heatmap_figure(panels: Sequence[tuple[str, np.ndarray]], tensor: str, n_bits: int) -> Figure:
    """One panel per ``(label, frozen bits)`` of ``tensor``, one shared 0..``n_bits`` colour
    scale (blue to red) and one colour bar labelled "frozen bits"."""
    from matplotlib.figure import Figure

    grids = [weight_grid(bits) for _, bits in panels]
    rows, cols = grids[0].shape
    aspect = min(4.0, max(0.25, rows / cols))
    fig = Figure(figsize=(1.0 + 2.6 * len(panels), 0.8 + 2.6 * aspect), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (label, _), grid in zip(axes, panels, grids):
        image = ax.imshow(
            grid, cmap=COLOUR_MAP, vmin=0, vmax=n_bits, interpolation="nearest", aspect="auto"
        )
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes), label="frozen bits", shrink=0.9)
    fig.suptitle(f"{tensor} {tuple(panels[0][1].shape)}", fontsize=10)
    return fig
