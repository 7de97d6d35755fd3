"""``blip-rl evaluate``: a trained run's agent played again from its checkpoint, each game with
its own heads, recorded as GIFs, without touching the run; bad input refused in one line."""

import csv
import hashlib
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from blip_rl.commands.evaluate import SavedAgent
from blip_rl.envs import get_game, make_env
from blip_rl.envs.minatar import PALETTE, SCALE, rgb_frame
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import TINY

GAMES = ("breakout", "space_invaders")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder holding ``run``: a finished two-game MinAtar train run, one rollout a game
    (its Fisher on that rollout alone)."""
    root = tmp_path_factory.mktemp("evaluate")
    proc = run_cli("train", "--out", "run", "--device", "cpu", "--suite", "minatar",
                   "--games", ",".join(GAMES), "--steps-per-task", "64", *TINY,
                   "--fisher-samples", "64", "--quiet", cwd=root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root


def digests(folder):
    """The SHA-256 of every file under ``folder`` (and every folder, as ``None``)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else None
        for p in sorted(folder.rglob("*"))
    }


def evaluate(root, *args):
    return run_cli("evaluate", "run", "--device", "cpu", *args, cwd=root)


def rows(stdout):
    """The table lines of ``evaluate``'s output: (task, game, episodes, mean, se, normalized,
    policy)."""
    found = []
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            task, game, episodes, mean, _, se, normalized, policy = parts
            found.append((int(task), game, int(episodes), float(mean), float(se),
                          float(normalized), policy))  # fmt: skip
    return found


