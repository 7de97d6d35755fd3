"""End of a task: information gain (Eq. 8) -> frozen bits, new centers, running Fisher (Eq. 7)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from blip_rl.core.clip import clip_, freeze_radius
from blip_rl.core.layers import BlipLayer
from blip_rl.core.quant import quantize

IgForm = Literal["paper", "authors"]
IG_FORMS: tuple[IgForm, ...] = ("paper", "authors")


def information_gain(
    fisher_old: Tensor, fisher_new: Tensor, t: int, form: IgForm = "paper"
) -> Tensor:
    """The information gain of task t, in bits, elementwise.

    ``paper`` (Eq. 8): ``1/2 log2((t F_{0:t-1} + F_t) / (t F_{0:t-1}))``, >= 0, and > 0 (so at
    least one new bit after the ceil) wherever F_t > 0. ``authors`` (their code's
    ``update_bits``): ``1/2 log2((t F_{0:t-1} + F_t) / ((t + 1) F_{0:t-1}))``, Eq. 8 less
    ``1/2 log2((t + 1) / t)`` (half a bit at t = 1), negative (0 new bits) where
    F_t < F_{0:t-1}.

    Args:
        fisher_old: F_{0:t-1} (> 0; F_{0:0} is the prior).
        fisher_new: F_t (>= 0), same shape.
        t: 1-based index of the task just learned.
        form: ``paper`` or ``authors``.
    """
    if t < 1:
        raise ValueError(f"t is the 1-based index of the task just learned, got {t}")
    if form not in IG_FORMS:
        raise ValueError(f"unknown information gain form {form!r}; choose from: paper, authors")
    gain = 0.5 * torch.log1p(fisher_new / (t * fisher_old)) / math.log(2.0)
    return gain if form == "paper" else gain - 0.5 * math.log2((t + 1) / t)


CAP_MARGIN = 1e-6
"""Below any real fraction of a bit count (shares times at most 32 bits)."""
BUDGET_SEARCH_STEPS = 40
"""Bisection steps for the budget's offset k: its error is max(IG) / 2^40, far below a bit."""


def bits_to_freeze(
    gain: Tensor,
    frozen_bits: Tensor,
    bits: int,
    budget: float | None = None,
    cap: float | None = None,
    live: Tensor | None = None,
) -> Tensor:
    """New bits n_t = clamp(ceil(IG - k), 0, N - S), uint8, shaped like ``gain``.

    A ``cap`` lowers each weight's upper bound N - S to ceil(cap * (N - S)): no weight
    freezes more than that share of its own free bits in one task, however informative it is.

    Without a ``budget`` k = 0 (the paper). With one, k >= 0 is the smallest offset, in bits,
    for which sum(n_t) <= budget * sum(N - S): the tensor freezes at most that share of its
    still-free bits. Lowering every IG by k bits is the same as a 4^k times larger prior F_0 for
    this tensor and task (where F_t >> F_0), so the most informative weights keep their bits.
    With a ``live`` mask (bool, like ``gain``: the weights the task used, F_t > 0), the budget
    is a share of the live weights' free bits only: dead weights get no bits anyway (their IG
    is <= 0), and counting them would let the live ones take more than the share.
    """
    free = bits - frozen_bits.to(torch.int16)
    room = free
    if cap is not None:
        if not 0 < cap <= 1:
            raise ValueError(f"bit cap must be a share in (0, 1], got {cap}")
        # ceil, less a rounding margin: 0.3 * 20 is 6.000000000000001 in floating point.
        room = torch.ceil(free.double() * cap - CAP_MARGIN).to(torch.int16)

    def new_bits(offset: float) -> Tensor:
        n_new = torch.ceil(gain - offset).clamp(min=0).to(torch.int16)
        return torch.minimum(n_new, room)

    n_new = new_bits(0.0)
    if budget is None:
        return n_new.to(torch.uint8)
    if not 0 <= budget <= 1:
        raise ValueError(f"bit budget must be a share in [0, 1], got {budget}")
    allowed = budget * float((free if live is None else free[live]).sum())
    if float(n_new.sum()) <= allowed:
        return n_new.to(torch.uint8)
    low, high = 0.0, float(gain.max())  # new_bits(high) is all zeros: always within budget
    for _ in range(BUDGET_SEARCH_STEPS):
        middle = 0.5 * (low + high)
        if float(new_bits(middle).sum()) <= allowed:
            high = middle
        else:
            low = middle
    return new_bits(high).to(torch.uint8)


