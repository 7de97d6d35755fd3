"""Feature trunks of the RL policies: BLIP layers with the authors' RL fan (bound 6/sqrt(fan),
fan = max(inputs per output, output features or channels)), or the same architecture in plain
float layers for baselines and benchmarks."""

from __future__ import annotations

from typing import Literal

from torch import nn

from blip_rl.core.layers import BlipConv2d, BlipLinear

TrunkName = Literal["atari", "minatar"]
TRUNKS: tuple[TrunkName, ...] = ("atari", "minatar")


def _layers(quantized: bool, bits: int) -> tuple[type[nn.Module], type[nn.Module], dict]:
    if quantized:
        return BlipConv2d, BlipLinear, {"bits": bits, "fan": "max"}
    return nn.Conv2d, nn.Linear, {}


def atari_trunk(
    in_channels: int = 4, bits: int = 20, width: int = 1, quantized: bool = True
) -> nn.Sequential:
    """The paper's trunk for 84x84 frames at ``width`` 1: conv 32-8x8/4, 64-4x4/2, 128-3x3/1,
    FC 1024, every layer ``width`` times as wide.

    Input float (B, in_channels, 84, 84) scaled to [0, 1] -> (B, 1024 * width), ReLU after
    each layer.
    """
    conv, linear, kw = _layers(quantized, bits)
    c1, c2, c3, features = 32 * width, 64 * width, 128 * width, 1024 * width
    return nn.Sequential(
        conv(in_channels, c1, 8, stride=4, **kw),
        nn.ReLU(),
        conv(c1, c2, 4, stride=2, **kw),
        nn.ReLU(),
        conv(c2, c3, 3, stride=1, **kw),
        nn.ReLU(),
        nn.Flatten(),
        linear(c3 * 7 * 7, features, **kw),
        nn.ReLU(),
    )


def minatar_trunk(
    in_channels: int = 10, bits: int = 20, width: int = 1, quantized: bool = True
) -> nn.Sequential:
    """A small trunk for MinAtar's 10x10 grids at ``width`` 1: conv 32-3x3/1, FC 256, every
    layer ``width`` times as wide.

    The MinAtar paper's network (conv 16-3x3/1, FC 128) doubled in width, so that several
    games have capacity to share. Input float (B, in_channels, 10, 10) of 0/1 ->
    (B, 256 * width).
    """
    conv, linear, kw = _layers(quantized, bits)
    channels, features = 32 * width, 256 * width
    return nn.Sequential(
        conv(in_channels, channels, 3, stride=1, **kw),
        nn.ReLU(),
        nn.Flatten(),
        linear(channels * 8 * 8, features, **kw),
        nn.ReLU(),
    )
