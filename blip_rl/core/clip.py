"""Eq. 4: after every optimizer step, keep frozen bits from flipping."""

from __future__ import annotations

import torch
from torch import Tensor

from blip_rl.core.layers import range_limit


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
