"""Feature trunks of the RL policies: BLIP layers with the authors' RL fan (bound 6/sqrt(fan),
fan = max(inputs per output, output features or channels)), or the same architecture in plain
float layers for baselines and benchmarks; optionally with a per-task input stem (images only)
and a per-task scale and shift (FiLM) after every layer. CNNs for image observations, an MLP
for vector ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from torch import nn

from blip_rl.agents.tasks import TaskFiLM, TaskStem
from blip_rl.core.layers import BlipConv2d, BlipLinear

TrunkName = Literal["atari", "minatar"]
TRUNKS: tuple[TrunkName, ...] = ("atari", "minatar")


@dataclass(frozen=True)
class TrunkSpec:
    """How a trunk is built besides its shape.

    Attributes:
        bits: N, bits per quantized parameter.
        width: multiplier of every layer's width.
        quantized: BLIP layers (True) or plain float layers of the same shape.
        n_tasks: copies of the per-task parts.
        stem: a per-task float 1x1 conv in front of the shared layers.
        film: a per-task scale and shift after every shared layer.
    """

    bits: int = 20
    width: int = 1
    quantized: bool = True
    n_tasks: int = 1
    stem: bool = False
    film: bool = False

    def layers(self) -> tuple[type[nn.Module], type[nn.Module], dict]:
        """The conv and linear classes and their keyword arguments."""
        if self.quantized:
            return BlipConv2d, BlipLinear, {"bits": self.bits, "fan": "max"}
        return nn.Conv2d, nn.Linear, {}

    def assemble(self, in_channels: int, parts: list[tuple[nn.Module, int]]) -> nn.Sequential:
        """``parts`` (a shared layer and its output channels, or ``(nn.Flatten(), 0)``) with
        ReLUs, the stem in front and FiLM after each layer, as asked for."""
        modules: list[nn.Module] = [TaskStem(self.n_tasks, in_channels)] if self.stem else []
        for layer, channels in parts:
            modules.append(layer)
            if channels:
                modules += [TaskFiLM(self.n_tasks, channels)] if self.film else []
                modules.append(nn.ReLU())
        return nn.Sequential(*modules)


def atari_trunk(in_channels: int = 4, spec: TrunkSpec = TrunkSpec()) -> nn.Sequential:
    """The paper's trunk for 84x84 frames at width 1: conv 32-8x8/4, 64-4x4/2, 128-3x3/1,
    FC 1024, every layer ``spec.width`` times as wide.

    Input float (B, in_channels, 84, 84) scaled to [0, 1] -> (B, 1024 * width), ReLU after
    each layer.
    """
    conv, linear, kw = spec.layers()
    w = spec.width
    c1, c2, c3, features = 32 * w, 64 * w, 128 * w, 1024 * w
    return spec.assemble(
        in_channels,
        [
            (conv(in_channels, c1, 8, stride=4, **kw), c1),
            (conv(c1, c2, 4, stride=2, **kw), c2),
            (conv(c2, c3, 3, stride=1, **kw), c3),
            (nn.Flatten(), 0),
            (linear(c3 * 7 * 7, features, **kw), features),
        ],
    )


def minatar_trunk(in_channels: int = 10, spec: TrunkSpec = TrunkSpec()) -> nn.Sequential:
    """A small trunk for MinAtar's 10x10 grids at width 1: conv 32-3x3/1, FC 256, every layer
    ``spec.width`` times as wide.

    The MinAtar paper's network (conv 16-3x3/1, FC 128) doubled in width, so that several
    games have capacity to share. Input float (B, in_channels, 10, 10) of 0/1 ->
    (B, 256 * width).
    """
    conv, linear, kw = spec.layers()
    channels, features = 32 * spec.width, 256 * spec.width
    return spec.assemble(
        in_channels,
        [
            (conv(in_channels, channels, 3, stride=1, **kw), channels),
            (nn.Flatten(), 0),
            (linear(channels * 8 * 8, features, **kw), features),
        ],
    )


MLP_WIDTHS = (64, 64)
"""Hidden widths of the MLP trunk by default: those of SB3's ``MlpPolicy``."""


def mlp_trunk(
    in_features: int, widths: Sequence[int] = MLP_WIDTHS, spec: TrunkSpec = TrunkSpec()
) -> nn.Sequential:
    """A trunk for vector observations: one linear layer per entry of ``widths``, each
    ``spec.width`` times as wide, ReLU after each.

    Input float (B, in_features) -> (B, widths[-1] * width).
    """
    if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"MLP trunk widths must be a non-empty list of ints >= 1, got {widths!r}")
    if spec.stem:
        raise ValueError("a per-task stem (a 1x1 conv) needs image observations, not vectors")
    _, linear, kw = spec.layers()
    sizes = [in_features] + [w * spec.width for w in widths]
    return spec.assemble(
        in_features, [(linear(a, b, **kw), b) for a, b in zip(sizes[:-1], sizes[1:])]
    )
