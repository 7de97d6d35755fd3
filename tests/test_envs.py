"""The task sequences: Atari through ale-py with SB3's wrappers, MinAtar padded to one shape."""

import logging
import sys

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from blip_rl.envs import SCORES, SUITES, get_game, make_env, minatar
from blip_rl.envs.minatar import CHANNELS, MinAtarEnv


@pytest.mark.parametrize("game", SUITES["minatar"].games)
def test_minatar_games_share_one_padded_channel_first_space(game):
    env = MinAtarEnv(game)
    check_env(env)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (CHANNELS, 10, 10) and obs.dtype == np.uint8
    channels = env.game.state_shape()[2]
    assert not obs[channels:].any(), "padding channels stay zero"
    assert env.action_space.n == 6


def test_minatar_is_reproducible_from_its_seed():
    def rollout():
        env = make_env(get_game("breakout", "minatar"), 2, seed=3, train=True)
        env.reset()
        return [env.step(np.array([1, 2]))[0] for _ in range(20)]

    assert all(np.array_equal(a, b) for a, b in zip(rollout(), rollout()))


@pytest.mark.parametrize("name", ["kungfu", "spaceinvaders", "pong"])
def test_atari_games_give_stacked_channel_first_frames_and_18_actions(name):
    env = make_env(get_game(name, "atari"), 2, seed=0, train=True)
    obs = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    assert env.action_space.n == 18  # the full action set, so every task shares one space
    env.close()


def test_atari_evaluation_plays_capped_whole_games_with_raw_rewards():
    env = make_env(get_game("boxing", "atari"), 1, seed=0, train=False, max_episode_steps=30)
    env.reset()
    for _ in range(30):
        _, _, dones, infos = env.step(np.array([1]))
        if dones[0]:
            break
    assert dones[0], "the cap ends the episode within 30 agent steps"
    assert infos[0]["episode"]["l"] <= 30 * 4  # Monitor counts frames


@pytest.mark.parametrize(
    "name, platform, message",
    [
        ("kungfoo", "atari", "unknown atari game 'kungfoo'; choose from: kungfu, boxing"),
        ("pong", "minatar", "unknown minatar game 'pong'; choose from: breakout"),
    ],
)
def test_unknown_games_name_what_is_allowed(name, platform, message):
    with pytest.raises(ValueError, match=message):
        get_game(name, platform)


def test_ale_rom_names_reach_the_paper_games_and_their_scores():
    assert get_game("kung_fu_master", "atari") is SCORES["atari", "kungfu"]
    assert get_game("pong", "atari").normalize(0.0) is None


def test_normalized_score_is_clipped_to_unit_interval():
    boxing = SCORES["atari", "boxing"]
    assert boxing.normalize(boxing.random_score) == 0.0
    assert boxing.normalize(1000.0) == 1.0
    assert boxing.normalize(-5.0) == 0.0
    assert boxing.normalize(46.4) == pytest.approx((46.4 - 0.1) / (92.7 - 0.1))


def test_fake_games_are_minatar_shaped_and_reproducible_from_their_seed():
    def rollout(seed):
        env = make_env(get_game("fake_a", "fake"), 2, seed=seed, train=True)
        frames = [env.reset()] + [env.step(np.array([1, 2]))[0] for _ in range(12)]
        env.close()
        return frames

    frames = rollout(3)
    assert frames[0].shape == (2, CHANNELS, 10, 10) and frames[0].dtype == np.uint8
    assert all(np.array_equal(a, b) for a, b in zip(frames, rollout(3)))
    assert not all(np.array_equal(a, b) for a, b in zip(frames, rollout(4)))
    assert SUITES["fake"].games == ("fake_a", "fake_b")


def test_minatar_without_seaborn_drops_only_its_import_warning(monkeypatch, caplog):
    """MinAtar logs 'Cannot import matplotlib and/or seaborn' at import when seaborn is missing.
    That record is dropped without ``logging.disable``, which would also silence, process-wide,
    a warning logged meanwhile (a Ctrl-C's, from its signal handler)."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("minatar", "seaborn")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "seaborn", None)  # import seaborn -> ImportError
    minatar._environment_class.cache_clear()
    try:
        with caplog.at_level(logging.INFO):
            disabled = []
            monkeypatch.setattr(logging, "disable", disabled.append)
            MinAtarEnv("breakout").reset(seed=0)
            logging.getLogger("blip_rl").warning("SIGINT: stopping")
            monkeypatch.undo()
    finally:
        minatar._environment_class.cache_clear()
    assert disabled == []
    assert [r.getMessage() for r in caplog.records] == ["SIGINT: stopping"]
