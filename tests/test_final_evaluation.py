"""The task-end evaluation that fills A: further batches of new, paired episode starts while
the standard error of the normalized score is above ``--final-eval-se``."""

import csv
import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import FINAL_EVAL_BATCHES, needs_more_episodes, pooled
from blip_rl.envs import get_game
from blip_rl.infra.flags import config_from_dict
from tests.test_agents import train

scores = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.integers(1, 4), st.integers(2, 6), st.data())
def test_pooled_batches_give_the_mean_and_std_of_all_their_episodes(n_batches, episodes, data):
    returns = np.array(data.draw(st.lists(scores, min_size=n_batches * episodes,
                                          max_size=n_batches * episodes)))  # fmt: skip
    batches = [(b.mean(), b.std(ddof=1)) for b in returns.reshape(n_batches, episodes)]
    mean, std = pooled(batches, episodes)
    assert mean == pytest.approx(returns.mean(), abs=1e-9)
    assert std == pytest.approx(returns.std(ddof=1), rel=1e-6, abs=1e-6)


def test_more_episodes_while_the_normalized_standard_error_is_above_the_target():
    game = get_game("space_invaders", "minatar")
    scale = game.normalization_scale
    std = 0.5 * scale  # one episode's normalized score has a standard deviation of 0.5
    assert needs_more_episodes(game, std, 200, 0.03)  # 0.5 / sqrt(200) = 0.035
    assert not needs_more_episodes(game, std, 400, 0.03)  # 0.025
    assert not needs_more_episodes(game, std, 200, 0.0)  # 0: one batch
    no_reference = dataclasses.replace(game, reference_score=None)
    assert not needs_more_episodes(no_reference, std, 200, 0.03)


def task_end_rows(run):
    with open(run / "eval.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["step"]) for r in rows)
    return [r for r in rows if int(r["step"]) == last and r["policy"] == "sampled"]


def test_a_task_end_plays_batches_until_the_target_or_the_cap(tmp_path):
    game = ["--suite", "minatar", "--games", "space_invaders", "--steps-per-task", "64"]
    train(tmp_path / "one", *game, "--final-eval-se", "0")
    train(tmp_path / "tight", *game, "--final-eval-se", "1e-6")
    (one,), (tight,) = task_end_rows(tmp_path / "one"), task_end_rows(tmp_path / "tight")
    assert int(one["episodes"]) == 2
    assert float(one["std_return"]) > 0  # random play scores unevenly: the target is not met
    assert int(tight["episodes"]) == 2 * FINAL_EVAL_BATCHES  # the cap


def test_runs_written_before_the_target_existed_read_as_one_batch():
    config = dataclasses.asdict(TrainConfig(suite="fake"))
    assert TrainConfig().final_eval_se == 0.03
    del config["final_eval_se"]
    assert config_from_dict(TrainConfig, config).final_eval_se == 0.0
