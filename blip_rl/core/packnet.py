"""PackNet (Mallya and Lazebnik, CVPR 2018) as Continual World runs it (Wołczyk et al. 2021):
each task owns a share of the shared weights, which later tasks never change.

Every weight of the shared layers has an owner, the task it belongs to (1 byte per weight). A
task trains only the weights it owns; biases are trained by the first task only. When all but
``retrain_share`` of a task's training is done, its weights are pruned by magnitude to its
share: the smallest go to the next task (set to 0), the rest stay the task's; then the task
retrains what it kept, with a fresh optimizer. Shares are equal: task t keeps 1 / (T - t) of
what is free when it starts, so every task gets 1/T of each weight tensor. Task j is evaluated
with the weights of tasks 0..j only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from blip_rl.core.fisher import LogLikelihood
from blip_rl.core.options import option
from blip_rl.core.strategy import Strategy, shared_tensors


@dataclass(frozen=True)
class PackNetConfig:
    """PackNet's settings."""

    retrain_share: float = option(
        0.1,
        "PackNet: share of each task's training left for retraining after pruning, in [0, 1)",
    )

    def __post_init__(self) -> None:
        if not 0 <= self.retrain_share < 1:
            raise ValueError(f"retrain_share must be in [0, 1), got {self.retrain_share}")


def prune_to_share(weight: Tensor, owned: Tensor, keep: float) -> Tensor:
    """The weights of ``owned`` (bool, like ``weight``) to keep: the ``keep`` share of them
    (rounded down, at least one) with the largest magnitude; ties kept."""
    values = weight[owned].abs()
    if values.numel() == 0:
        return owned
    n_keep = max(1, int(keep * values.numel()))
    threshold = torch.topk(values, n_keep).values.min()
    return owned & (weight.abs() >= threshold)


class PackNet(Strategy):
    """PackNet on the shared (BLIP) layers of ``model``; heads are the loop's, per task."""

    name = "packnet"

    def __init__(self, model: nn.Module, config: PackNetConfig = PackNetConfig()) -> None:
        super().__init__(model)
        self.config = config
        self.shared = shared_tensors(model)
        self.owner = {  # weights only: biases are the first task's
            name: torch.zeros_like(p, dtype=torch.uint8)
            for name, p in self.shared.items()
            if name.endswith(".weight")
        }
        self.task = 0
        self.pruned: list[int] = []  # tasks whose weights were pruned
        self.n_tasks = 1

    def on_task_start(self, task: int, n_tasks: int) -> None:
        if n_tasks > 256:
            raise ValueError(f"PackNet keeps 1-byte owners: at most 256 tasks, got {n_tasks}")
        self.task, self.n_tasks = task, n_tasks

    def retrain_share(self, task: int) -> float:
        """The configured share, but for the last task: it keeps all that is left."""
        return 0.0 if task == self.n_tasks - 1 else self.config.retrain_share

    @torch.no_grad()
    def before_optimizer_step(self) -> None:
        for name, param in self.shared.items():
            if param.grad is None:
                continue
            if name in self.owner:
                param.grad.mul_(self.owner[name] == self.task)
            elif self.task > 0:
                param.grad.zero_()

    @torch.no_grad()
    def on_retrain_start(self, task: int) -> None:
        if task in self.pruned or task == self.n_tasks - 1:
            return  # done already (a resumed run), or the last task keeps what is left
        keep = 1.0 / (self.n_tasks - task)
        for name, owner in self.owner.items():
            param = self.shared[name]
            owned = owner == task
            kept = prune_to_share(param, owned, keep)
            released = owned & ~kept
            param[released] = 0.0
            owner[released] = task + 1
        self.pruned.append(task)

    def on_task_end(
        self, task: int, batches: Iterable[Any], log_likelihood: LogLikelihood
    ) -> dict[str, Any]:
        self.on_retrain_start(task)  # without retraining (retrain_share 0), prune now
        total = sum(o.numel() for o in self.owner.values())
        owned = sum(int((o == task).sum()) for o in self.owner.values())
        free = sum(int((o > task).sum()) for o in self.owner.values())
        return {"owned_share": owned / total, "free_share": free / total}

    @contextmanager
    def evaluating(self, task: int) -> Iterator[None]:
        later = {name: owner > task for name, owner in self.owner.items()}
        saved = {name: self.shared[name][mask].clone() for name, mask in later.items()}
        with torch.no_grad():
            for name, mask in later.items():
                self.shared[name][mask] = 0.0
        try:
            yield
        finally:
            with torch.no_grad():
                for name, mask in later.items():
                    self.shared[name][mask] = saved[name]

    def state_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "pruned": list(self.pruned)}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, owner in self.owner.items():
            owner.copy_(state["owner"][name])
        self.pruned = [int(t) for t in state["pruned"]]
