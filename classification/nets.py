"""The paper's classification networks: BLIP layers shared across tasks, one float head per task."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from blip_rl.core.layers import BlipConv2d, BlipLinear


class MultiHeadNet(nn.Module):
    """A shared BLIP trunk and one ``nn.Linear`` head per task, added by :meth:`add_head`.

    ``forward(x, task)``: x float (B, C, H, W) -> logits (B, classes of ``task``).
    """

    def __init__(self, trunk: nn.Module, features: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.features = features
        self.heads = nn.ModuleList()

    def add_head(self, classes: int) -> nn.Linear:
        head = nn.Linear(self.features, classes, device=next(self.trunk.parameters()).device)
        self.heads.append(head)
        return head

    def forward(self, x: Tensor, task: int) -> Tensor:
        return self.heads[task](self.trunk(x))

    @torch.no_grad()
    def release_features(self, features: Tensor) -> None:
        """The heads so far (all of finished tasks) stop reading ``features`` (bool,
        (features,)): their weights from them become 0."""
        for head in self.heads:
            head.weight[:, features] = 0.0


def mlp(in_shape: tuple[int, int, int], hidden: int = 1200, bits: int = 20) -> MultiHeadNet:
    """The MNIST MLP: in -> hidden -> hidden (ReLU), BLIP layers with bound 6/sqrt(fan_in)."""
    c, h, w = in_shape
    trunk = nn.Sequential(
        nn.Flatten(),
        BlipLinear(c * h * w, hidden, bits=bits),
        nn.ReLU(),
        BlipLinear(hidden, hidden, bits=bits),
        nn.ReLU(),
    )
    return MultiHeadNet(trunk, hidden)


def alexnet(in_shape: tuple[int, int, int], bits: int = 20) -> MultiHeadNet:
    """The AlexNet-like net of HAT/BLIP for 32x32 inputs: three conv + pool blocks
    (64 k4, 128 k3, 256 k2; dropout 0.2, 0.2, 0.5), then FC 2048, FC 2048 (dropout 0.5)."""
    c, size, _ = in_shape
    blocks: list[nn.Module] = []
    channels = c
    for out, kernel, drop in ((64, size // 8, 0.2), (128, size // 10, 0.2), (256, 2, 0.5)):
        blocks += [
            BlipConv2d(channels, out, kernel, bits=bits),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(drop),
        ]
        channels = out
        size = (size - kernel + 1) // 2
    trunk = nn.Sequential(
        *blocks,
        nn.Flatten(),
        BlipLinear(channels * size * size, 2048, bits=bits),
        nn.ReLU(),
        nn.Dropout(0.5),
        BlipLinear(2048, 2048, bits=bits),
        nn.ReLU(),
        nn.Dropout(0.5),
    )
    return MultiHeadNet(trunk, 2048)


def build_net(kind: str, in_shape: tuple[int, int, int], bits: int) -> MultiHeadNet:
    if kind == "mlp":
        return mlp(in_shape, bits=bits)
    if kind == "alexnet":
        return alexnet(in_shape, bits=bits)
    raise ValueError(f"unknown net {kind!r}; choose from: mlp, alexnet")
