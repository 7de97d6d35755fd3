"""The continual PPO agent: policy, the RL loop with every method, checkpoints and resume,
and the command line: unit tests on the fake image games (random frames, no reward), end to
end on tiny real MinAtar and Atari runs."""

import csv
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.envs import FakeImageEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from blip_rl import Blip, BlipConfig, blip_layers
from blip_rl.agents import BlipActorCriticPolicy, BlipTrunk
from blip_rl.agents.model import load_model
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.samples import RecentTransitions
from blip_rl.agents.trainer import ContinualTrainer, TaskLinearSchedule, resampled_log_likelihood
from blip_rl.commands.main import main
from blip_rl.core.clip import freeze_radius
from blip_rl.envs import get_game, make_env
from tests.cli import assert_one_line_error, run_cli

TINY = [
    "--n-envs", "2", "--n-steps", "32", "--n-minibatches", "2", "--n-epochs", "1",
    "--eval-episodes", "1", "--final-eval-episodes", "2", "--final-eval-se", "0",
    "--eval-max-steps", "40", "--fisher-samples", "96",
]  # fmt: skip
"""Tiny PPO and evaluation budgets; one batch of task-end episodes (tests/test_final_evaluation.py
plays more)."""


def train(out, *args):
    assert main(["train", "--out", str(out), "--device", "cpu", *TINY, *args]) == 0
    return json.loads((out / "summary.json").read_text())


FAKE = ("--suite", "fake")


def policy_at(out, checkpoint):
    """The policy saved in ``out``'s checkpoint ``checkpoint``, built from the run's config."""
    return load_model(open_train_run(out), checkpoint, torch.device("cpu")).policy


def eval_rows(out):
    with open(out / "eval.csv") as f:
        return list(csv.DictReader(f))


ATARI_SLOW = pytest.mark.slow  # the 84x84 trunk and ALE: seconds per method


@pytest.mark.parametrize(
    "method, suite, games",
    [(m, "minatar", "breakout,asterix") for m in ("blip", "ewc", "ft")]
    + [("blip", "atari6", "kungfu,boxing")]
    + [pytest.param(m, "atari6", "kungfu,boxing", marks=ATARI_SLOW) for m in ("ewc", "ft")],
)
def test_every_method_learns_a_two_game_sequence_and_writes_the_run(tmp_path, suite, games, method):
    out = tmp_path / "run"
    summary = train(out, "--suite", suite, "--games", games, "--method", method,
                    "--steps-per-task", "128", "--eval-interval", "64")  # fmt: skip
    names = games.split(",")
    assert summary["games"] == names and summary["tasks_done"] == 2
    assert summary["task_end_steps"] == [128, 256]
    assert len(summary["A_raw"]) == 2 and summary["A_raw"][0][1] is None
    rows = eval_rows(out)
    assert list(rows[0]) == [
        "step", "task", "game", "policy", "episodes", "mean_return", "std_return", "normalized"
    ]  # fmt: skip
    assert {(r["step"], r["policy"], r["episodes"]) for r in rows if r["step"] == "128"} == {
        ("128", "sampled", "2"),
        ("128", "greedy", "1"),
    }  # fmt: skip  the task end: --final-eval-episodes for the run's policy
    assert {(r["step"], r["game"], r["policy"]) for r in rows} >= {
        (step, game, policy)
        for step, game in [("128", names[0]), ("256", names[1])]
        for policy in ("greedy", "sampled")
    }
    assert {r["game"] for r in rows if r["step"] == "192"} == set(names)  # all seen tasks
    for k in range(2):
        bits = np.load(out / "bits" / f"task_{k}.npz")
        assert bits["features_extractor.cnn.0.weight"].dtype == np.uint8
        assert (bits["features_extractor.cnn.0.weight"].max() > 0) == (method == "blip")
    assert json.loads((out / "config.json").read_text())["method"] == method
    assert summary["eval_policy"] == "sampled" and set(summary["by_policy"]) == {
        "greedy", "sampled"
    }  # fmt: skip
    assert summary["A_raw"] == summary["by_policy"]["sampled"]["A_raw"]
    assert (summary["frozen_fraction"][0] is not None) == (method == "blip")
    if suite == "atari6":
        assert summary["acc"] is not None and 0 <= summary["acc"] <= 1
    for key in ("acc_se", "acc_ci", "bwt_se", "bwt_ci", "bwt_unclipped", "A_se", "A_unclipped"):
        assert key in summary and key in summary["by_policy"]["greedy"]


