"""Parts of the policy with one copy per task: the actor and critic heads, and the optional
per-task feature-wise scale and shift (FiLM) and input stem of the trunk. Each runs the active
task's copy; only that copy gets gradients, so the copies of other tasks never change."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TaskConditioned(nn.Module):
    """A module that computes with the active task's parameters: ``task``, a buffer saved
    with the state dict, set by :meth:`BlipActorCriticPolicy.set_task`."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("task", torch.zeros((), dtype=torch.long))


class TaskHeads(TaskConditioned):
    """One float head per task; ``forward`` runs the active task's."""

    def __init__(self, heads: list[nn.Module]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, latent: Tensor) -> Tensor:
        return self.heads[int(self.task)](latent)


class TaskFiLM(TaskConditioned):
    """Feature-wise scale and shift per task (FiLM): (B, C, ...) -> x * gamma_t + beta_t per
    channel, gamma 1 and beta 0 at first: 2 C floats per task."""

    def __init__(self, n_tasks: int, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_tasks, channels))
        self.beta = nn.Parameter(torch.zeros(n_tasks, channels))

    def forward(self, x: Tensor) -> Tensor:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        t = int(self.task)
        return x * self.gamma[t].view(shape) + self.beta[t].view(shape)


class TaskStem(TaskConditioned):
    """A float 1x1 convolution per task in front of the shared layers, the identity at first:
    (B, C, H, W) -> (B, C, H, W), C * (C + 1) floats per task. A game maps its own input
    channels onto what the shared filters read."""

    def __init__(self, n_tasks: int, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.eye(channels).repeat(n_tasks, 1, 1))
        self.bias = nn.Parameter(torch.zeros(n_tasks, channels))

    def forward(self, x: Tensor) -> Tensor:
        t = int(self.task)
        return torch.einsum("oc,bchw->bohw", self.weight[t], x) + self.bias[t].view(1, -1, 1, 1)
