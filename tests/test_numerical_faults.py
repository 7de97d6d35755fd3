"""A NaN or inf loss or Fisher stops a run with an error naming the task and step; nothing is
updated with it, the newest checkpoint stays good, and the run resumes from it."""

import json
import math
import re

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import VecEnvWrapper

import blip_rl.agents.trainer as trainer
from blip_rl.commands.main import main
from blip_rl.infra.checkpoints import latest_checkpoint
from tests.cli import TWO_TASKS as RUN
from tests.cli import run_cli


class BadRewards(VecEnvWrapper):
    """A faulty env: from its ``after``-th step on, every reward is ``value``."""

    def __init__(self, venv, after, value):
        super().__init__(venv)
        self.after, self.value, self.steps = after, value, 0

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.steps += 1
        if self.steps >= self.after:
            rewards = np.full_like(rewards, self.value)
        return obs, rewards, dones, infos


def run(out, capsys):
    try:
        status = main(["train", "--out", str(out), *RUN])
    except SystemExit as e:
        status = e.code
    return status, capsys.readouterr().err.strip().splitlines()


def assert_checkpoint_is_finite(out):
    state = latest_checkpoint(out / "checkpoints").state
    for name, tensor in state["policy"].items():
        assert torch.isfinite(tensor.float()).all(), name
    return state


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # SB3's GAE
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_loss_stops_the_run_before_any_weight_changes(
    tmp_path, capsys, monkeypatch, value
):
    out = tmp_path / "run"
    make_env = trainer.make_env

    def faulty_second_game(game, *args, **kwargs):
        env = make_env(game, *args, **kwargs)
        return BadRewards(env, after=20, value=value) if game.name == "space_invaders" else env

    monkeypatch.setattr(trainer, "make_env", faulty_second_game)
    status, err = run(out, capsys)
    assert status == 1
    assert err[-1].startswith("blip-rl train: error: task 1 (space_invaders) at env step 448: ")
    assert (
        "gradient entries are NaN or inf (a NaN or inf loss, or a penalty that diverged); "
        "the optimizer step was not taken" in err[-1]
    )
    assert err[-1].endswith(f"the newest checkpoint ({out}/checkpoints/task_0) is from before it")
    assert [p.name for p in (out / "bits").glob("task_*")] == ["task_0.npz"]
    state = assert_checkpoint_is_finite(out)
    assert state["num_timesteps"] == 384

    monkeypatch.undo()  # the env is fixed: the run goes on from its last good checkpoint
    assert main(["train", "--out", str(out), *RUN, "--resume"]) == 0
    assert json.loads((out / "summary.json").read_text())["task_end_steps"] == [384, 768]


def test_a_non_finite_fisher_is_never_consolidated_into_the_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    resampled = trainer.FISHER_LOG_LIKELIHOODS["resampled"]
    monkeypatch.setitem(
        trainer.FISHER_LOG_LIKELIHOODS,
        "resampled",
        lambda policy, batch: resampled(policy, batch) * math.inf,
    )
    status, err = run(out, capsys)
    assert status == 1
    assert err[-1].startswith(
        "blip-rl train: error: task 0 (breakout) at env step 384: the Fisher information of "
        "features_extractor.cnn.0.weight has "
    )
    assert "NaN or inf entries; nothing was consolidated" in err[-1]
    assert not (out / "bits").exists()
    state = assert_checkpoint_is_finite(out)
    assert state["num_timesteps"] == 256  # step_256, not a task_0 with NaN in its state
    for name, tensor in state["policy"].items():
        if name.endswith("_frozen_bits"):
            assert not tensor.any(), f"{name}: bits frozen before any task ended"


def test_ewc_that_would_diverge_under_sgd_stops_before_its_first_step(tmp_path):
    # lr 0.01 x lambda 1e9 x F is far above 2 after task 0: the penalty's step would overshoot
    out = tmp_path / "run"
    proc = run_cli("classify", "--method", "ewc", "--ewc-lambda", "1e9", "--epochs", "1",
                   "--fisher-samples", "32", "--out", str(out), "--device", "cpu",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"blip-rl classify: error: seed 0: task 1 \(digits-1\): online EWC's penalty diverges "
        r"under SGD: lr 0\.01 x lambda 1e\+09 x F reaches [\d.]+ for [\d,]+ weights \(stable "
        r"below 2\); set ewc_lambda \(--ewc-lambda\) below [\d.e+]+",
        last,
    ), last
    assert (out / "checkpoints" / "seed_0" / "task_0").is_dir()  # task 0 is kept
