"""BLIP's per-step work in the shipped code against the variants that could replace it, on a
real trunk's tensors: which measures faster, and whether it gives the same bits.

After every optimizer step BLIP clips each tensor (Eq. 4, one ``clamp_`` with cached bounds)
and rebuilds its quantized copy (Eq. 2, :func:`~blip_rl.core.quant.quantize_into` under
``--kernels``); every forward with gradients passes the copy through the straight-through
autograd Function. The variants:

- foreach: the clip and the rebuild of every tensor below the compiled size as multi-tensor
  ``torch._foreach_*`` ops (one call per operation for all of them) instead of a loop;
- fused: the clip and the rebuild of every tensor of the compiled size or more as one kernel
  that torch.compile generates (it reads each weight once instead of twice);
- detach: the straight-through copy as ``w + (q - w).detach()`` (native ops, no Python
  Function; equal to ``q`` up to the sign of zeros).

Each round times every variant once, in turn, each on its own copy of the same tensors (task 0
consolidated, so the clip bites); the lines give the medians and each variant's time over the
shipped code's.

    python benchmarks/step_variants.py [--trunk minatar|atari6|mlp] [--rounds R] [--kernels K]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import classify_overhead
import ppo_overhead
import torch
from timing import headline, median_seconds
from torch import Tensor

from blip_rl.core.clip import clip_interval
from blip_rl.core.layers import BlipLayer, blip_layers
from blip_rl.core.quant import (
    COMPILED_MIN_NUMEL,
    KERNELS,
    quantize_into,
    straight_through,
    use_kernels,
)
from blip_rl.infra.flags import Parser, positive_int

CALLS = 20
"""Calls per timing (a median of ``CALLS`` calls, per round)."""


@dataclass
class Tensors:
    """One trunk's BLIP tensors and what the per-step work reads and writes, as lists."""

    params: list[Tensor]
    lows: list[Tensor]
    highs: list[Tensor]
    bounds: list[float]
    bits: int
    outs: list[Tensor]  # the quantized copies

    @cached_property
    def steps(self) -> list[float]:
        """Each tensor's grid step, ``bound * 2^-N``."""
        return [bound * 2.0**-self.bits for bound in self.bounds]

    @property
    def limit(self) -> float:
        """The range limit ``1 - 2^-(N+1)`` in grid steps: ``2^N - 0.5``."""
        return 2.0**self.bits - 0.5

    @cached_property
    def split(self) -> tuple[Tensors, Tensors]:
        """The tensors below the compiled size, and the others (built once, outside the
        timings)."""
        small = [p.numel() < COMPILED_MIN_NUMEL for p in self.params]
        return self._pick(small), self._pick([not s for s in small])

    def _pick(self, keep: list[bool]) -> Tensors:
        def pick(xs: list) -> list:
            return [x for x, k in zip(xs, keep) if k]

        return Tensors(
            pick(self.params), pick(self.lows), pick(self.highs), pick(self.bounds), self.bits,
            pick(self.outs),
        )  # fmt: skip


def trunk_layers(trunk: str) -> list[BlipLayer]:
    """The BLIP layers of the trunk, one task consolidated (the overhead benchmarks' builds)."""
    if trunk == "mlp":
        model = classify_overhead.build("mlp")[0]
    else:
        model = ppo_overhead.build(trunk, blip=True, n_envs=1).policy
    return [layer for _, layer in blip_layers(model)]


def tensors_of(layers: list[BlipLayer], grad: bool = False) -> Tensors:
    """Copies of the layers' parameters moved by noise past their clip intervals (the same
    for every call: seed 0), with those intervals; with ``grad``, the parameters require grad
    and their quantized copies are built, else those are left empty."""
    gen = torch.Generator().manual_seed(0)
    params, lows, highs, bounds = [], [], [], []
    for layer in layers:
        for name, param, bound in layer.blip_tensors():
            center, frozen = layer.center(name), layer.frozen_bits(name)
            low, high = clip_interval(center, frozen, bound, layer.bits)
            noise = torch.randn(param.shape, generator=gen) * bound * 2.0**-8
            params.append(param.detach() + noise)
            lows.append(low)
            highs.append(high)
            bounds.append(bound)
    outs = [torch.empty_like(p) for p in params]
    t = Tensors(params, lows, highs, bounds, layers[0].bits, outs)
    if grad:
        with torch.no_grad():
            shipped(t)
        for param in params:
            param.requires_grad_()
    return t


def shipped(t: Tensors) -> None:
    """The code BLIP runs: ``clamp_`` then ``quantize_into`` on each tensor."""
    for param, low, high, bound, out in zip(t.params, t.lows, t.highs, t.bounds, t.outs):
        param.clamp_(low, high)
        quantize_into(param, bound, t.bits, out)


def foreach(t: Tensors) -> None:
    """The tensors below the compiled size in multi-tensor ops; the others as shipped."""
    small, large = t.split
    if small.params:
        torch._foreach_maximum_(small.params, small.lows)
        torch._foreach_minimum_(small.params, small.highs)
        torch._foreach_copy_(small.outs, small.params)
        torch._foreach_div_(small.outs, small.steps)
        torch._foreach_clamp_min_(small.outs, -small.limit)
        torch._foreach_clamp_max_(small.outs, small.limit)
        torch._foreach_round_(small.outs)
        torch._foreach_mul_(small.outs, small.steps)
    shipped(large)


