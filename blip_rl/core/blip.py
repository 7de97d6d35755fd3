"""The BLIP strategy: clip after every optimizer step, freeze bits at every task end."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from blip_rl.core.capacity import total
from blip_rl.core.clip import BlipClip
from blip_rl.core.consolidate import IG_FORMS, LayerReport, consolidate_layer, release_units
from blip_rl.core.fisher import LogLikelihood, fisher_diagonal
from blip_rl.core.layers import blip_layers
from blip_rl.core.options import option, with_defaults
from blip_rl.core.strategy import Strategy

log = logging.getLogger(__name__)

BUDGET_OVER = ("all", "live")
SNAP_KL_WARN = 0.01
"""Nats of the snap's estimated cost (:func:`~blip_rl.core.consolidate.snap_cost`, summed over
the layers) above which a task end warns. Measured on pdigits (seed 0, 10 epochs): the paper's
schedule costs at most 1.1e-5 nats at every task end; ``--bit-budget 0.05`` (1 frozen bit per
weight after task 0) costs 0.021, and task 0's accuracy fell from 92.8% (no snap) to 90.3%."""
FLOAT32_TINY = float(torch.finfo(torch.float32).tiny)
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


@dataclass(frozen=True)
class BlipConfig:
    """BLIP hyper-parameters (spec s.1-4)."""

    bits: int = option(20, "N, bits per quantized parameter, 1..32")
    fisher_prior: float | None = option(
        None,
        "f0: prior Fisher F_0 = f0 * fan per layer; larger freezes fewer bits "
        "[default: the authors' value for the benchmark or suite, for the exact Fisher; "
        "fmnist5's default preset: 1e-13, calibrated]",
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
    budget_over: str | None = option(
        None,
        "what --bit-budget is a share of: all of a tensor's free bits, or only those of its "
        "live weights (F_t > 0) [default: all]",
        choices=BUDGET_OVER,
    )
    release: float | None = option(
        None,
        "after each task, release the units of the last layer that hold at most this share "
        "of its Fisher mass: no frozen bits, a fresh init, and the finished tasks' heads stop "
        "reading them [default: 0, none]",
    )
    ig: str | None = option(
        None,
        "information gain: paper (Eq. 8) or authors (their code: Eq. 8 less 1/2 log2((t+1)/t), "
        "0 bits where F_t < F_old) [default: the preset's]",
        choices=IG_FORMS,
    )

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 32:
            raise ValueError(f"bits must be in 1..32, got {self.bits}")
        prior = self.fisher_prior
        if prior is not None and not (math.isfinite(prior) and prior > 0):
            raise ValueError(f"fisher_prior must be a finite number > 0, got {prior}")
        if prior is not None and prior < FLOAT32_TINY:
            raise ValueError(
                f"fisher_prior {prior:g} is below float32's smallest normal number "
                f"({FLOAT32_TINY:.3g}): the prior Fisher would be 0; use a larger one"
            )
        for name, allowed in (("ig", IG_FORMS), ("budget_over", BUDGET_OVER)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose from: {', '.join(allowed)}")
        if self.release is not None and not 0 <= self.release < 1:
            raise ValueError(f"release must be a share in [0, 1), got {self.release}")
        for name in ("bit_budget", "bit_cap"):
            share = getattr(self, name)
            if share is not None and not 0 < share <= 1:
                raise ValueError(f"{name} must be a share in (0, 1], got {share}")


def authors_prior(published: float, batch: int) -> float:
    """The f0 that freezes with the exact Fisher as the authors' published f0 did with theirs.

    Their Fisher is the per-sample squared gradient of a mini-batch MEAN loss, exactly the
    Fisher over ``batch`` squared; the information gain depends only on F / f0, so their
    runs equal an exact Fisher with f0 = ``published`` * ``batch``^2.
    """
    return float(
        f"{published * batch**2:.12g}"
    )  # 1e-15 * 100^2 is 1e-11, not 1.0000000000000001e-11


CLASSIFICATION_FISHER_BATCH = 100
"""The authors' Fisher batch in classification (``estimate_fisher``: 80 batches of 100)."""

LIBRARY_DEFAULTS = BlipConfig(
    fisher_prior=authors_prior(1e-15, CLASSIFICATION_FISHER_BATCH),
    snap=True,
    bit_budget=1.0,
    budget_over="all",
    release=0.0,
    ig="paper",
)
"""What :class:`Blip` uses for a setting its config leaves unset: the authors' MNIST f0 (for
the exact Fisher: 1e-15 x 100^2 = 1e-11), the snap of their code, no budget (1: the paper)."""


class Blip(Strategy):
    """BLIP on every :class:`~blip_rl.core.layers.BlipLayer` of ``model``; other layers
    untouched. Settings ``config`` leaves unset come from :data:`LIBRARY_DEFAULTS`.

    The state lives in the layers' buffers (so it travels with ``state_dict``); this object
    holds none. Creating it on a model that has learned no task yet sets the prior Fisher.

    The clip (Eq. 4) runs after every step of an optimizer this strategy is attached to. A
    model that clips itself on every optimizer it is given (it has a ``blip_clip``, as
    :class:`~blip_rl.agents.BlipActorCriticPolicy`) keeps doing so; BLIP then adds no hook.
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
        own: BlipClip | None = getattr(model, "blip_clip", None)
        if own is not None and own.strict != config.strict:
            raise ValueError(
                f"{type(model).__name__} clips with strict={own.strict}, but BlipConfig.strict "
                f"is {config.strict}; build the model with the same setting"
            )
        if config.release and not hasattr(model, "release_features"):  # see release_units
            raise ValueError(
                f"release needs a model whose finished tasks' heads can stop reading features "
                f"(a release_features method); {type(model).__name__} has none"
            )
        self.clips_itself = own is not None
        self.clip_ = own or BlipClip(model, config.strict)  # Eq. 4, in place
        self.released: list[int] = []  # units released after each task
        for name, layer in self.layers:
            if config.fisher_prior * layer.fan > FLOAT32_MAX:
                raise ValueError(
                    f"fisher_prior {config.fisher_prior:g} times the fan {layer.fan} of {name} "
                    f"overflows float32 ({FLOAT32_MAX:.3g}); use a smaller one"
                )
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

    def consolidate(
        self, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> list[LayerReport]:
        """End of task (spec s.4): Fisher on the current weights, then freeze, center, snap.

        Raises :class:`~blip_rl.core.numerics.NumericalFault` before changing any state if the
        Fisher is not finite.
        """
        cfg = self.config
        layers = [layer for _, layer in self.layers]
        fisher, _ = fisher_diagonal(self.model, batches, log_likelihood, layers)
        reports = [
            consolidate_layer(
                name,
                layer,
                fisher[layer],
                snap=cfg.snap,
                strict=cfg.strict,
                budget=cfg.bit_budget,
                cap=cfg.bit_cap,
                ig=cfg.ig,
                budget_over_live=cfg.budget_over == "live",
            )
            for name, layer in self.layers
        ]
        cost = sum(r.snap_kl for r in reports)
        if cost > SNAP_KL_WARN:
            frozen = total([asdict(r) for r in reports])["frozen_mean"]
            log.warning(
                "the snap after task %d cost it about %.2g nats (1/2 sum F (c bound - w)^2): it "
                "rounds each weight to its S-bit centre, coarse at %.2f frozen bits per weight; "
                "prefer snap=False (--no-snap) with so few",
                self.tasks_seen - 1,
                cost,
                frozen,
            )
        if cfg.release:
            released = release_units(layers[-1], cfg.release, cfg.fisher_prior)
            self.model.release_features(released)  # type: ignore[operator]
            self.released.append(int(released.sum()))
        return reports

    def attach(self, optimizer: Optimizer) -> list[RemovableHandle]:
        handles = super().attach(optimizer)
        return handles if self.clips_itself else [*handles, self.clip_.attach(optimizer)]

    def on_task_end(
        self, task: int, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> dict[str, Any]:
        report: dict[str, Any] = {
            "layers": [asdict(r) for r in self.consolidate(batches, log_likelihood)]
        }
        if self.config.release:
            report["released_units"] = self.released[-1]
        return report
