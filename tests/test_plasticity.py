"""Plasticity: the scratch reference, plasticity in summary.json and ``blip-rl inspect``, on
tiny real MinAtar runs."""

import pytest
import torch
from stable_baselines3 import PPO
from torch import nn

from blip_rl import Scratch
from blip_rl.agents import BlipActorCriticPolicy
from blip_rl.agents.trainer import resampled_log_likelihood
from blip_rl.envs import get_game, make_env
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import TINY, train

GAMES = ("--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "256")


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scratch") / "run"
    return out, train(out, *GAMES, "--method", "scratch")


def test_scratch_learns_each_game_from_the_same_fresh_network():
    model = nn.Sequential(nn.Linear(3, 2))
    strategy = Scratch(model)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    strategy.on_task_start(0, 3)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    strategy.on_task_start(1, 3)
    assert all(torch.equal(v, initial[k]) for k, v in model.state_dict().items())
    with torch.no_grad():
        model[0].weight.add_(1.0)  # learning task 1 ...
    trained = model[0].weight.clone()
    restored = Scratch(model)  # ... when the run crashed and resumed from a checkpoint
    restored.load_state_dict(strategy.state_dict())  # travels with checkpoints
    assert all(torch.equal(restored.initial[k], v) for k, v in initial.items())
    restored.on_task_start(1, 3)  # the resumed task keeps what it learned
    assert torch.equal(model[0].weight, trained)
    restored.on_task_start(2, 3)
    assert torch.equal(model[0].weight, initial["0.weight"])


def test_a_scratch_run_scores_only_the_task_it_just_learned(scratch_run):
    _, summary = scratch_run
    for part in summary["by_policy"].values():
        raw = part["A_raw"]
        assert raw[0][0] is not None and raw[1][1] is not None
        assert raw[1][0] is None and raw[0][1] is None


def test_plasticity_is_the_diagonal_over_the_scratch_diagonal(tmp_path, scratch_run):
    scratch_dir, scratch = scratch_run
    out = tmp_path / "blip"
    summary = train(out, *GAMES, "--method", "blip", "--scratch", str(scratch_dir),
                    "--bit-budget", "0.3", "--no-snap")  # fmt: skip
    for policy, part in summary["by_policy"].items():
        own = [part["A"][j][j] for j in range(2)]
        ref = [scratch["by_policy"][policy]["A"][j][j] for j in range(2)]
        expected = [a / b if b else None for a, b in zip(own, ref)]
        assert part["plasticity"] == pytest.approx(expected)
        known = [p for p in expected if p is not None]
        mean = sum(known) / 2 if len(known) == 2 else None
        assert part["mean_plasticity"] == pytest.approx(mean)
    assert summary["plasticity"] == summary["by_policy"]["sampled"]["plasticity"]
    fractions = summary["frozen_fraction"]
    assert 0 < fractions[0] <= 0.3 + 1e-6 and fractions[0] < fractions[1] <= 1 - 0.7**2 + 1e-6

    proc = run_cli("inspect", str(out), "--policy", "greedy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "greedy actions" in proc.stdout and "frozen bits" in proc.stdout
    assert "features_extractor.cnn.0" in proc.stdout  # per-layer table
    if summary["by_policy"]["greedy"]["mean_plasticity"] is not None:
        assert "mean plasticity" in proc.stdout


def test_inspect_adds_plasticity_to_a_run_made_without_it(tmp_path, scratch_run):
    scratch_dir, _ = scratch_run
    out = tmp_path / "ft"
    train(out, *GAMES, "--method", "ft")
    runs = f"{scratch_dir},{scratch_dir}"  # the mean of several scratch runs
    proc = run_cli("inspect", str(out), "--scratch", runs, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "plasticity" in proc.stdout


def test_a_scratch_reference_with_another_budget_is_refused(tmp_path, scratch_run):
    scratch_dir, _ = scratch_run
    proc = run_cli("train", "--out", str(tmp_path / "x"), *GAMES[:4], "--steps-per-task", "512",
                   "--scratch", str(scratch_dir), cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, "steps_per_task 256, this run 2000")  # 512, in whole rollouts
    proc = run_cli("inspect", str(tmp_path / "missing"), cwd=tmp_path)
    assert_one_line_error(proc, "missing' does not exist")
    proc = run_cli("inspect", str(scratch_dir), "--scratch", str(tmp_path), cwd=tmp_path)
    assert_one_line_error(proc, "is not a readable run folder")


def test_an_independent_run_is_a_reference_but_another_critic_trunk_is_not(tmp_path, scratch_run):
    scratch_dir, _ = scratch_run
    independent = tmp_path / "independent"  # it learns each game from the same fresh network
    train(independent, *GAMES, "--method", "independent")
    proc = run_cli("inspect", str(scratch_dir), "--scratch", str(independent), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "plasticity" in proc.stdout
    proc = run_cli("train", "--out", str(tmp_path / "x"), *TINY, *GAMES, "--critic-trunk", "shared",
                   "--scratch", str(scratch_dir), cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, "has critic_trunk own, this run shared; they must match")
    proc = run_cli("inspect", str(scratch_dir), "--scratch", str(tmp_path / "x"), cwd=tmp_path)
    assert_one_line_error(proc, "is not a readable run folder")


def test_rl_suites_default_to_a_bit_budget_and_the_paper_is_one_flag_away():
    from blip_rl import BlipConfig
    from blip_rl.agents.config import TrainConfig
    from blip_rl.agents.presets import RL_BIT_BUDGET
    from blip_rl.core.blip import LIBRARY_DEFAULTS

    default = TrainConfig(suite="minatar").resolved().blip
    assert (default.bit_budget, default.snap) == (RL_BIT_BUDGET, False)
    paper = TrainConfig(suite="atari6", blip=BlipConfig(bit_budget=1.0, snap=True)).resolved().blip
    assert (paper.bit_budget, paper.snap, paper.fisher_prior) == (1.0, True, 1.922e-14)
    assert LIBRARY_DEFAULTS.snap and LIBRARY_DEFAULTS.bit_budget == 1.0  # classification: the paper


def test_a_checkpoint_of_the_older_score_format_is_refused_not_misread():
    from blip_rl.agents.state import RunState

    state = RunState().to_dict()
    assert RunState.from_dict(state) == RunState()
    older = {k: v for k, v in state.items() if k != "errors"}  # before standard errors
    with pytest.raises(ValueError, match="start a new run"):
        RunState.from_dict(older)


def test_the_resampled_fisher_draws_actions_from_the_active_actor_not_the_rollout():
    env = make_env(get_game("breakout", "minatar"), 1, seed=0, train=True)
    policy = PPO(BlipActorCriticPolicy, env, policy_kwargs={"n_tasks": 2}, device="cpu").policy
    policy.set_task(1)
    obs = torch.as_tensor(env.reset()).float().expand(20_000, -1, -1, -1)
    log_pi = policy.get_distribution(obs[:1]).distribution.logits[0]  # (n_actions,)
    taken = torch.zeros(len(obs), dtype=torch.long)
    torch.manual_seed(0)
    drawn = resampled_log_likelihood(policy, (obs, taken)).detach()
    torch.manual_seed(0)
    assert torch.equal(drawn, resampled_log_likelihood(policy, (obs, taken + 1)).detach())
    actions = (drawn[:, None] - log_pi).abs().argmin(1)  # each value is log pi of one action
    assert torch.allclose(drawn, log_pi[actions])
    share = torch.bincount(actions, minlength=len(log_pi)) / len(obs)
    assert torch.allclose(share, log_pi.exp(), atol=0.02)  # ~4 standard errors
    env.close()


def test_a_run_takes_its_fisher_at_resampled_actions(tmp_path):
    summary = train(tmp_path / "run", *GAMES, "--fisher-actions", "resampled")
    assert summary["tasks_done"] == 2 and summary["frozen_fraction"][0] > 0