def test_blip_keeps_frozen_trunk_in_its_intervals_and_old_heads_fixed(tmp_path):
    out = tmp_path / "run"
    train(out, *FAKE, "--steps-per-task", "256", "--n-epochs", "4", "--learning-rate", "0.01")
    after_0, after_1 = policy_at(out, "task_0"), policy_at(out, "task_1")
    ckpt_1 = {name: dict(layer.named_parameters()) for name, layer in blip_layers(after_1)}
    moved = False
    for name, layer in blip_layers(after_0):
        for pname, param, bound in layer.blip_tensors():
            s, c = layer.frozen_bits(pname), layer.center(pname)
            u = ckpt_1[name][pname].detach() / bound
            # task_1 (snapped or not) stays inside task 0's intervals.
            assert ((u - c).abs() <= freeze_radius(s, layer.bits) + 1e-6).all()
            moved |= bool((u != param.detach() / bound).any())
    assert moved, "the trunk learned something on task 1"
    for heads_0, heads_1 in [(after_0.action_net, after_1.action_net),
                             (after_0.value_net, after_1.value_net)]:  # fmt: skip
        for p0, p1 in zip(heads_0.heads[0].parameters(), heads_1.heads[0].parameters()):
            assert torch.equal(p0, p1)


def test_a_crashed_run_resumes_at_its_last_checkpoint_without_retraining(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = [*FAKE, "--steps-per-task", "192", "--checkpoint-interval", "64", "--method", "ewc"]
    end_task = ContinualTrainer._end_task

    def crash_in_task_1(self):
        if self.task == 1:
            raise RuntimeError("crashed")  # during the last update of task 1
        end_task(self)

    monkeypatch.setattr(ContinualTrainer, "_end_task", crash_in_task_1)
    with pytest.raises(RuntimeError, match="crashed"):
        train(out, *args)
    monkeypatch.undo()
    kept = {p.name for p in (out / "checkpoints").iterdir()}
    assert kept == {"task_0", "step_256", "step_320"}  # the newest two mid-task ones
    bits_0 = (out / "bits" / "task_0.npz").read_bytes()
    ewc_0 = torch.load(out / "checkpoints" / "step_320" / "state.pt")["strategy"]
    rows_before = [r for r in eval_rows(out) if int(r["step"]) <= 320]

    proc = run_cli("train", "--out", str(out), "--resume", "--device", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task_end_steps"] == [192, 384]  # task 1 finished, task 0 not redone
    assert (out / "bits" / "task_0.npz").read_bytes() == bits_0
    assert "resuming" in proc.stderr and "task 0 (fake_a)" not in proc.stderr
    assert eval_rows(out)[: len(rows_before)] == rows_before
    steps = [int(r["step"]) for r in eval_rows(out)]
    assert steps == sorted(steps)
    assert {p.name for p in (out / "checkpoints").iterdir()} == kept | {"task_1"}
    assert ewc_0["tasks_seen"] == 1  # EWC's own state travelled with the checkpoint
    resumed = torch.load(out / "checkpoints" / "task_1" / "state.pt")["strategy"]
    assert resumed["tasks_seen"] == 2


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    out = tmp_path / "run"
    train(out, *FAKE, "--games", "fake_a", "--steps-per-task", "64")
    before = (out / "checkpoints" / "task_0" / "state.pt").read_bytes()
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert proc.returncode == 0 and "task 0" not in proc.stderr
    assert (out / "checkpoints" / "task_0" / "state.pt").read_bytes() == before


def test_policy_works_alone_in_sb3_ppo_and_survives_save_load(tmp_path):
    env = DummyVecEnv([lambda: FakeImageEnv(18, 84, 84, 4, channel_first=True)] * 2)
    model = PPO(BlipActorCriticPolicy, env, n_steps=16, batch_size=16, n_epochs=1,
                policy_kwargs={"n_tasks": 3}, device="cpu")  # fmt: skip
    model.policy.set_task(2)
    model.learn(32)
    model.save(tmp_path / "m.zip")
    loaded = PPO.load(tmp_path / "m.zip", device="cpu")
    assert loaded.policy.n_tasks == 3 and loaded.policy.task == 2
    for (_, a), (_, b) in zip(blip_layers(model.policy), blip_layers(loaded.policy)):
        assert torch.equal(a.weight_fisher, b.weight_fisher) and torch.equal(a.weight, b.weight)
    with pytest.raises(ValueError, match="task 3 out of range; this policy has 3 task"):
        loaded.policy.set_task(3)


@pytest.mark.parametrize(
    "shape, width, features, params",
    [((10, 10, 10), 1, 256, 2_912 + 524_544), ((10, 10, 10), 2, 512, 5_824 + 2_097_664),
     ((4, 84, 84), 1, 1024, 8_224 + 32_832 + 73_856 + 6_423_552)],
)  # fmt: skip
def test_trunks_have_the_documented_width(shape, width, features, params):
    trunk = BlipTrunk(gym.spaces.Box(0, 255, shape, np.uint8), width=width)
    assert trunk.features_dim == features
    assert sum(p.numel() for p in trunk.parameters()) == params


def test_linear_schedule_decays_to_zero_within_each_task():
    schedule = TaskLinearSchedule(1e-3, start=1000, end=3000)
    at = lambda step: schedule(1 - step / 3000)  # noqa: E731 - how SB3 calls it
    assert at(1000) == pytest.approx(1e-3)
    assert at(2000) == pytest.approx(5e-4)
    assert at(3000) == 0.0 and at(3100) == 0.0


def test_recent_transitions_keep_the_newest_samples():
    store = RecentTransitions(5, np.dtype(np.uint8))
    for start in (0, 3, 6):
        store.add(np.arange(start, start + 3, dtype=np.float32)[:, None], np.arange(3))
    obs = torch.cat([o for o, _ in store.batches(2, torch.device("cpu"))]).flatten()
    assert obs.tolist() == [4, 5, 6, 7, 8] and obs.dtype == torch.uint8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--games", "kungfoo"], "unknown atari game 'kungfoo'; choose from: kungfu, boxing"),
        (["--suite", "atari7"], "unknown suite 'atari7' for --suite; choose from: atari6, minatar"),
        (["--method", "si"], "unknown method 'si' for --method; choose from: blip, ewc, ft"),
        (["--steps-per-task", "0"], "steps_per_task must be an integer >= 1, got 0"),
        (["--n-envs", "two"], "invalid integer value 'two'"),
        (["--gamma", "1.5"], "gamma must be in [0, 1], got 1.5"),
        (["--games", "boxing,boxing"], "games must be distinct, got boxing,boxing"),
        (
            ["--games", "kungfu,breakout"],
            "game 'breakout' is on two platforms: give --suite "
            "atari6 (the Atari 2600 game, 10M steps per task) or --suite minatar",
        ),
        (["--resume"], "holds no run to resume (no config.json)"),
        (["--bit-budget", "0"], "bit_budget must be a share in (0, 1], got 0.0"),
        (["--trunk-width", "0"], "trunk_width must be an integer >= 1, got 0"),
        (["--eval-policy", "argmax"], "unknown eval_policy 'argmax' for --eval-policy"),
        (["--fisher-actions", "taken"], "unknown fisher_actions 'taken' for --fisher-actions"),
    ],
)
def test_bad_input_gets_a_one_line_error_and_exit_2(tmp_path, args, message):
    proc = run_cli("train", "--out", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert_one_line_error(proc, message)
    assert not (tmp_path / "out").exists()


def test_an_unwritable_run_directory_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    proc = run_cli("train", "--out", str(tmp_path / "file" / "run"), cwd=tmp_path)
    assert proc.returncode == 2 and "cannot create output directory" in proc.stderr


def test_an_existing_run_is_never_overwritten_or_resumed_with_other_settings(tmp_path):
    out = tmp_path / "run"
    train(out, *FAKE, "--games", "fake_a", "--steps-per-task", "64")
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = run_cli("train", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and "is not empty; pass --resume" in proc.stderr
    proc = run_cli("train", "--out", str(out), "--resume", "--seed", "7", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--seed 7 differs from the run's 0 (config.json)" in proc.stderr
    assert files == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_broken_checkpoint_is_reported_not_trained_over(tmp_path):
    out = tmp_path / "run"
    killed = run_cli("train", "--out", str(out), "--device", "cpu", *TINY, *FAKE,
                     "--steps-per-task", "64", cwd=tmp_path, kill_at="step:100")  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["task_0"]
    (out / "checkpoints" / "task_0" / "state.pt").unlink()
    summary = (out / "summary.json").read_bytes()
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert_one_line_error(proc, "/checkpoints': task_0: missing or unreadable files")
    assert "no intact checkpoint in" in proc.stderr
    assert (out / "summary.json").read_bytes() == summary


def test_subprocess_envs_learn_exactly_as_in_process_envs(tmp_path):
    args = (*FAKE, "--steps-per-task", "128")
    summaries = {v: train(tmp_path / v, *args, "--vec-env", v) for v in ("dummy", "subproc")}
    assert summaries["subproc"]["A_raw"] == summaries["dummy"]["A_raw"]
    assert eval_rows(tmp_path / "subproc") == eval_rows(tmp_path / "dummy")


def frozen_bits_hold(policy):
    """Whether every BLIP parameter of ``policy`` is within its interval (Eq. 4)."""
    for _, layer in blip_layers(policy):
        for pname, param, bound in layer.blip_tensors():
            s, c = layer.frozen_bits(pname), layer.center(pname)
            u = param.detach() / bound
            if not ((u - c).abs() <= freeze_radius(s, layer.bits) + 1e-6).all():
                return False
    return True


def test_the_policy_keeps_its_frozen_bits_under_every_optimizer_sb3_gives_it(tmp_path):
    env = make_env(get_game("fake_a", "fake"), 2, seed=0, train=True)
    kwargs = {"n_steps": 32, "batch_size": 32, "n_epochs": 4, "learning_rate": 1e-3}
    model = PPO(BlipActorCriticPolicy, env, policy_kwargs={"n_tasks": 2}, device="cpu", **kwargs)
    model.learn(64)
    obs = torch.as_tensor(np.stack([env.observation_space.sample() for _ in range(64)]))
    blip = Blip(model.policy, BlipConfig(fisher_prior=1e-12))
    blip.consolidate([(obs, torch.zeros(64, dtype=torch.long))], resampled_log_likelihood)
    assert all((layer.weight_frozen_bits > 0).any() for _, layer in blip_layers(model.policy))
    model.save(tmp_path / "m.zip")

    loaded = PPO.load(tmp_path / "m.zip", env, device="cpu")  # a new optimizer, nothing attached
    loaded.policy.set_task(1)
    before = [p.detach().clone() for p in loaded.policy.features_extractor.parameters()]
    loaded.learn(128)
    after = loaded.policy.features_extractor.parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    assert frozen_bits_hold(loaded.policy)
    loaded.policy.reset_optimizer(0.05)
    loaded.learn(128)
    assert frozen_bits_hold(loaded.policy)
    loaded.policy.optimizer = torch.optim.SGD(loaded.policy.parameters(), lr=1.0)
    loaded.learn(128)
    assert frozen_bits_hold(loaded.policy)
    # The test can fail: an optimizer slipped past the policy (no clip) breaks the intervals.
    loaded.policy.__dict__["_optimizer"] = torch.optim.SGD(loaded.policy.parameters(), lr=1.0)
    loaded.learn(128)
    assert not frozen_bits_hold(loaded.policy)


def test_a_detached_critic_trains_its_head_but_never_the_shared_trunk():
    env = make_env(get_game("fake_a", "fake"), 2, seed=0, train=True)
    model = PPO(BlipActorCriticPolicy, env, n_steps=32, batch_size=32, device="cpu",
                policy_kwargs={"detach_critic": True})  # fmt: skip
    policy = model.policy
    obs = torch.as_tensor(env.reset()).float()
    policy.predict_values(obs).sum().backward()
    trunk = list(policy.features_extractor.parameters())
    assert all(p.grad is None for p in trunk)
    assert policy.value_net.heads[0].weight.grad.abs().sum() > 0
    policy.zero_grad()
    _, log_prob, _ = policy.evaluate_actions(obs, torch.zeros(len(obs), dtype=torch.long))
    log_prob.sum().backward()  # the actor still trains the trunk
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trunk)
    with pytest.raises(ValueError, match="detach_critic=True .* own trunk"):
        PPO(BlipActorCriticPolicy, env, device="cpu",
            policy_kwargs={"detach_critic": True, "share_features_extractor": False})  # fmt: skip


def test_a_critic_with_its_own_trunk_gets_a_float_one_never_consolidated():
    env = make_env(get_game("fake_a", "fake"), 2, seed=0, train=True)
    model = PPO(BlipActorCriticPolicy, env, n_steps=32, batch_size=32, device="cpu",
                policy_kwargs={"share_features_extractor": False})  # fmt: skip
    policy = model.policy
    assert [name for name, _ in blip_layers(policy)] == [
        "features_extractor.cnn.0", "features_extractor.cnn.3"
    ]  # fmt: skip
    critic = policy.vf_features_extractor
    assert not blip_layers(critic) and isinstance(critic.cnn[0], torch.nn.Conv2d)
    optimized = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in critic.parameters()} <= optimized
    model.learn(64)
    values = policy.predict_values(torch.as_tensor(env.reset()).float())
    assert values.std() > 0  # the critic still tells states apart
