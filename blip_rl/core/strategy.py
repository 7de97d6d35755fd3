"""The plug-in interface that every strategy shares, and the simple strategies.

A training loop (classification or RL) owns the model, the data and the optimizer. For each
task it calls ``on_task_start``, trains within ``with attached(strategy, optimizer):`` (so the
strategy's hooks run around every ``optimizer.step()``); if the strategy keeps a
``retrain_share`` of the task, calls ``on_retrain_start`` when that share is left and trains it
with a fresh optimizer; then calls ``on_task_end``. It evaluates task j within
``with strategy.evaluating(j):``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle

from blip_rl.core.fisher import LogLikelihood
from blip_rl.core.layers import blip_layers
from blip_rl.core.numerics import guard_gradients


class Strategy:
    """Continual-learning strategy: every hook is a no-op unless overridden.

    ``name`` is the strategy's name on the command line (see :mod:`blip_rl.core.methods`).
    """

    name: ClassVar[str]
    continual: ClassVar[bool] = True
    """False for a strategy whose model does not carry earlier tasks (so they are not scored)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def on_task_start(self, task: int, n_tasks: int) -> None:
        """Before training task ``task`` (0-based) of ``n_tasks``."""

    def retrain_share(self, task: int) -> float:
        """Share of task ``task``'s training kept for after :meth:`on_retrain_start` (0: none;
        asked after :meth:`on_task_start`)."""
        return 0.0

    def on_retrain_start(self, task: int) -> None:
        """All but :meth:`retrain_share` of task ``task``'s training is done; the loop then
        gives the model a fresh optimizer and trains the rest. Called again on a resumed run:
        it must do its work once."""

    def evaluating(self, task: int) -> AbstractContextManager[None]:
        """Within it, the model computes task ``task`` as that task would (a no-op but for
        strategies that keep per-task weights)."""
        return nullcontext()

    def before_optimizer_step(self) -> None:
        """After gradients are computed, before the optimizer uses them."""

    def after_optimizer_step(self) -> None:
        """Right after every optimizer step."""

    def on_task_end(
        self, task: int, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> dict[str, Any]:
        """After training task ``task``; ``batches`` are its samples for a Fisher estimate
        (iterated only by strategies that need one). Returns a JSON-able report."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State the strategy holds outside the model (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def attach(self, optimizer: Optimizer) -> list[RemovableHandle]:
        """Run this strategy's step hooks around every ``optimizer.step()``."""
        return [
            optimizer.register_step_pre_hook(lambda *_: self.before_optimizer_step()),
            optimizer.register_step_post_hook(lambda *_: self.after_optimizer_step()),
        ]


@contextmanager
def attached(strategy: Strategy, optimizer: Optimizer) -> Iterator[None]:
    """Within the block, ``strategy``'s step hooks and the NaN/inf gradient guard (after the
    strategy's pre-step hook, so it also sees a penalty the strategy added) run around every
    ``optimizer.step()``; they are removed when the block ends, however it ends."""
    handles = [*strategy.attach(optimizer), guard_gradients(optimizer)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class FineTune(Strategy):
    """FT: train every task with no protection of earlier ones."""

    name = "ft"


class FineTuneFix(Strategy):
    """FT-FIX: learn the shared layers on the first task only, then train only new heads."""

    name = "ftfix"

    def on_task_start(self, task: int, n_tasks: int) -> None:
        for _, layer in blip_layers(self.model):
            layer.requires_grad_(task == 0)


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    """A copy of every parameter and buffer of ``model``, by ``state_dict`` key; a tensor the
    model holds under several names (SB3's policy names its shared trunk three times) is
    copied once, under its first name, which loads it for all of them."""
    copies: dict[str, Tensor] = {}
    seen: set[tuple[int, torch.Size]] = set()
    for name, tensor in model.state_dict().items():
        key = (tensor.data_ptr(), tensor.shape)
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        copies[name] = tensor.detach().clone()
    return copies


class Scratch(Strategy):
    """Reference for plasticity: every task learned alone by a fresh network (the model's
    weights when this strategy was created, restored at each task start; parts added since,
    such as new heads, keep their own fresh init)."""

    name = "scratch"
    continual = False

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.initial = _snapshot(model)
        self.started = 0  # the last task the network was reset for (task 0 needs no reset)

    def on_task_start(self, task: int, n_tasks: int) -> None:
        if task > self.started:  # not again when a run resumes in the middle of the task
            self.model.load_state_dict(self.initial, strict=False)  # later heads stay new
            self.started = task

    def state_dict(self) -> dict[str, Any]:
        return {"initial": self.initial, "started": self.started}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.initial, self.started = state["initial"], state["started"]


def shared_tensors(model: nn.Module) -> dict[str, Tensor]:
    """The parameters every task shares (those of the BLIP layers), by ``<layer>.<param>``."""
    return {
        f"{name}.{pname}": param
        for name, layer in blip_layers(model)
        for pname, param, _ in layer.blip_tensors()
    }


class Independent(Scratch):
    """The plasticity ceiling, at T times the memory: every task is learned by a fresh network
    (as :class:`Scratch`: the shared layers and every other part, such as a critic's own trunk)
    that is then kept whole, and every task is evaluated on its own network and head."""

    name = "independent"
    continual = True

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.networks: dict[int, dict[str, Tensor]] = {}  # finished task -> its whole model

    def on_task_start(self, task: int, n_tasks: int) -> None:
        if task > self.started:  # not again when a run resumes in the middle of the task
            self.networks[task - 1] = _snapshot(self.model)
        super().on_task_start(task, n_tasks)

    @contextmanager
    def evaluating(self, task: int) -> Iterator[None]:
        if task not in self.networks:
            yield
            return
        current = _snapshot(self.model)
        self.model.load_state_dict(self.networks[task], strict=False)
        try:
            yield
        finally:
            self.model.load_state_dict(current, strict=False)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "networks": self.networks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.networks = {int(k): v for k, v in state["networks"].items()}
