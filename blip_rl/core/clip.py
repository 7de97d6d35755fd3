"""Eq. 4: after every optimizer step, keep frozen bits from flipping."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from blip_rl.core.layers import blip_layers, range_limit


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
    the clip after each step is then two multi-tensor passes over all parameters at once,
    ``max(p, low)`` then ``min(p, high)``, which is ``clamp_(low, high)`` bit for bit.

    Args:
        model: the module whose BLIP layers (found once, here) are clipped.
        strict: see :func:`freeze_radius`.
    """

    def __init__(self, model: nn.Module, strict: bool = False) -> None:
        self.strict = strict
        self.tensors = [
            (layer, pname, bound)
            for _, layer in blip_layers(model)
            for pname, _, bound in layer.blip_tensors()
        ]
        self._key: list[tuple[int, ...]] = []
        self._lows: list[Tensor] = []
        self._highs: list[Tensor] = []

    def _state_key(self) -> list[tuple[int, ...]]:
        """Where each parameter's S and c live and their versions: changes when either does."""
        return [
            (c.data_ptr(), c._version, s.data_ptr(), s._version)
            for c, s in ((layer.center(n), layer.frozen_bits(n)) for layer, n, _ in self.tensors)
        ]

    def _intervals(self) -> tuple[list[Tensor], list[Tensor]]:
        key = self._state_key()
        if key != self._key:
            intervals = [
                clip_interval(layer.center(n), layer.frozen_bits(n), bound, layer.bits, self.strict)
                for layer, n, bound in self.tensors
            ]
            self._lows = [low for low, _ in intervals]
            self._highs = [high for _, high in intervals]
            self._key = key
        return self._lows, self._highs

    @torch.no_grad()
    def __call__(self) -> None:
        if not self.tensors:
            return
        lows, highs = self._intervals()
        params = [getattr(layer, n) for layer, n, _ in self.tensors]  # as they are now
        torch._foreach_maximum_(params, lows)
        torch._foreach_minimum_(params, highs)

    def attach(self, optimizer: Optimizer) -> RemovableHandle:
        """Clip after every ``optimizer.step()``; the handle removes the hook."""
        return optimizer.register_step_post_hook(lambda *_: self())
