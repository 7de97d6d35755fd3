"""Every default that makes BLIP the authors' BLIP, pinned to the numbers of the spec (sections
1, 4, 5, 8) and of their code (Yujun-Shi/BLIP): the priors for the exact Fisher, the RL fan,
the information gain forms, the Fisher's actions and the paper preset."""

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from blip_rl import BlipConfig, information_gain
from blip_rl.agents import BlipTrunk
from blip_rl.agents.config import PPOConfig, TrainConfig
from blip_rl.agents.presets import RECIPES, RL_FISHER_BATCH
from blip_rl.classification.benchmarks import BENCHMARKS
from blip_rl.classification.config import ClassifyConfig
from blip_rl.core.blip import CLASSIFICATION_FISHER_BATCH, LIBRARY_DEFAULTS
from blip_rl.core.layers import blip_layers
from blip_rl.infra.flags import config_from_dict


def test_the_authors_fisher_batches_are_100_and_2000_over_32():
    assert CLASSIFICATION_FISHER_BATCH == 100  # estimate_fisher(batch_size=100)
    assert RL_FISHER_BATCH == 2000 // 32 == 62  # 16 x 125 transitions in 32 mini-batches


@pytest.mark.parametrize(
    "benchmark, published",
    [("mnist5", 1e-15), ("pmnist", 1e-15), ("digits5", 1e-15), ("pdigits", 1e-15),
     ("fmnist5", 1e-15), ("pfmnist", 1e-15), ("cifar", 5e-16), ("miniimagenet", 5e-16),
     ("five", 5e-17)],
)  # fmt: skip
def test_classification_priors_are_the_published_ones_times_100_squared(benchmark, published):
    # a benchmark added later is pinned here too
    assert set(BENCHMARKS) == {"mnist5", "pmnist", "digits5", "pdigits", "fmnist5", "pfmnist",
                               "cifar", "miniimagenet", "five"}  # fmt: skip
    assert BENCHMARKS[benchmark].fisher_prior == pytest.approx(published * 1e4, rel=1e-12)
    cfg = ClassifyConfig(benchmark=benchmark, preset="paper").resolved()
    assert cfg.blip.fisher_prior == BENCHMARKS[benchmark].fisher_prior
    default = ClassifyConfig(benchmark=benchmark).resolved().blip.fisher_prior
    calibrated = {"fmnist5": 1e-13}  # docs/results.md, Fashion-MNIST
    assert default == calibrated.get(benchmark, BENCHMARKS[benchmark].fisher_prior)


@pytest.mark.parametrize("suite", ["atari6", "minatar"])
def test_rl_priors_are_the_atari_one_times_62_squared(suite):
    assert TrainConfig(suite=suite).resolved().blip.fisher_prior == pytest.approx(1.922e-14)
    assert 5e-18 * 62**2 == pytest.approx(1.922e-14)


def test_the_library_defaults_are_the_classification_ones():
    assert LIBRARY_DEFAULTS.fisher_prior == 1e-11  # MNIST's
    resolved = ClassifyConfig(benchmark="mnist5").resolved().blip
    assert resolved == LIBRARY_DEFAULTS


def test_the_rl_trunk_uses_the_authors_fan_max_out_channels_in_channels_k_k():
    trunk = BlipTrunk(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8))
    fans = [layer.fan for _, layer in blip_layers(trunk)]
    assert fans == [max(32, 4 * 8 * 8), max(64, 32 * 4 * 4), max(128, 64 * 3 * 3), 128 * 7 * 7]
    for _, layer in blip_layers(trunk):
        assert math.isclose(layer.bound, 6 / math.sqrt(layer.fan))


@pytest.mark.parametrize("t", [1, 2, 5])
def test_the_two_information_gain_forms(t):
    f_old, f_new = torch.tensor([1.0, 1.0, 1.0]), torch.tensor([0.0, 0.5, 8.0])
    paper = information_gain(f_old, f_new, t, "paper")
    authors = information_gain(f_old, f_new, t, "authors")
    torch.testing.assert_close(paper, 0.5 * torch.log2((t * f_old + f_new) / (t * f_old)))
    torch.testing.assert_close(authors, 0.5 * torch.log2((t * f_old + f_new) / ((t + 1) * f_old)))
    assert (paper[1:] > 0).all() and authors[0] < 0  # the authors' form: 0 bits where F_t small
    with pytest.raises(ValueError, match="unknown information gain form 'eq9'"):
        information_gain(f_old, f_new, t, "eq9")


def test_the_fisher_draws_actions_from_the_final_policy_by_default():
    for recipe in RECIPES.values():
        assert recipe.fisher_actions == "resampled"
    assert TrainConfig().resolved().fisher_actions == "resampled"
    assert TrainConfig(fisher_actions="rollout").resolved().fisher_actions == "rollout"


def test_the_paper_preset_is_the_authors_rl_code():
    paper = TrainConfig(suite="atari6", preset="paper").resolved()
    assert paper.blip == BlipConfig(
        bits=20,
        fisher_prior=paper.blip.fisher_prior,
        snap=True,
        bit_budget=1.0,
        budget_over="all",
        ig="authors",
        release=0.0,  # resolved: config.json says "none released", not null
    )
    assert paper.blip.fisher_prior == pytest.approx(1.922e-14)
    assert (paper.eval_policy, paper.fisher_actions) == ("greedy", "resampled")
    assert paper.critic_trunk == "shared"  # one trunk for the actor and the critic
    assert paper.ppo == PPOConfig()  # 16 envs x 125 steps, 4 epochs x 8 minibatches, clip 0.1
    assert (paper.n_envs, paper.ppo.n_steps, paper.ppo.clip_range) == (16, 125, 0.1)
    given = TrainConfig(preset="paper", blip=BlipConfig(snap=False)).resolved()
    assert given.blip.snap is False  # a flag given wins over the preset


def test_the_default_preset_keeps_a_budget_a_float_critic_trunk_and_sampled_evaluation():
    default = TrainConfig(suite="minatar").resolved()
    assert (default.blip.ig, default.blip.bit_budget, default.blip.snap, default.eval_policy) == (
        "authors",
        0.3,
        False,
        "sampled",
    )
    assert default.critic_trunk == "own"
    assert TrainConfig(critic_trunk="shared").resolved().critic_trunk == "shared"


def test_a_run_written_before_the_critic_trunk_setting_reads_as_a_shared_trunk():
    old = dataclasses.asdict(TrainConfig(suite="minatar").resolved())
    del old["critic_trunk"]
    assert config_from_dict(TrainConfig, old).critic_trunk == "shared"


def test_the_classify_paper_preset_is_the_authors_information_gain_and_default_eq_8():
    paper = ClassifyConfig(benchmark="fmnist5", preset="paper").resolved().blip
    default = ClassifyConfig(benchmark="fmnist5").resolved().blip
    assert (paper.ig, default.ig) == ("authors", "paper")
    for blip in (paper, default):  # the rest: the snap, no budget
        assert blip.snap is True and blip.bit_budget == 1.0
    # the authors' prior for the paper preset, fmnist5's calibrated one for the default
    assert (paper.fisher_prior, default.fisher_prior) == (1e-11, 1e-13)
    explicit = ClassifyConfig(
        benchmark="fmnist5", preset="paper", blip=BlipConfig(fisher_prior=3e-12)
    )
    assert explicit.resolved().blip.fisher_prior == 3e-12  # a given f0 wins over both
    with pytest.raises(ValueError, match="unknown preset 'authors'; choose from: default, paper"):
        ClassifyConfig(preset="authors")
