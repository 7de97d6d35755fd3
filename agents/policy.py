"""``BlipActorCriticPolicy``: SB3's actor-critic with a BLIP trunk and one actor/critic head
pair per task (spec s.6). Works on its own: ``PPO(BlipActorCriticPolicy, env)``, on image
observations (a CNN trunk) or vector ones (an MLP trunk)."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import Tensor, nn
from torch.optim import Optimizer

from blip_rl.agents.tasks import TaskConditioned, TaskHeads
from blip_rl.agents.trunks import (
    MLP_WIDTHS,
    TRUNKS,
    TrunkName,
    TrunkSpec,
    atari_trunk,
    minatar_trunk,
    mlp_trunk,
)
from blip_rl.core.clip import BlipClip
from blip_rl.core.layers import blip_layers

ATARI_SIZE = 84


def one_line(space: gym.spaces.Space) -> str:
    """``space`` as one line of text (a Box's bound arrays may print on several)."""
    return " ".join(str(space).split())


class StopGradient(nn.Module):
    """The identity in value, with no gradient back to the input."""

    def forward(self, x: Tensor) -> Tensor:
        return x.detach()


class BlipTrunk(BaseFeaturesExtractor):
    """Shared features: uint8 (B, C, H, W) observations (scaled to [0, 1] by SB3) -> (B, features).

    Args:
        observation_space: channel-first image space, 84x84 (Atari) or 10x10 (MinAtar).
        arch: ``atari`` or ``minatar`` [default: ``atari`` for 84x84 frames, else ``minatar``].
        bits: N, bits per quantized parameter.
        width: multiplier of every layer's width (1: the trunks of :mod:`.trunks`).
        quantized: BLIP layers (True) or plain float layers of the same shape.
        n_tasks, stem, film: per-task parts (see :class:`~blip_rl.agents.trunks.TrunkSpec`).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        arch: TrunkName | None = None,
        bits: int = 20,
        width: int = 1,
        quantized: bool = True,
        n_tasks: int = 1,
        stem: bool = False,
        film: bool = False,
    ) -> None:
        if width < 1:
            raise ValueError(f"trunk width must be an integer >= 1, got {width}")
        if len(observation_space.shape) != 3:
            raise ValueError(
                f"BlipTrunk needs channel-first image observations (C, H, W), "
                f"got shape {observation_space.shape}"
            )
        channels, *size = observation_space.shape
        arch = arch or ("atari" if tuple(size) == (ATARI_SIZE, ATARI_SIZE) else "minatar")
        expected = {"atari": (ATARI_SIZE, ATARI_SIZE), "minatar": (10, 10)}
        if arch not in TRUNKS:
            raise ValueError(f"unknown trunk {arch!r}; choose from: {', '.join(TRUNKS)}")
        if tuple(size) != expected[arch]:
            raise ValueError(
                f"the {arch} trunk needs {expected[arch][0]}x{expected[arch][1]} observations, "
                f"got {size[0]}x{size[1]}"
            )
        build = atari_trunk if arch == "atari" else minatar_trunk
        cnn = build(channels, TrunkSpec(bits, width, quantized, n_tasks, stem, film))
        features = next(m for m in reversed(cnn) if isinstance(m, nn.Linear)).out_features
        super().__init__(observation_space, features)
        self.cnn = cnn

    def forward(self, observations: Tensor) -> Tensor:
        return self.cnn(observations)


class BlipMlpTrunk(BaseFeaturesExtractor):
    """Shared features of vector observations: float (B, n) -> (B, widths[-1] * width).

    Args:
        observation_space: a 1-D Box, shape (n,).
        widths: hidden widths, one BLIP linear layer (and a ReLU) each, as SB3's ``net_arch``
            [default: 64, 64, as SB3's ``MlpPolicy``].
        bits: N, bits per quantized parameter.
        width: multiplier of every layer's width.
        quantized: BLIP layers (True) or plain float layers of the same shape.
        n_tasks, film: per-task parts (see :class:`~blip_rl.agents.trunks.TrunkSpec`).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Space,
        widths: Sequence[int] = MLP_WIDTHS,
        bits: int = 20,
        width: int = 1,
        quantized: bool = True,
        n_tasks: int = 1,
        film: bool = False,
    ) -> None:
        if not (
            isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1
        ):
            raise ValueError(
                f"BlipMlpTrunk needs a 1-D Box observation space, got {one_line(observation_space)}"
            )
        if width < 1:
            raise ValueError(f"trunk width must be an integer >= 1, got {width}")
        spec = TrunkSpec(bits, width, quantized, n_tasks, stem=False, film=film)
        mlp = mlp_trunk(observation_space.shape[0], list(widths), spec)
        super().__init__(observation_space, widths[-1] * width)
        self.mlp = mlp

    def forward(self, observations: Tensor) -> Tensor:
        return self.mlp(observations)


BLIP_TRUNKS: tuple[type[BaseFeaturesExtractor], ...] = (BlipTrunk, BlipMlpTrunk)
"""The trunks whose float copy (``quantized=False``) can serve as a critic's own trunk."""


def trunk_for(observation_space: gym.spaces.Space) -> type[BaseFeaturesExtractor]:
    """The BLIP trunk for ``observation_space``: :class:`BlipTrunk` (a CNN) for channel-first
    images (C, H, W), :class:`BlipMlpTrunk` for 1-D Box vectors; ValueError otherwise."""
    if isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 3:
        return BlipTrunk
    if isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1:
        return BlipMlpTrunk
    raise ValueError(
        f"BlipActorCriticPolicy needs channel-first image (C, H, W) or 1-D Box observations, "
        f"got {one_line(observation_space)}"
    )


class BlipActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic with a BLIP trunk and ``n_tasks`` actor/critic head pairs.

    The trunk, unless ``features_extractor_class`` names another, follows the observation
    space (:func:`trunk_for`): :class:`BlipTrunk`, a CNN, for channel-first images;
    :class:`BlipMlpTrunk` for 1-D Box vectors (its hidden widths:
    ``features_extractor_kwargs={"widths": [64, 64]}``). Only the trunk is quantized (and
    consolidated by BLIP); heads are ordinary float layers. All heads exist from the start (so
    ``PPO.load`` rebuilds the same modules), but only the active task's heads receive
    gradients, so heads of other tasks never change. Defaults: no hidden layers between trunk
    and heads (``net_arch=[]``), as the paper's network; layers ``net_arch`` asks for are float
    and shared by every task, so BLIP does not protect them.

    The policy keeps its frozen bits itself: the clip (Eq. 4, :attr:`blip_clip`) runs after
    every step of whatever optimizer it is given (at construction, :meth:`reset_optimizer`,
    ``PPO.load``, or assigned to ``policy.optimizer``), with the radius rule ``strict``.

    With ``share_features_extractor=False`` the critic reads the observations through its own
    trunk, a float one of the same architecture: a critic trunk is never consolidated (its
    Fisher under the actor's log-likelihood is 0), so BLIP must not quantize it. With
    ``detach_critic=True`` it reads the shared trunk's features with no gradient back into
    them: the value loss trains the critic's own layers only, and the trunk learns from the
    actor alone, at no extra cost.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Space,
        action_space: gym.spaces.Space,
        lr_schedule: Schedule,
        n_tasks: int = 1,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        features_extractor_class: type[BaseFeaturesExtractor] | None = None,
        strict: bool = False,
        detach_critic: bool = False,
        **kwargs: Any,
    ) -> None:
        if n_tasks < 1:
            raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
        if detach_critic and not kwargs.get("share_features_extractor", True):
            raise ValueError(
                "detach_critic=True stops the critic's gradient into the shared trunk; a critic "
                "with its own trunk (share_features_extractor=False) needs that gradient"
            )
        self.n_tasks = n_tasks
        self.strict = strict
        self.detach_critic = detach_critic
        self.blip_clip: BlipClip | None = None
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[] if net_arch is None else net_arch,
            features_extractor_class=features_extractor_class or trunk_for(observation_space),
            **kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = self._task_heads(self.action_net, gain=0.01)
        self.value_net = self._task_heads(self.value_net, gain=1.0)
        if not self.share_features_extractor:
            self.vf_features_extractor = self._float_critic_trunk()
        if self.detach_critic:
            value_layers = self.mlp_extractor.value_net
            self.mlp_extractor.value_net = nn.Sequential(StopGradient(), *value_layers)
        for _, layer in blip_layers(self):
            layer.clamp_into_range()  # orthogonal init may stray a little past the bound
        self.blip_clip = BlipClip(self, self.strict)
        self.reset_optimizer(lr_schedule(1))

    def _float_critic_trunk(self) -> BaseFeaturesExtractor:
        """The critic's own trunk: the actor's architecture in float layers."""
        if self.features_extractor_class not in BLIP_TRUNKS:
            if blip_layers(self.vf_features_extractor):
                raise ValueError(
                    f"share_features_extractor=False needs a critic trunk without BLIP layers; "
                    f"{self.features_extractor_class.__name__} has some (use BlipTrunk or "
                    "BlipMlpTrunk, whose critic copies are float)"
                )
            return self.vf_features_extractor
        kwargs = {**self.features_extractor_kwargs, "quantized": False}
        trunk = self.features_extractor_class(self.observation_space, **kwargs).to(self.device)
        if self.ortho_init:
            trunk.apply(partial(self.init_weights, gain=math.sqrt(2)))
        return trunk

    @property
    def optimizer(self) -> Optimizer:
        return self.__dict__["_optimizer"]

    @optimizer.setter
    def optimizer(self, optimizer: Optimizer) -> None:
        """Every optimizer the policy is given clips its BLIP parameters after each step."""
        self.__dict__["_optimizer"] = optimizer
        if self.blip_clip is not None:
            self.blip_clip.attach(optimizer)

    def _task_heads(self, first: nn.Module, gain: float) -> TaskHeads:
        heads = [first]
        for _ in range(self.n_tasks - 1):
            head = copy.deepcopy(first)
            if self.ortho_init:
                head.apply(partial(self.init_weights, gain=gain))
            else:
                head.reset_parameters()  # a head is one nn.Linear
            heads.append(head)
        return TaskHeads(heads)

    def reset_optimizer(self, learning_rate: float) -> None:
        """A fresh optimizer (no moment estimates) over all parameters."""
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=learning_rate, **self.optimizer_kwargs
        )

    @property
    def task(self) -> int:
        """The active task (0-based)."""
        return int(self.action_net.task)

    def set_task(self, task: int) -> None:
        """Act and estimate values with task ``task``'s heads (and per-task trunk parts)."""
        if not 0 <= task < self.n_tasks:
            raise ValueError(f"task {task} out of range; this policy has {self.n_tasks} task(s)")
        for module in self.modules():
            if isinstance(module, TaskConditioned):
                module.task.fill_(task)

    @torch.no_grad()
    def release_features(self, features: Tensor) -> None:
        """The finished tasks' heads (up to the active one) stop reading the trunk's
        ``features`` (bool, (features_dim,)): their weights from them become 0, and old heads
        get no more gradients. The critic's heads too, when they read the same trunk."""
        if self.net_arch:
            raise ValueError("released features need heads that read the trunk (net_arch=[])")
        nets = [self.action_net] + ([self.value_net] if self.share_features_extractor else [])
        for net in nets:
            for head in net.heads[: self.task + 1]:
                head.weight[:, features] = 0.0

    def log_prob(self, obs: Tensor, actions: Tensor) -> Tensor:
        """log pi(a|s) of the active task's actor: obs (B, *obs_shape), actions int (B,) -> (B,)."""
        return self.get_distribution(obs).log_prob(actions)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {
            **super()._get_constructor_parameters(),
            "n_tasks": self.n_tasks,
            "strict": self.strict,
        }
