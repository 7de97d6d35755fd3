"""BLIP in a user's own stable-baselines3 code: ``PPO(BlipActorCriticPolicy, env)`` on vector
or image observations and ``BlipCallback`` as the task boundary, with no blip-rl trainer."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.envs import FakeImageEnv

import blip_rl.agents
from blip_rl import blip_layers
from blip_rl.agents import BlipActorCriticPolicy, BlipCallback, BlipMlpTrunk, BlipTrunk
from blip_rl.core.clip import freeze_radius

PPO_KW = {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "seed": 0, "device": "cpu"}


def intervals(policy: BlipActorCriticPolicy) -> dict:
    """Each BLIP tensor's frozen bits and centre, by (layer name, parameter name)."""
    return {
        (name, pname): (layer.frozen_bits(pname).clone(), layer.center(pname).clone())
        for name, layer in blip_layers(policy)
        for pname, _, _ in layer.blip_tensors()
    }


def test_two_cartpole_tasks_through_blip_callback_keep_task_0_bits(tmp_path):
    env = gym.make("CartPole-v1")
    model = PPO(BlipActorCriticPolicy, env, policy_kwargs={"n_tasks": 2}, **PPO_KW)
    assert isinstance(model.policy.features_extractor, BlipMlpTrunk)
    first = BlipCallback(task=0, fisher_samples=100)
    model.learn(128, callback=first)
    layers = first.report["layers"]
    assert layers and all(layer["frozen_mean"] > 0 for layer in layers)
    after_task_0 = intervals(model.policy)

    model.set_env(gym.make("CartPole-v1"))
    model.learn(128, callback=BlipCallback(task=1, fisher_samples=100), reset_num_timesteps=False)
    for name, layer in blip_layers(model.policy):
        for pname, param, bound in layer.blip_tensors():
            frozen, center = after_task_0[name, pname]
            u = param.detach() / bound
            assert ((u - center).abs() <= freeze_radius(frozen, layer.bits) + 1e-6).all()

    model.save(tmp_path / "model")
    loaded = PPO.load(tmp_path / "model", device="cpu")
    obs = np.zeros((1, 4), dtype=np.float32)
    for task in (0, 1):
        model.policy.set_task(task)
        loaded.policy.set_task(task)
        assert model.predict(obs, deterministic=True) == loaded.predict(obs, deterministic=True)


def test_image_observations_get_the_cnn_trunk():
    env = FakeImageEnv(screen_height=84, screen_width=84, n_channels=4, channel_first=True)
    model = PPO(BlipActorCriticPolicy, env, **PPO_KW)
    assert isinstance(model.policy.features_extractor, BlipTrunk)


@pytest.mark.parametrize(
    ("callback", "message"),
    [
        (lambda: BlipCallback(task=1), "task 1 cannot start after 0 consolidated task(s)"),
        (lambda: BlipCallback(task=-1), "task must be >= 0, got -1"),
        (lambda: BlipCallback(task=0, fisher_samples=0), "fisher_samples must be >= 1, got 0"),
    ],
)
def test_a_misused_callback_says_what_is_wrong(callback, message):
    model = PPO(BlipActorCriticPolicy, gym.make("CartPole-v1"), **PPO_KW)
    with pytest.raises((ValueError, TypeError)) as error:
        model.learn(64, callback=callback())
    assert message in str(error.value)


def test_a_plain_policy_or_continuous_actions_are_refused():
    with pytest.raises(TypeError, match="needs a BlipActorCriticPolicy, got ActorCriticPolicy"):
        PPO("MlpPolicy", gym.make("CartPole-v1"), **PPO_KW).learn(64, callback=BlipCallback(0))
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        PPO(BlipActorCriticPolicy, gym.make("Pendulum-v1"), **PPO_KW).learn(
            64, callback=BlipCallback(0)
        )


def test_observations_neither_images_nor_vectors_are_refused():
    space = gym.spaces.Box(0, 1, (3, 5), np.float32)
    env = gym.make("CartPole-v1")
    env.observation_space = space
    with pytest.raises(ValueError, match=r"channel-first image \(C, H, W\) or 1-D Box"):
        PPO(BlipActorCriticPolicy, env, **PPO_KW)


def readme_sb3_example() -> str:
    """The Python block of README.md's stable-baselines3 section."""
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## BLIP in your own stable-baselines3 code") :]
    return section[section.index("```python\n") + 10 : section.index("\n```\n")]


def test_the_readme_example_runs_and_keeps_task_0_in_its_intervals(monkeypatch):
    seen: list[dict] = []

    class Watched(blip_rl.agents.BlipCallback):
        """The README's callback, noting the intervals each task starts with."""

        def _on_training_start(self) -> None:
            super()._on_training_start()
            seen.append(intervals(self.model.policy))

    monkeypatch.setattr(blip_rl.agents, "BlipCallback", Watched)
    code = readme_sb3_example()
    assert "STEPS = 20_000" in code
    namespace: dict = {}
    exec(compile(code.replace("STEPS = 20_000", "STEPS = 512"), "README.md", "exec"), namespace)
    policy = namespace["model"].policy
    assert len(seen) == 2 and all(int(layer.tasks_seen) == 2 for _, layer in blip_layers(policy))
    assert any((s > 0).any() for s, _ in seen[1].values())  # task 0 froze bits
    for (name, pname), (frozen, center) in seen[1].items():
        layer = dict(blip_layers(policy))[name]
        u = getattr(layer, pname).detach() / layer.param_bound(pname)
        assert ((u - center).abs() <= freeze_radius(frozen, layer.bits) + 1e-6).all()
