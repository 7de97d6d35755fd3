"""Eq. 2 of the paper: uniform quantization of scaled values, and the straight-through estimator."""

from __future__ import annotations

import torch
from torch import Tensor


def quantize(u: Tensor, bits: int | Tensor) -> Tensor:
    """Quantize scaled values ``u`` (in [-1, 1]) to ``bits`` bits (Eq. 2).

    ``Q(u, n) = round(2^n * clamp(u, -1 + 2^-(n+1), 1 - 2^-(n+1))) / 2^n``, rounding to nearest
    (ties to even), so ``Q(u, 0) = 0`` for every ``u``.

    Args:
        u: float tensor of any shape, scaled units.
        bits: number of bits ``n >= 0``, an int or an integer tensor broadcastable to ``u``
            (per-element bit counts, e.g. a uint8 ``frozen_bits`` buffer).

    Returns:
        A float tensor shaped like ``u`` whose entries are multiples of ``2^-n``.
    """
    if isinstance(bits, Tensor):
        scale = torch.exp2(bits.to(u.dtype))
    else:
        if bits < 0:
            raise ValueError(f"bits must be >= 0, got {bits}")
        scale = torch.tensor(2.0**bits, dtype=u.dtype, device=u.device)
    limit = 1.0 - 0.5 / scale
    return torch.round(scale * torch.clamp(u, -limit, limit)) / scale


@torch.no_grad()
def quantize_into(param: Tensor, bound: float, bits: int, out: Tensor) -> Tensor:
    """``bound * Q(param / bound, bits)`` written into ``out`` (shaped like ``param``).

    Bit-identical to ``quantize(param / bound, bits) * bound`` in four in-place passes, with
    no memory allocated (it runs after every optimizer step): scaling by a power of two is
    exact, so ``param / (bound 2^-n)`` equals ``(param / bound) 2^n`` and the last product
    rounds once either way. (``param * (2^n / bound)`` would not: it rounds ties at the range
    limit differently.)
    """
    step = bound * 2.0**-bits  # exact
    limit = 2.0**bits - 0.5  # the range limit 1 - 2^-(n+1), times 2^n
    torch.div(param, step, out=out)
    return out.clamp_(-limit, limit).round_().mul_(step)


class _StraightThrough(torch.autograd.Function):
    """Return ``quantized`` in the forward pass; pass the gradient unchanged to ``weight``."""

    @staticmethod
    def forward(ctx, weight: Tensor, quantized: Tensor) -> Tensor:  # noqa: ARG004
        return quantized

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: ARG004
        return grad, None


def straight_through(weight: Tensor, quantized: Tensor) -> Tensor:
    """``quantized`` in value, with ``d out / d weight = 1`` (the STE of Eq. 3).

    ``quantized`` must not require grad (it is a detached function of ``weight``).
    """
    if not torch.is_grad_enabled() or not weight.requires_grad:
        return quantized
    return _StraightThrough.apply(weight, quantized)