def test_greedy_evaluation_of_the_newest_checkpoint_replays_the_runs_own_last_one(root):
    before = digests(root / "run")
    proc = evaluate(root, "--policy", "greedy", "--episodes", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("run: checkpoint task_1 (env step 128), seed 0\n")
    found = rows(proc.stdout)
    assert [(task, game, episodes, policy) for task, game, episodes, *_, policy in found] == [
        (0, "breakout", 1, "greedy"),
        (1, "space_invaders", 1, "greedy"),
    ]
    with open(root / "run" / "eval.csv") as f:  # the run's greedy rows at its end
        last = [r for r in csv.DictReader(f) if r["step"] == "128" and r["policy"] == "greedy"]
    for (task, game, _, mean, se, normalized, _), row in zip(found, last):
        # same checkpoint, heads, seed and episode starts: the same greedy episode
        assert (task, game, se) == (int(row["task"]), row["game"], 0)
        assert mean == float(row["mean_return"])
        assert normalized == pytest.approx(get_game(game, "minatar").normalize(mean), abs=1e-3)
    assert digests(root / "run") == before


def test_an_older_checkpoint_plays_only_the_tasks_it_had_learned(root):
    proc = evaluate(root, "--checkpoint", "task_0", "--episodes", "2")
    assert proc.returncode == 0, proc.stderr
    assert "checkpoint task_0 (env step 64)" in proc.stdout
    assert [(r[0], r[1], r[2], r[-1]) for r in rows(proc.stdout)] == [(0, "breakout", 2, "sampled")]


def test_video_records_a_readable_gif_of_the_first_episode_and_leaves_the_run_as_it_was(root):
    before = digests(root / "run")
    videos = root / "videos" / "new"
    stale = videos / "1_space_invaders.gif"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older, broken file")
    proc = evaluate(root, "--task", "1", "--episodes", "2", "--video", str(videos))
    assert proc.returncode == 0, proc.stderr
    assert [r[:3] for r in rows(proc.stdout)] == [(1, "space_invaders", 2)]
    assert f"video: {stale} (" in proc.stdout
    assert sorted(p.name for p in videos.iterdir()) == ["1_space_invaders.gif"]  # no temp file
    with Image.open(stale) as gif:
        assert gif.format == "GIF" and gif.size == (10 * SCALE, 10 * SCALE)
        assert gif.n_frames > 1
        gif.seek(1)
        assert len(gif.convert("RGB").getcolors()) > 1  # a picture, not a blank
    assert digests(root / "run") == before


def test_max_frames_caps_the_gif(root, tmp_path):
    proc = evaluate(root, "--task", "0", "--episodes", "1", "--video", str(tmp_path),
                    "--max-frames", "2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "(2 steps of the first episode)" in proc.stdout
    with Image.open(tmp_path / "0_breakout.gif") as gif:
        assert gif.n_frames <= 2


def no_checkpoints(root):
    shutil.copytree(root / "run", root / "copy", ignore=shutil.ignore_patterns("checkpoints"))
    return "copy"


def a_classify_run(root):
    (root / "classify").mkdir()
    for name in ("config.json", "results.json"):
        (root / "classify" / name).write_text("{}")
    return "classify"


def a_file(root):
    (root / "file").write_text("not a run")
    return "file"


def the_run_and_a_file(root):
    a_file(root)
    return "run"


def empty_folder(root):
    (root / "empty").mkdir()
    return "empty"


@pytest.mark.parametrize(
    "make_run, args, message",
    [
        (lambda root: "missing", (), "'missing' does not exist"),
        (a_file, (), "'file' is a file, not a run folder"),
        (empty_folder, (), "'empty' holds no finished task of a blip-rl run (a train run writes"),
        (a_classify_run, (), "'classify' is a classify run; evaluate plays train runs"),
        (no_checkpoints, (), "'copy' holds no checkpoint to evaluate (no checkpoints; eval.csv"),
        (lambda root: "run", ("--task", "2"), "--task 2 is out of range: checkpoint task_1 of "
         "'run' has learned tasks 0-1 (0 breakout, 1 space_invaders)"),
        (lambda root: "run", ("--checkpoint", "task_0", "--task", "1"), "has learned task 0 "
         "(0 breakout); task 1 (space_invaders) is not learned yet"),
        (lambda root: "run", ("--episodes", "0"), "episodes must be an integer >= 1, got 0"),
        (lambda root: "run", ("--max-frames", "0"), "max_frames must be an integer >= 1, got 0"),
        (lambda root: "run", ("--checkpoint", "../run"), "no checkpoint '../run' in "
         "'run/checkpoints'; choose from: task_0, task_1"),
        (lambda root: "run", ("--policy", "best"), "unknown policy 'best' for --policy; choose"),
        (the_run_and_a_file, ("--video", "file"), "--video: cannot create output directory "
         "'file': 'file' is a file, not a folder"),
        (lambda root: "run", ("--video", "run/videos"), "--video 'run/videos' is inside the run "
         "folder 'run'; evaluate never writes into a run"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_one_line_error_and_exit_2(root, tmp_path, make_run, args, message):
    case = tmp_path / "case"
    shutil.copytree(root, case, symlinks=True)
    run = make_run(case)
    before = digests(case)
    proc = run_cli("evaluate", run, "--device", "cpu", *args, cwd=case)
    assert_one_line_error(proc, message)
    assert proc.stdout == ""
    assert digests(case) == before


def test_a_scratch_model_is_asked_only_for_the_task_it_learned_last():
    games = tuple(get_game(name, "minatar") for name in (*GAMES, "freeway"))
    agent = SavedAgent(
        run=SimpleNamespace(path=Path("run"), method="scratch"),
        config=SimpleNamespace(sequence=games),
        checkpoint=SimpleNamespace(path=Path("run/checkpoints/task_1")),
        model=None,
        strategy=SimpleNamespace(continual=False),
        learned=2,
    )
    assert agent.tasks(None) == agent.tasks(1) == [1]
    with pytest.raises(ValueError, match=r"plays only the task it learned last, 1 "
                       r"\(space_invaders\).*--checkpoint task_0$"):  # fmt: skip
        agent.tasks(0)
    with pytest.raises(ValueError, match=r"task 2 \(freeway\) is not learned yet$"):
        agent.tasks(2)


def test_minatar_frames_colour_each_cell_by_its_last_channel_and_fake_games_have_none():
    obs = np.zeros((10, 10, 10), np.uint8)
    obs[0, 2, 3] = obs[4, 2, 3] = obs[1, 9, 9] = 1
    image = rgb_frame(obs, scale=2)
    assert image.shape == (20, 20, 3) and image.dtype == np.uint8
    assert (image[4:6, 6:8] == PALETTE[4]).all() and (image[18:, 18:] == PALETTE[1]).all()
    assert (image[:4] == 0).all()
    with pytest.raises(ValueError, match="'fake_a' has no screen to record"):
        make_env(get_game("fake_a", "fake"), 1, seed=0, train=False, render=True)


@pytest.mark.slow  # the 84x84 trunk and ALE
def test_atari_video_records_the_emulator_screen(tmp_path):
    proc = run_cli("train", "--out", "run", "--device", "cpu", "--suite", "atari6", "--games",
                   "kungfu,boxing", "--steps-per-task", "64", *TINY, "--fisher-samples", "64",
                   "--quiet", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = evaluate(tmp_path, "--task", "1", "--episodes", "1", "--video", "videos")
    assert proc.returncode == 0, proc.stderr
    assert [r[:3] for r in rows(proc.stdout)] == [(1, "boxing", 1)]
    with Image.open(tmp_path / "videos" / "1_boxing.gif") as gif:
        assert gif.size == (160, 210) and gif.n_frames > 1
