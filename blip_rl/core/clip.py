"""Eq. 4: after every optimizer step, keep frozen bits from flipping."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from blip_rl.core.layers import BlipLayer, blip_layers, range_limit


def freeze_radius(frozen_bits: Tensor, bits: int, strict: bool = False) -> Tensor:
    """How far (scaled units) a parameter with S frozen bits may move from its center.

    Paper: 2^-S, which lets Q(u, S) move by one step of 2^-S; 0 where S = N, so a fully
    frozen parameter never changes. Strict: 2^-(S+1) - 2^-(N+1), which keeps Q(u, S) == c.

    Args:
        frozen_bits: uint8 S, any shape.
        bits: N.
        strict: use the strict radius.

    Returns:
        float32 tensor shaped like ``frozen_bits``.
    """
    s = frozen_bits.to(torch.float32)
    if strict:
        return torch.exp2(-(s + 1)) - 2.0 ** -(bits + 1)
    return torch.where(s >= bits, torch.zeros_like(s), torch.exp2(-s))


@torch.no_grad()
def clip_interval(
    center: Tensor, frozen_bits: Tensor, bound: float, bits: int, strict: bool = False
) -> tuple[Tensor, Tensor]:
    """Where Eq. 4 lets a parameter go, in its own units: ``(low, high)`` shaped like it.

    ``[c - r, c + r] * bound`` intersected with the quantization range ``+-(1 - 2^-(N+1))``.
    Constant while a task is learned, so the clip after each step can be one ``clamp_``.
    """
    radius = freeze_radius(frozen_bits, bits, strict)
    limit = range_limit(bits)
    low = (center - radius).clamp_(min=-limit).mul_(bound)
    high = (center + radius).clamp_(max=limit).mul_(bound)
    return low, high


@torch.no_grad()
def clip_(
    param: Tensor,
    center: Tensor,
    frozen_bits: Tensor,
    bound: float,
    bits: int,
    strict: bool = False,
) -> None:
    """Clamp ``param`` in place: u into [c - r, c + r], then into +-(1 - 2^-(N+1)) (Eq. 4).

    Args:
        param: float32 parameter in its own units (u = param / bound).
        center: float32 c, scaled units, shaped like ``param``.
        frozen_bits: uint8 S, shaped like ``param``.
        bound: the parameter's scale.
        bits: N.
        strict: see :func:`freeze_radius`.
    """
    param.clamp_(*clip_interval(center, frozen_bits, bound, bits, strict))


class BlipClip:
    """Eq. 4 on every BLIP parameter of ``model``, in place: call it, or :meth:`attach` it to an
    optimizer so it runs after every ``step()``.

    The interval of every parameter is constant while a task is learned, so it is cached (two
    float32 tensors per parameter, rebuilt when S or c change: a task end, a loaded state):
    the clip after each step is then one ``clamp_`` per tensor.

    Args:
        model: the module whose BLIP layers (found once, here) are clipped.
        strict: see :func:`freeze_radius`.
    """

    def __init__(self, model: nn.Module, strict: bool = False) -> None:
        self.strict = strict
        self.layers = [layer for _, layer in blip_layers(model)]
        self._intervals: dict[tuple[int, str], tuple[tuple[int, ...], Tensor, Tensor]] = {}

    def _interval(self, layer: BlipLayer, pname: str, bound: float) -> tuple[Tensor, Tensor]:
        center, bits = layer.center(pname), layer.frozen_bits(pname)
        key = (center.data_ptr(), center._version, bits.data_ptr(), bits._version)
        cached = self._intervals.get((id(layer), pname))
        if cached is None or cached[0] != key:
            low, high = clip_interval(center, bits, bound, layer.bits, self.strict)
            cached = (key, low, high)
            self._intervals[id(layer), pname] = cached
        return cached[1], cached[2]

    @torch.no_grad()
    def __call__(self) -> None:
        for layer in self.layers:
            for pname, param, bound in layer.blip_tensors():
                param.clamp_(*self._interval(layer, pname, bound))

    def attach(self, optimizer: Optimizer) -> RemovableHandle:
        """Clip after every ``optimizer.step()``; the handle removes the hook."""
        return optimizer.register_step_post_hook(lambda *_: self())