def _clip_and_rebuild(
    param: Tensor, low: Tensor, high: Tensor, step: Tensor, limit: Tensor, out: Tensor
) -> None:
    clipped = torch.minimum(torch.maximum(param, low), high)
    param.copy_(clipped)
    out.copy_(torch.round(torch.clamp(clipped / step, -limit, limit)) * step)


def fused_variant() -> Callable[[Tensors], None]:
    """The tensors of the compiled size or more through one compiled kernel each (clip and
    rebuild in one pass); the others as shipped."""
    kernel = torch.compile(_clip_and_rebuild, dynamic=True, fullgraph=True)

    def fused(t: Tensors) -> None:
        small, large = t.split
        limit = torch.tensor(large.limit)
        for param, low, high, step, out in zip(
            large.params, large.lows, large.highs, large.steps, large.outs
        ):
            kernel(param, low, high, torch.tensor(step), limit, out)
        shipped(small)

    return fused


def ste_function(t: Tensors) -> None:
    """The shipped straight-through copy, forward and backward, for each tensor."""
    for param, out in zip(t.params, t.outs):
        straight_through(param, out).sum().backward()


def ste_detach(t: Tensors) -> None:
    """``w + (q - w).detach()``, forward and backward, for each tensor."""
    for param, out in zip(t.params, t.outs):
        (param + (out - param).detach()).sum().backward()


def bits_note(a: list[Tensor], b: list[Tensor]) -> str:
    """How two lists of float32 tensors differ: "same bits", "same values, K zeros of the
    other sign", or "K values differ"."""
    values = sum(int((x != y).sum()) for x, y in zip(a, b))
    bits = sum(int((x.view(torch.int32) != y.view(torch.int32)).sum()) for x, y in zip(a, b))
    if values:
        return f"{values} values differ"
    return f"same values, {bits} zeros of the other sign" if bits else "same bits"


Variants = dict[str, Callable[[Tensors], None]]


def medians(variants: Variants, runs: dict[str, Tensors], rounds: int) -> dict[str, float]:
    """Median seconds per call of each variant on its own tensors; each round times every
    variant once, in turn, so the machine's drift reaches them alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(median_seconds(lambda: fn(runs[name]), CALLS))  # noqa: B023
    return {name: statistics.median(ts) for name, ts in times.items()}


def compare(layers: list[BlipLayer], variants: Variants, rounds: int) -> dict[str, tuple]:
    """(median seconds per call, how its bits differ from the first variant's: the shipped
    code's) of each variant."""
    runs = {name: tensors_of(layers) for name in variants}
    first = runs[next(iter(variants))]
    return {
        name: (seconds, bits_note(runs[name].params + runs[name].outs, first.params + first.outs))
        for name, seconds in medians(variants, runs, rounds).items()
    }


def ste_compare(layers: list[BlipLayer], rounds: int) -> dict[str, tuple]:
    """:func:`compare` for the straight-through forms: the bits compared are the copies each
    passes forward."""
    variants = {"Function": ste_function, "detach": ste_detach}
    runs = {name: tensors_of(layers, grad=True) for name in variants}
    times = medians(variants, runs, rounds)
    t = runs["detach"]
    forward = [p + (q - p).detach() for p, q in zip(t.params, t.outs)]
    return {
        "Function": (times["Function"], "same bits"),
        "detach": (times["detach"], bits_note(forward, t.outs)),
    }


def report(what: str, results: dict[str, tuple]) -> float:
    """One line: the shipped code's median time and each variant's, with its ratio to the
    shipped one and how its bits differ; returns the best ratio."""
    names = list(results)
    base = results[names[0]][0]
    parts = [f"{names[0]} {base * 1e6:.0f} us"]
    for name in names[1:]:
        seconds, bits = results[name]
        parts.append(f"{name} {seconds * 1e6:.0f} us ({seconds / base:.3f}x, {bits})")
    print(f"{what}: {'; '.join(parts)}")
    return min(results[name][0] / base for name in names[1:])


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--trunk", choices=("minatar", "atari6", "mlp"), default="minatar")
    parser.add_argument("--rounds", type=positive_int, default=9, help="timed rounds (medians)")
    parser.add_argument("--kernels", choices=KERNELS, default="eager", help="BLIP's rebuild")
    args = parser.parse_args()
    torch.set_num_threads(1)
    use_kernels(args.kernels, torch.device("cpu"))
    layers = trunk_layers(args.trunk)
    sizes = [p.numel() for layer in layers for _, p, _ in layer.blip_tensors()]
    print(
        f"{args.trunk} trunk: {len(sizes)} BLIP tensors ({' + '.join(f'{n:,}' for n in sizes)} "
        f"weights), {args.kernels} kernels, 1 thread; medians of {args.rounds} rounds of "
        f"{CALLS} calls"
    )
    with torch.no_grad():
        step = compare(
            layers, {"shipped": shipped, "foreach": foreach, "fused": fused_variant()},
            args.rounds,
        )  # fmt: skip
    best = report("clip + rebuild, per optimizer step", step)
    report("straight-through copy, forward + backward", ste_compare(layers, args.rounds))
    headline("fastest variant / shipped code, clip + rebuild time", best, "<= 0.97")


if __name__ == "__main__":
    main()