def running_fisher(fisher_old: Tensor, fisher_new: Tensor, t: int) -> Tensor:
    """Eq. 7: F_{0:t} = (t F_{0:t-1} + F_t) / (t + 1)."""
    return (t * fisher_old + fisher_new) / (t + 1)


@dataclass(frozen=True)
class LayerReport:
    """What one consolidation did to one BLIP layer (weight and bias together)."""

    layer: str
    params: int
    bits_added_mean: float
    frozen_mean: float
    frozen_min: int
    frozen_max: int
    fully_frozen_share: float  # parameters with S = N
    free_bit_share: float  # sum(N - S) / (N * params)
    reach_median: float  # weights only: median Eq. 4 radius / RMS weight (see weight_room)
    movable_share: float  # weights only: share whose radius is >= the RMS weight
    snap_kl: float  # nats: what the snap cost the task just learned (see snap_cost)


def snap_cost(fisher: Tensor, shift: Tensor) -> float:
    """The snap's cost to the task just learned, in nats: ``1/2 sum(F_t shift^2)``, the
    second-order (diagonal Fisher) estimate of the mean KL divergence between the network's
    outputs before and after every weight moves by ``shift``.

    A weight the task did not use (F_t = 0) costs nothing however far it moves, so a snap that
    zeroes dead weights is free and one that rounds used weights to a coarse S-bit centre is not.

    Args:
        fisher: F_t, the per-sample mean squared gradient of the log-likelihood, in
            1/(parameter unit)^2.
        shift: the snap's move ``c * bound - w``, like ``fisher``, in parameter units.
    """
    return 0.5 * float((fisher.double() * shift.double().pow(2)).sum())


def weight_room(
    weight: Tensor, frozen_bits: Tensor, bound: float, bits: int, strict: bool
) -> tuple[float, float]:
    """How much the weights may still move under Eq. 4, against the tensor's RMS weight
    sqrt(mean(w^2)): ``(reach, movable)``. Frozen bits say how much of each code is fixed; this
    says whether what is left can still change the layer: S frozen bits leave a radius of
    2^-S * bound, and bound = 6 / sqrt(fan) is several times the RMS weight.

    - reach: the median radius * bound / RMS (0 once more than half are fully frozen);
    - movable: the share of weights whose radius * bound is at least the RMS weight, i.e.
      that may still move by a typical weight (a median hides a split into weights with no
      frozen bit and weights with many; this share shows it).
    Both are 0 if every weight is 0.

    Args:
        weight: the weight tensor, any shape, in its own units.
        frozen_bits: uint8 S, shaped like ``weight``.
        bound: the weight's scale.
        bits: N.
        strict: the clip's radius (see :func:`~blip_rl.core.clip.freeze_radius`).
    """
    rms = float(weight.float().pow(2).mean().sqrt())
    if rms == 0.0:
        return 0.0, 0.0
    room = freeze_radius(frozen_bits, bits, strict) * (bound / rms)
    return float(room.median()), float((room >= 1.0).float().mean())


