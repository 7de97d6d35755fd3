"""Eq. 2 of the paper: uniform quantization of scaled values, and the straight-through estimator.

The quantized copy of every BLIP parameter is rebuilt after each update, with eager torch ops
(four in-place passes) or, after ``use_kernels("compiled")`` (``--kernels compiled``), with one
pass that torch.compile fuses (TorchInductor: C++ on a CPU, Triton on a GPU). Both apply the
same IEEE operations to each element (a division, a clamp, a round to even, a product), so they
give the same bits: tests/test_quant.py checks ties and the range limit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

KERNELS = ("eager", "compiled")
"""How the quantized copy is rebuilt (``--kernels``): see the module docstring."""
COMPILED_MIN_NUMEL = 1 << 18
"""Tensors smaller than this stay eager under compiled kernels: a compiled call's fixed cost
(about 45 us on this project's 2-core CPU) is more than it saves below 2^18 elements (measured,
one thread: 2^16 elements 66 us compiled, 44 us eager; 2^19: 283 us, 401 us; 1.44M: 606 us,
1,262 us)."""

_compiled: list[Callable[..., None]] = []
"""The compiled rebuild while ``use_kernels("compiled")`` is in force, else empty."""


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
    large = bool(_compiled) and param.numel() >= COMPILED_MIN_NUMEL  # eager: one check
    if large and param.is_contiguous() and out.is_contiguous():
        like = {"dtype": param.dtype, "device": param.device}
        _compiled[0](
            param.detach().view(-1),
            torch.tensor(step, **like),
            torch.tensor(limit, **like),
            out.view(-1),
        )
        return out
    torch.div(param, step, out=out)
    return out.clamp_(-limit, limit).round_().mul_(step)


def _rebuild(param: Tensor, step: Tensor, limit: Tensor, out: Tensor) -> None:
    """:func:`quantize_into`'s four passes as one expression, for torch.compile to fuse (1-D
    tensors; ``step`` and ``limit`` 0-d, so that one compiled kernel serves every layer)."""
    out.copy_(torch.round(torch.clamp(param / step, -limit, limit)) * step)


def use_kernels(kernels: str, device: torch.device) -> None:
    """Rebuild quantized copies with ``kernels`` (one of :data:`KERNELS`) from now on, in this
    process. "compiled" compiles the fused rebuild for ``device`` at once (a few seconds, then
    cached on disk by TorchInductor) and raises a one-line ``ValueError`` if torch.compile
    cannot run here (a CPU needs a C++ compiler; a GPU, Triton)."""
    if kernels not in KERNELS:
        raise ValueError(f"unknown kernels {kernels!r}; choose from: {', '.join(KERNELS)}")
    _compiled.clear()
    if kernels == "eager":
        return
    rebuild = torch.compile(_rebuild, dynamic=True, fullgraph=True)
    probe = torch.zeros(8, device=device)  # > 1 element: sizes 0 and 1 would be specialized
    try:
        with torch.no_grad():  # distinct tensors: the guards see whether arguments alias
            rebuild(probe, probe[0].clone(), probe[1].clone(), torch.empty_like(probe))
    except Exception as e:  # any compiler failure means "not here"
        reason = (str(e).strip().splitlines() or [""])[0][:200]
        raise ValueError(
            f"--kernels compiled: torch.compile does not work on {device} here "
            f"({type(e).__name__}: {reason}); use --kernels eager"
        ) from e
    _compiled.append(rebuild)


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
