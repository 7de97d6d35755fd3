"""A train run's summary: the A matrix with the standard error of each cell, ACC/BWT with
their errors and CIs, unclipped scores, and plasticity over tasks 2..T."""

import math

import pytest

from blip_rl.agents.state import EvalRow, RunState
from blip_rl.agents.summary import Z95, TrainSummary, summarize
from blip_rl.envs import Game
from blip_rl.infra.rundir import read_record

GAMES = (Game("a", "minatar", "a", 0.0, 10.0), Game("b", "minatar", "b", 0.0, 20.0))


def state(scores, errors):
    run = RunState()
    for k, (row, err) in enumerate(zip(scores, errors)):
        rows = [
            EvalRow(0, j, GAMES[j].name, policy, 100, mean, e * 10, None)
            for j, (mean, e) in enumerate(zip(row, err))
            for policy in ("sampled", "greedy")
        ]
        run.record_task_end(1000 * (k + 1), {}, rows)
    return run


def test_standard_errors_of_cells_acc_and_bwt_follow_from_the_episodes():
    # raw: a scores 12 (above its reference) then 11; b scores 10 (of 20)
    summary = summarize(
        GAMES, "blip", state([[12.0], [11.0, 10.0]], [[1.0], [2.0, 4.0]]), "sampled"
    )
    s = summary.scores
    assert s.A == [[1.0, None], [1.0, 0.5]]  # clipped: the drop from 12 to 11 does not show
    assert s.A_unclipped == [[1.2, None], [1.1, 0.5]]
    assert s.bwt == 0.0 and s.bwt_unclipped == pytest.approx(-0.1)
    assert s.A_raw_se == [[1.0, None], [2.0, 4.0]]
    assert s.A_se == [[0.1, None], [0.2, 0.2]]  # raw SE over R_ref - R_random
    assert s.acc_se == pytest.approx(math.hypot(0.2, 0.2) / 2)
    assert s.bwt_se == pytest.approx(math.hypot(0.2, 0.1))
    assert s.acc_ci == pytest.approx([s.acc - Z95 * s.acc_se, s.acc + Z95 * s.acc_se])
    data = summary.to_dict()
    assert {"acc_se", "acc_ci", "bwt_se", "bwt_ci", "bwt_unclipped", "A_se"} <= set(data)
    assert read_record(TrainSummary, data) == summary
    assert summary.run_state().errors == state([[12.0], [11.0, 10.0]], [[1.0], [2.0, 4.0]]).errors


def test_mean_plasticity_leaves_out_the_first_task_which_every_method_learns_alike():
    scratch = {p: {"a": 10.0, "b": 20.0} for p in ("sampled", "greedy")}
    summary = summarize(
        GAMES, "blip", state([[5.0], [5.0, 15.0]], [[0.0], [0.0, 0.0]]), "sampled", scratch
    )
    assert summary.scores.plasticity == [0.5, 0.75]
    assert summary.scores.first_task_plasticity == 0.5
    assert summary.scores.mean_plasticity == 0.75  # tasks 2..T only