@torch.no_grad()
def consolidate_layer(
    name: str,
    layer: BlipLayer,
    fisher_new: dict[str, Tensor],
    snap: bool,
    strict: bool,
    budget: float | None = None,
    cap: float | None = None,
    ig: IgForm = "paper",
    budget_over_live: bool = False,
) -> LayerReport:
    """Spec s.4 steps 2-6 for one layer, given F_t for its parameters (step 1); ``budget``
    caps each tensor's new bits, ``cap`` each weight's (see :func:`bits_to_freeze`); ``ig`` is
    the form of the information gain (see :func:`information_gain`).

    In order: IG from the running Fisher, S += n_t, c = Q(u, new S), snap u <- c (then the
    clip, which only moves u where |c| exceeds the range limit), running Fisher update,
    ``tasks_seen`` += 1. The report's ``snap_kl`` is the snap's :func:`snap_cost` (0 without
    the snap).
    """
    t = int(layer.tasks_seen) + 1
    added, frozen = [], []
    kl = 0.0
    for pname, param, bound in layer.blip_tensors():
        state_s, center, fisher = layer.frozen_bits(pname), layer.center(pname), layer.fisher(pname)
        gain = information_gain(fisher, fisher_new[pname], t, ig)
        live = fisher_new[pname] > 0 if budget_over_live else None
        new_bits = bits_to_freeze(gain, state_s, layer.bits, budget, cap, live)
        state_s += new_bits
        center.copy_(quantize(param / bound, state_s))
        if snap:
            snapped = center * bound
            kl += snap_cost(fisher_new[pname], snapped - param)
            param.copy_(snapped)
        clip_(param, center, state_s, bound, layer.bits, strict)
        fisher.copy_(running_fisher(fisher, fisher_new[pname], t))
        added.append(new_bits.flatten())
        frozen.append(state_s.flatten())
    layer.tasks_seen.fill_(t)
    reach, movable = weight_room(
        layer.weight, layer.frozen_bits("weight"), layer.bound, layer.bits, strict
    )
    n_added = torch.cat(added).float()
    s = torch.cat(frozen)
    return LayerReport(
        layer=name,
        params=s.numel(),
        bits_added_mean=float(n_added.mean()),
        frozen_mean=float(s.float().mean()),
        frozen_min=int(s.min()),
        frozen_max=int(s.max()),
        fully_frozen_share=float((s == layer.bits).float().mean()),
        free_bit_share=float((layer.bits - s.float()).sum() / (layer.bits * s.numel())),
        reach_median=reach,
        movable_share=movable,
        snap_kl=kl,
    )


def units_to_release(mass: Tensor, share: float) -> Tensor:
    """The units (bool, like ``mass``) that together hold at most ``share`` of the total
    Fisher ``mass`` (one value per unit), the lightest first."""
    order = torch.argsort(mass)
    within = torch.cumsum(mass[order], 0) <= share * mass.sum()
    released = torch.zeros_like(mass, dtype=torch.bool)
    released[order[within]] = True
    return released


@torch.no_grad()
def release_units(layer: BlipLayer, share: float, prior: float) -> Tensor:
    """Give back the output units of ``layer`` (a Linear's features, a conv's channels) that
    hold at most ``share`` of its running Fisher mass: their incoming weights and bias get no
    frozen bits, centre 0, the prior Fisher ``prior * fan`` and a fresh init (orthogonal, gain
    sqrt(2), as SB3 starts a trunk). Returns the released units (bool, (outputs,))."""
    units = layer.frozen_bits("weight").shape[0]
    mass = layer.fisher("weight").reshape(units, -1).sum(1)
    released = units_to_release(mass, share)
    if not released.any():
        return released
    fresh = torch.empty(int(released.sum()), layer.fan_in)
    torch.nn.init.orthogonal_(fresh, gain=math.sqrt(2))
    for pname, param, bound in layer.blip_tensors():
        layer.frozen_bits(pname)[released] = 0
        layer.center(pname)[released] = 0.0
        layer.fisher(pname)[released] = prior * layer.fan
        if pname == "weight":
            limit = bound * (1.0 - 2.0 ** -(layer.bits + 1))
            param[released] = fresh.reshape(-1, *param.shape[1:]).to(param).clamp(-limit, limit)
        else:
            param[released] = 0.0
    return released
