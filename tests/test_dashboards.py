"""What a run shows while it runs: W&B dashboards (offline, no network), progress bars and
the task-end lines, and --quiet."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest
import torch
from rich.console import Console

from blip_rl.agents.config import PPOConfig, TrainConfig
from blip_rl.agents.progress import Heartbeat, TerminalProgress, duration
from blip_rl.agents.trainer import ContinualTrainer
from blip_rl.core.capacity import capacity_table, total
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import TINY
from tests.wandbfile import history, run_record

GAMES = ["--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "128"]
NO_NETWORK = {"WANDB_BASE_URL": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def offline_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, **NO_NETWORK, "HOME": str(tmp_path), "NETRC": str(tmp_path / "no-netrc")}


def train_cli(tmp_path, out, *args):
    """A tiny train run; one thread, so that no warning about busy cores reaches stderr when
    the tests run beside other jobs without OMP_NUM_THREADS=1."""
    return run_cli("train", "--out", str(out), "--device", "cpu", "--threads", "1", *TINY,
                   *GAMES, *args, cwd=tmp_path, env=offline_env(tmp_path))  # fmt: skip


def null_settings(config, prefix=""):
    """The settings a config.json leaves ``null``, nested ones as ``blip.bit_cap``."""
    nulls = set()
    for key, value in config.items():
        if isinstance(value, dict):
            nulls |= null_settings(value, f"{prefix}{key}.")
        elif value is None:
            nulls.add(prefix + key)
    return nulls


def wandb_file(out):
    (path,) = (out / "wandb").glob("offline-run-*/run-*.wandb")
    return path


def test_an_offline_wandb_run_holds_every_eval_key_and_the_task_end_charts(tmp_path):
    out = tmp_path / "run"
    proc = train_cli(tmp_path, out, "--wandb", "offline", "--eval-interval", "64")
    assert proc.returncode == 0, proc.stderr
    path = wandb_file(out)
    run = run_record(path)
    assert list(run.tags) == ["method:blip", "suite:minatar", "seed:0"]
    assert run.run_group.startswith("breakout-space_invaders__blip__")
    config_keys = {item.key for item in run.config.update}
    assert config_keys >= {"method", "seed", "games", "blip", "session"}
    rows = history(path)
    keys = set().union(*rows)
    for policy in ("sampled", "greedy"):
        for game in ("breakout", "space_invaders"):
            assert {f"eval/{policy}/{game}/return", f"eval/{policy}/{game}/normalized"} <= keys
        assert f"eval/{policy}/accumulated_normalized" in keys
        assert f"task_end/{policy}/acc" in keys and f"A/{policy}/_type" in keys
    assert {"train/loss", "train/approx_kl", "rollout/ep_rew_mean", "time/fps"} <= keys  # SB3's
    assert {
        "task/index",
        "rollout/breakout/ep_rew_mean",
        "rollout/space_invaders/ep_rew_mean",
    } <= keys
    assert (out / "sb3" / "progress.csv").stat().st_size > 0
    assert list((out / "sb3").glob("events.out.tfevents.*"))  # TensorBoard
    (session,) = json.loads((out / "sessions.json").read_text())
    assert session["torch_threads"] >= 1 and session["versions"]["torch"].startswith("2.")
    assert session["kernels"] == "eager"
    config = json.loads((out / "config.json").read_text())
    assert config["suite"] == "minatar"
    assert null_settings(config) == {"scratch", "blip.bit_cap"}  # None means "none" for both
    assert "frozen_bits/features_extractor.cnn.0.weight/bins" in keys
    assert "frozen_bits/heatmap/_type" in keys
    with open(out / "eval.csv") as f:
        evaluated = {int(line.split(",")[0]) for line in list(f)[1:]}
    logged = {int(r["env_step"]) for r in rows if "eval/sampled/breakout/return" in r}
    assert logged == evaluated  # every eval point, at its env step
    summary = json.loads((out / "summary.json").read_text())
    ends = [r for r in rows if "task_end/sampled/acc" in r]
    assert float(ends[-1]["task_end/sampled/acc"]) == pytest.approx(summary["acc"])


def test_an_offline_classify_run_logs_one_wandb_run_per_seed(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("classify", "--out", str(out), "--epochs", "1", "--seeds", "0,1",
                   "--device", "cpu", "--wandb", "offline", cwd=tmp_path,
                   env=offline_env(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    paths = sorted((out / "wandb").glob("offline-run-*/run-*.wandb"))
    seeds = sorted(next(t for t in run_record(p).tags if t.startswith("seed:")) for p in paths)
    assert seeds == ["seed:0", "seed:1"]
    for path in paths:
        keys = set().union(*history(path))
        names = {f"accuracy/digits-{k}" for k in range(5)}
        assert names | {"accuracy/mean", "frozen_bits/heatmap/_type", "A/_type"} <= keys
        assert len([r for r in history(path) if "accuracy/mean" in r]) == 5  # each task end


def test_a_resumed_run_continues_its_wandb_run(tmp_path):
    out = tmp_path / "run"
    assert train_cli(tmp_path, out, "--wandb", "offline").returncode == 0
    first = (out / "wandb_run_id").read_text()
    (out / "summary.json").unlink()  # pretend the run had stopped after its first checkpoint
    proc = train_cli(tmp_path, out, "--resume", "--wandb", "offline")
    assert proc.returncode == 0, proc.stderr
    assert (out / "wandb_run_id").read_text() == first
    assert {run_record(p).run_id for p in (out / "wandb").glob("*/*.wandb")} == {first}


def test_online_wandb_without_a_login_fails_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = train_cli(tmp_path, out, "--wandb", "online")
    assert_one_line_error(proc, "--wandb online needs a W&B login: run `wandb login`")
    assert not (out / "config.json").exists() and not (out / "wandb").exists()


def test_wandb_is_not_imported_when_off(tmp_path):
    code = (
        "import sys; from blip_rl.commands.main import main; "
        f"main({['train', '--out', str(tmp_path / 'run'), '--device', 'cpu', *TINY, *GAMES]}); "
        "assert 'wandb' not in sys.modules, 'wandb imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_progress_bars_show_each_task_with_fps_and_eta_and_log_each_task_end(tmp_path, caplog):
    cfg = TrainConfig(
        suite="minatar", games=("breakout", "space_invaders"), steps_per_task=128, n_envs=2,
        eval_episodes=1, final_eval_episodes=2, eval_max_steps=40, fisher_samples=96,
        ppo=PPOConfig(n_steps=32, n_minibatches=2, n_epochs=1),
    )  # fmt: skip
    screen = io.StringIO()
    bars = TerminalProgress(
        2, cfg.steps_per_task, Console(file=screen, force_terminal=True, width=140)
    )
    with caplog.at_level(logging.INFO):
        handlers = logging.getLogger().handlers[:]
        try:
            ContinualTrainer(cfg, tmp_path, torch.device("cpu"), False).run([bars])
        finally:
            bars.close()
        assert logging.getLogger().handlers == handlers  # restored
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # drop colours, cursor moves
    for text in ("tasks 0..1", "task 0: breakout", "task 1: space_invaders", "fps", "ETA",
                 "256/256"):  # fmt: skip
        assert text in shown
    assert "task 0 (breakout) done at step 128: +" in shown  # logged above the bars


def test_task_end_lines_print_unless_quiet_and_no_bars_when_not_a_terminal(tmp_path):
    loud = train_cli(tmp_path, tmp_path / "loud")
    assert loud.returncode == 0, loud.stderr
    assert "task 1 (space_invaders) done at step 256: +" in loud.stderr
    assert "━" not in loud.stdout + loud.stderr  # no bars: not a terminal
    banner = (
        "blip on MinAtar: 2 tasks (breakout, space_invaders), 128 env steps each, 256 in all; "
        "seed 0\ndevice cpu ("
    )
    assert banner in loud.stderr and f"run folder {tmp_path / 'loud'}" in loud.stderr
    quiet = train_cli(tmp_path, tmp_path / "quiet", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.startswith("blip: normalized score") and "done at step" not in quiet.stdout


def test_a_run_given_steps_that_are_not_whole_rollouts_says_how_it_rounds_them(tmp_path):
    proc = train_cli(tmp_path, tmp_path / "run", "--steps-per-task", "100", "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task_end_steps"] == [128, 256]  # rollouts of 2 envs x 32 steps
    loud = train_cli(tmp_path, tmp_path / "loud", "--steps-per-task", "100")
    assert "rounded up to whole rollouts of 64 env steps: --steps-per-task 100 -> 128" in (
        loud.stderr
    )


def test_a_heartbeat_line_reports_steps_speed_and_eta(caplog):
    beat = Heartbeat(total=1_000, every=0.0)
    with caplog.at_level(logging.INFO):
        beat.on_task_start(0, "breakout", 0, 0)
        time.sleep(0.01)
        beat.on_step(250)
    (line,) = caplog.messages
    assert re.fullmatch(r"env step 250/1,000 \(25\.0%\), [\d,]+ steps/s, ETA \d+s", line), line
    assert duration(3725) == "1h 02m" and duration(75) == "1m 15s" and duration(9) == "9s"


def test_capacity_totals_weigh_layers_by_parameters():
    layers = [
        {"layer": "a", "params": 1, "bits_added_mean": 4.0, "frozen_mean": 4.0,
         "fully_frozen_share": 0.0, "free_bit_share": 0.8},
        {"layer": "b", "params": 3, "bits_added_mean": 0.0, "frozen_mean": 20.0,
         "fully_frozen_share": 1.0, "free_bit_share": 0.0},
    ]  # fmt: skip
    row = total(layers)
    assert row["params"] == 4 and row["frozen_mean"] == 16.0
    assert row["free_bit_share"] == pytest.approx(0.2) and row["fully_frozen_share"] == 0.75
    assert "movable_share" not in row  # the reports predate it
    movable = [{**layers[0], "movable_share": 1.0}, {**layers[1], "movable_share": 0.0}]
    assert total(movable)["movable_share"] == 0.25


def test_the_capacity_table_shows_each_layers_room_and_none_for_older_reports():
    layer = {"params": 1, "bits_added_mean": 4.0, "frozen_mean": 4.0, "fully_frozen_share": 0.0,
             "free_bit_share": 0.8}  # fmt: skip
    reports = [
        {"layers": [{"layer": "a", **layer}]},  # written before the room was recorded
        {"layers": [{"layer": "a", **layer, "reach_median": 0.039, "movable_share": 0.47}]},
        {"layers": [{"layer": "a", **layer, "reach_median": 0.01, "movable_share": 0.004}]},
        {"layers": [{"layer": "a", **layer, "reach_median": 2e-6, "movable_share": 0.0}]},
        {"layers": [{"layer": "a", **layer, "reach_median": 16.0, "movable_share": 1.0}]},
    ]
    rows = [line.split() for line in capacity_table(reports, "01234").splitlines()]
    room = [row[-2:] for row in rows if row[0] == "a"]
    assert room == [["-", "-"], ["3.9%", "47%"], ["1.0%", "0.40%"], ["<0.001%", "0.0%"],
                    ["1600%", "100%"]]  # fmt: skip
    totals = [row[-2:] for row in rows if row[0] == "all"]  # a median has no total
    assert totals == [["-", "-"], ["-", "47%"], ["-", "0.40%"], ["-", "0.0%"], ["-", "100%"]]
