"""Online EWC (Schwarz et al. 2018) on the shared BLIP layers, as a baseline."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from blip_rl.core.fisher import LogLikelihood, fisher_diagonal
from blip_rl.core.layers import blip_layers
from blip_rl.core.numerics import NumericalFault
from blip_rl.core.options import option
from blip_rl.core.strategy import Strategy, shared_tensors


@dataclass(frozen=True)
class EwcConfig:
    """Online EWC hyper-parameters."""

    ewc_lambda: float = option(5000.0, "online EWC strength: lambda/2 * sum F (theta - theta*)^2")
    ewc_gamma: float = option(1.0, "online EWC decay of the summed Fisher at each task end, 0..1")

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ewc_lambda) and self.ewc_lambda >= 0):
            raise ValueError(f"ewc_lambda must be a finite number >= 0, got {self.ewc_lambda}")
        if not 0 <= self.ewc_gamma <= 1:
            raise ValueError(f"ewc_gamma must be in [0, 1], got {self.ewc_gamma}")


class Ewc(Strategy):
    """Adds the penalty gradient ``lambda * F * (theta - theta*)`` before every optimizer step.

    The penalty acts on the gradient rather than the loss so the same hook serves any loop
    (SB3's PPO.train included). A loop that clips gradient norms before ``step()`` does not
    clip this term.
    """

    name = "ewc"

    def __init__(self, model: nn.Module, config: EwcConfig = EwcConfig()) -> None:
        super().__init__(model)
        self.config = config
        self.layers = [layer for _, layer in blip_layers(model)]
        shared = shared_tensors(model)
        self.names = list(shared)  # the keys of state_dict()
        self.params = list(shared.values())
        self.fisher = [torch.zeros_like(p) for p in self.params]
        self.anchor = [p.detach().clone() for p in self.params]
        self.tasks_seen = 0
        self.stable_lr: float | None = None  # the last learning rate found stable

    def attach(self, optimizer: Optimizer) -> list[RemovableHandle]:
        """The step hooks, after a check that a plain SGD step keeps the penalty stable."""
        check = optimizer.register_step_pre_hook(lambda opt, *_: self.check_stable(opt))
        return [check, *super().attach(optimizer)]

    def check_stable(self, optimizer: Optimizer) -> None:
        """Raise :class:`NumericalFault` before a plain SGD step (no momentum) that would
        make the penalty diverge: the step moves a weight back towards its anchor by lr x
        lambda x F times its distance, which overshoots further every step once above 2.
        Checked once per learning rate and task; other optimizers are not checked."""
        if self.tasks_seen == 0 or type(optimizer) is not torch.optim.SGD:
            return
        if any(group["momentum"] for group in optimizer.param_groups):
            return
        lr = max(group["lr"] for group in optimizer.param_groups)
        if lr == self.stable_lr:
            return
        strength = lr * self.config.ewc_lambda
        top = max(float(f.max()) for f in self.fisher)
        if strength * top < 2:
            self.stable_lr = lr
            return
        over = sum(int((f * strength >= 2).sum()) for f in self.fisher)
        raise NumericalFault(
            f"online EWC's penalty diverges under SGD: lr {lr:g} x lambda "
            f"{self.config.ewc_lambda:g} x F reaches {strength * top:.2f} for {over:,} weights "
            f"(stable below 2); set ewc_lambda (--ewc-lambda) below {2 / (lr * top):.4g}"
        )

    @torch.no_grad()
    def before_optimizer_step(self) -> None:
        if self.tasks_seen == 0:
            return
        for param, fisher, anchor in zip(self.params, self.fisher, self.anchor):
            if param.grad is not None:
                # One fused pass: the unfused lambda * F * (theta - theta*) made three
                # parameter-sized temporaries, as slow as the MLP's forward and backward.
                param.grad.addcmul_(fisher, param - anchor, value=self.config.ewc_lambda)

    @torch.no_grad()
    def on_task_end(
        self, task: int, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> dict[str, Any]:
        new, _ = fisher_diagonal(self.model, batches, log_likelihood, self.layers)
        fresh = [new[layer][name] for layer in self.layers for name, _, _ in layer.blip_tensors()]
        for param, fisher, anchor, f_t in zip(self.params, self.fisher, self.anchor, fresh):
            fisher.mul_(self.config.ewc_gamma).add_(f_t)
            anchor.copy_(param)
        self.tasks_seen += 1
        self.stable_lr = None
        return {"fisher_mean": float(torch.cat([f.flatten() for f in self.fisher]).mean())}

    def state_dict(self) -> dict[str, Any]:
        """The summed Fisher and the anchor of each tensor by ``<layer>.<param>`` name."""
        return {
            "fisher": dict(zip(self.names, self.fisher)),
            "anchor": dict(zip(self.names, self.anchor)),
            "tasks_seen": self.tasks_seen,
        }

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; ``KeyError`` naming a tensor the state lacks."""
        for name, fisher, anchor in zip(self.names, self.fisher, self.anchor):
            fisher.copy_(state["fisher"][name])
            anchor.copy_(state["anchor"][name])
        self.tasks_seen = int(state["tasks_seen"])
        self.stable_lr = None
