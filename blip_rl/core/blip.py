"""The BLIP strategy: clip after every optimizer step, freeze bits at every task end."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from blip_rl.core.clip import clip_interval
from blip_rl.core.consolidate import LayerReport, consolidate_layer
from blip_rl.core.fisher import LogLikelihood, fisher_diagonal
from blip_rl.core.layers import BlipLayer, blip_layers
from blip_rl.core.options import option, with_defaults
from blip_rl.core.strategy import Strategy


@dataclass(frozen=True)
class BlipConfig:
    """BLIP hyper-parameters (spec s.1-4)."""

    bits: int = option(20, "N, bits per quantized parameter, 1..32")
    fisher_prior: float | None = option(
        None,
        "f0: prior Fisher F_0 = f0 * fan per layer; larger freezes fewer bits "
        "[default: the paper's value for the benchmark or suite]",
    )
    strict: bool = option(
        False, "freeze radius 2^-(S+1) - 2^-(N+1), so Q(u, S) never moves (paper: 2^-S)"
    )
    snap: bool | None = option(
        None,
        "set weights to their S-bit centers at task end, as the authors' code "
        "[default: the suite's for RL (off), on for classification]",
    )
    bit_budget: float | None = option(
        None,
        "freeze at most this share of each tensor's still-free bits per task, in (0, 1]; "
        "1 is the paper [default: the suite's for RL, 1 for classification]",
    )
    bit_cap: float | None = option(
        None,
        "freeze at most this share of each weight's own still-free bits per task (rounded "
        "up), in (0, 1] [default: no cap, as the paper]",
    )

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 32:
            raise ValueError(f"bits must be in 1..32, got {self.bits}")
        prior = self.fisher_prior
        if prior is not None and not (math.isfinite(prior) and prior > 0):
            raise ValueError(f"fisher_prior must be a finite number > 0, got {prior}")
        for name in ("bit_budget", "bit_cap"):
            share = getattr(self, name)
            if share is not None and not 0 < share <= 1:
                raise ValueError(f"{name} must be a share in (0, 1], got {share}")


LIBRARY_DEFAULTS = BlipConfig(fisher_prior=1e-15, snap=True, bit_budget=1.0)
"""What :class:`Blip` uses for a setting its config leaves unset: the paper's MNIST f0, the
snap of the authors' code, no budget (1: the paper)."""


class Blip(Strategy):
    """BLIP on every :class:`~blip_rl.core.layers.BlipLayer` of ``model``; other layers
    untouched. Settings ``config`` leaves unset come from :data:`LIBRARY_DEFAULTS`.

    The state lives in the layers' buffers (so it travels with ``state_dict``); this object
    holds none. Creating it on a model that has learned no task yet sets the prior Fisher.

    The clip's interval of every parameter is constant within a task, so it is cached (two
    float32 tensors per parameter while training, rebuilt when S or c change): the clip after
    each step is then one ``clamp_`` per tensor.
    """

    name = "blip"

    def __init__(self, model: nn.Module, config: BlipConfig = BlipConfig()) -> None:
        super().__init__(model)
        self.config = config = with_defaults(config, LIBRARY_DEFAULTS)
        self.layers = blip_layers(model)
        if not self.layers:
            raise ValueError(f"{type(model).__name__} has no BLIP layers (BlipLinear, BlipConv2d)")
        for name, layer in self.layers:
            if layer.bits != config.bits:
                raise ValueError(
                    f"layer {name} has {layer.bits} bits but BlipConfig.bits is {config.bits}"
                )
        self._intervals: dict[tuple[int, str], tuple[tuple[int, ...], Tensor, Tensor]] = {}
        if self.tasks_seen == 0:
            for _, layer in self.layers:
                for pname, _, _ in layer.blip_tensors():
                    layer.fisher(pname).fill_(config.fisher_prior * layer.fan)

    @property
    def tasks_seen(self) -> int:
        """Tasks consolidated so far."""
        seen = {int(layer.tasks_seen) for _, layer in self.layers}
        if len(seen) != 1:
            raise RuntimeError(f"BLIP layers disagree on tasks_seen: {sorted(seen)}")
        return seen.pop()

    def _interval(self, layer: BlipLayer, pname: str, bound: float) -> tuple[Tensor, Tensor]:
        center, bits = layer.center(pname), layer.frozen_bits(pname)
        key = (center.data_ptr(), center._version, bits.data_ptr(), bits._version)
        cached = self._intervals.get((id(layer), pname))
        if cached is None or cached[0] != key:
            low, high = clip_interval(center, bits, bound, layer.bits, self.config.strict)
            cached = (key, low, high)
            self._intervals[id(layer), pname] = cached
        return cached[1], cached[2]

    @torch.no_grad()
    def clip_(self) -> None:
        """Eq. 4 on every BLIP parameter, in place."""
        for _, layer in self.layers:
            for pname, param, bound in layer.blip_tensors():
                param.clamp_(*self._interval(layer, pname, bound))

    def consolidate(
        self, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> list[LayerReport]:
        """End of task (spec s.4): Fisher on the current weights, then freeze, center, snap.

        Raises :class:`~blip_rl.numerics.NumericalFault` before changing any state if the
        Fisher is not finite.
        """
        cfg = self.config
        layers = [layer for _, layer in self.layers]
        fisher, _ = fisher_diagonal(self.model, batches, log_likelihood, layers)
        return [
            consolidate_layer(
                name, layer, fisher[layer], cfg.snap, cfg.strict, cfg.bit_budget, cfg.bit_cap
            )
            for name, layer in self.layers
        ]

    def after_optimizer_step(self) -> None:
        self.clip_()

    def on_task_end(
        self, task: int, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> dict[str, Any]:
        return {"layers": [asdict(r) for r in self.consolidate(batches, log_likelihood)]}
