"""Shared BLIP feature trunks for the RL policies (bounds use max(fan_in, fan_out), spec s.1)."""

from __future__ import annotations

from torch import nn

from blip_rl.layers import BlipConv2d, BlipLinear


def atari_trunk(in_channels: int = 4, bits: int = 20, features: int = 1024) -> nn.Sequential:
    """The paper's trunk for 84x84 frames: conv 32-8x8/4, 64-4x4/2, 128-3x3/1, FC ``features``.

    Input float (B, in_channels, 84, 84) scaled to [0, 1] -> (B, features), ReLU after each layer.
    """
    return nn.Sequential(
        BlipConv2d(in_channels, 32, 8, stride=4, bits=bits, fan="max"),
        nn.ReLU(),
        BlipConv2d(32, 64, 4, stride=2, bits=bits, fan="max"),
        nn.ReLU(),
        BlipConv2d(64, 128, 3, stride=1, bits=bits, fan="max"),
        nn.ReLU(),
        nn.Flatten(),
        BlipLinear(128 * 7 * 7, features, bits=bits, fan="max"),
        nn.ReLU(),
    )
