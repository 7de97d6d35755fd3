"""Feature trunks of the RL policies: BLIP layers (bounds from max(fan_in, fan_out), spec s.1),
or the same architecture in plain float layers for baselines and benchmarks."""

from __future__ import annotations

from typing import Literal

from torch import nn

from blip_rl.layers import BlipConv2d, BlipLinear

TrunkName = Literal["atari", "minatar"]
TRUNKS: tuple[TrunkName, ...] = ("atari", "minatar")


def _layers(quantized: bool, bits: int) -> tuple[type[nn.Module], type[nn.Module], dict]:
    if quantized:
        return BlipConv2d, BlipLinear, {"bits": bits, "fan": "max"}
    return nn.Conv2d, nn.Linear, {}


def atari_trunk(
    in_channels: int = 4, bits: int = 20, features: int = 1024, quantized: bool = True
) -> nn.Sequential:
    """The paper's trunk for 84x84 frames: conv 32-8x8/4, 64-4x4/2, 128-3x3/1, FC ``features``.

    Input float (B, in_channels, 84, 84) scaled to [0, 1] -> (B, features), ReLU after each layer.
    """
    conv, linear, kw = _layers(quantized, bits)
    return nn.Sequential(
        conv(in_channels, 32, 8, stride=4, **kw),
        nn.ReLU(),
        conv(32, 64, 4, stride=2, **kw),
        nn.ReLU(),
        conv(64, 128, 3, stride=1, **kw),
        nn.ReLU(),
        nn.Flatten(),
        linear(128 * 7 * 7, features, **kw),
        nn.ReLU(),
    )


def minatar_trunk(
    in_channels: int = 10, bits: int = 20, features: int = 256, quantized: bool = True
) -> nn.Sequential:
    """A small trunk for MinAtar's 10x10 grids: conv 32-3x3/1, FC ``features``.

    The MinAtar paper's network (conv 16-3x3/1, FC 128) doubled in width, so that five games
    have capacity to share. Input float (B, in_channels, 10, 10) of 0/1 -> (B, features).
    """
    conv, linear, kw = _layers(quantized, bits)
    return nn.Sequential(
        conv(in_channels, 32, 3, stride=1, **kw),
        nn.ReLU(),
        nn.Flatten(),
        linear(32 * 8 * 8, features, **kw),
        nn.ReLU(),
    )
