"""The task's last rollout transitions, kept for the end-of-task Fisher (spec s.5)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from torch import Tensor

FISHER_BATCH = 256
"""Transitions per batch of the end-of-task Fisher (a memory bound; the Fisher is exact per
sample, so the batch size does not change it)."""


class RecentTransitions:
    """The most recent ``capacity`` (observation, action) pairs of the current task.

    Observations are kept in the observation space's dtype (uint8 frames), not the rollout
    buffer's float32: 2,048 Atari frame stacks take 58 MB.
    """

    def __init__(self, capacity: int, obs_dtype: np.dtype) -> None:
        self.capacity = capacity
        self.obs_dtype = obs_dtype
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()

    def __len__(self) -> int:
        return sum(len(actions) for _, actions in self._chunks)

    def clear(self) -> None:
        self._chunks.clear()

    def state_dict(self) -> dict[str, Tensor]:
        """The kept transitions as tensors (for a checkpoint): obs (n, ...), actions (n,)."""
        obs, actions = self._arrays()
        return {"obs": torch.from_numpy(obs), "actions": torch.from_numpy(actions)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.clear()
        if len(state["actions"]):
            self.add(state["obs"].numpy(), state["actions"].numpy())

    def add(self, obs: np.ndarray, actions: np.ndarray) -> None:
        """obs (n, *obs_shape), actions (n,) or (n, 1): append, dropping the oldest surplus."""
        actions = actions.reshape(len(obs)).astype(np.int64)
        self._chunks.append((obs.astype(self.obs_dtype), actions))
        while len(self) - len(self._chunks[0][1]) >= self.capacity:
            self._chunks.popleft()

    def add_rollout(self, buffer: RolloutBuffer) -> None:
        """All transitions of a full rollout buffer (n_steps, n_envs, ...)."""
        n = buffer.buffer_size * buffer.n_envs
        self.add(buffer.observations.reshape(n, *buffer.obs_shape), buffer.actions.reshape(n))

    def top_up(self, model: PPO) -> None:
        """Step ``model``'s env with actions sampled from its policy until full (needed only
        when a task was shorter than ``capacity`` steps or resumed near its end)."""
        env = model.get_env()
        obs = env.reset()
        while len(self) < self.capacity:
            actions, _ = model.predict(obs, deterministic=False)
            self.add(obs, actions)
            obs, *_ = env.step(actions)

    def fisher_batches(self, model: PPO) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches the end-of-task Fisher is estimated on (:meth:`batches` of
        :data:`FISHER_BATCH`), topped up first (:meth:`top_up`) if the task left fewer than
        ``capacity``; the top-up resets and steps ``model``'s env, so the next ``learn``
        starts from a fresh reset (``model._last_obs`` cleared), not from a stale
        observation."""
        if len(self) < self.capacity:
            self.top_up(model)
            model._last_obs = None
        return self.batches(FISHER_BATCH, model.device)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The newest ``capacity`` transitions: obs (n, ...), actions int64 (n,)."""
        if not self._chunks:
            return np.zeros((0,), self.obs_dtype), np.zeros((0,), np.int64)
        obs = np.concatenate([o for o, _ in self._chunks])[-self.capacity :]
        actions = np.concatenate([a for _, a in self._chunks])[-self.capacity :]
        return obs, actions

    def batches(self, batch_size: int, device: torch.device) -> Iterator[tuple[Tensor, Tensor]]:
        """The newest ``capacity`` transitions as (obs (B, ...), actions int64 (B,)) batches."""
        obs, actions = self._arrays()
        for i in range(0, len(actions), batch_size):
            yield (
                torch.as_tensor(obs[i : i + batch_size], device=device),
                torch.as_tensor(actions[i : i + batch_size], device=device),
            )
