"""BLIP's plasticity levers: units released after a task, per-task FiLM and input stems; each
keeps old tasks exactly as they were where it claims to."""

import numpy as np
import torch
from stable_baselines3 import PPO

from blip_rl import Blip, BlipConfig, blip_layers, sampled_log_prob
from blip_rl.agents import BlipActorCriticPolicy, TaskFiLM, TaskStem
from blip_rl.classification.nets import mlp
from blip_rl.core.consolidate import units_to_release
from blip_rl.envs import get_game, make_env


def test_the_lightest_units_holding_the_share_of_the_mass_are_released():
    mass = torch.tensor([5.0, 0.1, 3.0, 0.0, 0.4, 1.5])  # total 10
    assert units_to_release(mass, 0.05).tolist() == [False, True, False, True, True, False]
    massless = units_to_release(mass, 0.0)  # a share of 0 leaves only the units with no mass
    assert massless.tolist() == [False, False, False, True, False, False]


def test_released_units_start_afresh_and_the_finished_heads_no_longer_read_them():
    torch.manual_seed(0)
    model = mlp((1, 4, 4), hidden=32)
    model.add_head(3)
    blip = Blip(model, BlipConfig(fisher_prior=1e-6, release=0.2))
    x = torch.randn(64, 1, 4, 4)
    blip.on_task_end(0, [x], lambda m, b: sampled_log_prob(m(b, 0)))
    last = blip_layers(model)[-1][1]
    released = model.heads[0].weight.abs().sum(0) == 0
    assert 0 < int(released.sum()) < 32
    assert blip.released == [int(released.sum())]
    assert not last.weight_frozen_bits[released].any() and last.weight[released].abs().sum() > 0
    assert (last.weight_frozen_bits[~released] > 0).any()
    before = model(x, 0)
    with torch.no_grad():  # whatever a new task does with the released units ...
        last.weight[released] = torch.randn_like(last.weight[released])
        last.bias[released] = 5.0
    torch.testing.assert_close(model(x, 0), before, rtol=0, atol=0)  # ... task 0 never sees it


def test_per_task_film_and_stems_of_other_tasks_never_change():
    env = make_env(get_game("fake_a", "fake"), 2, seed=0, train=True)
    model = PPO(BlipActorCriticPolicy, env, n_steps=32, batch_size=32, learning_rate=0.01,
                device="cpu", policy_kwargs={"n_tasks": 2, "features_extractor_kwargs": {
                    "n_tasks": 2, "film": True, "stem": True}})  # fmt: skip
    parts = [m for m in model.policy.modules() if isinstance(m, TaskFiLM | TaskStem)]
    assert [type(p).__name__ for p in parts] == ["TaskStem", "TaskFiLM", "TaskFiLM"]
    model.policy.set_task(1)
    before = [[p.detach().clone() for p in part.parameters()] for part in parts]
    model.learn(64)
    for part, saved in zip(parts, before):
        for now, then in zip(part.parameters(), saved):
            assert torch.equal(now[0], then[0])  # task 0's copy: untouched
            assert not torch.equal(now[1], then[1])  # task 1's learned
    obs = torch.as_tensor(np.stack([env.observation_space.sample() for _ in range(4)]))
    model.policy.set_task(0)
    assert all(int(part.task) == 0 for part in parts)
    assert model.policy.predict_values(obs).shape == (4, 1)
