"""A run survives what ends processes: SIGKILL at any point (mid-task, during evaluation,
checkpoint writes and consolidation), broken or crafted checkpoint files, and Ctrl-C. After a
resume it ends exactly as a run that was never stopped (CPU, same seed)."""

import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from blip_rl.infra.interrupt import DeferredInterrupt
from tests.cli import TWO_TASKS as RUN
from tests.cli import run_cli, start_cli


def train(out, *extra, cwd, kill_at=None):
    return run_cli("train", "--out", str(out), *RUN, *extra, cwd=cwd, kill_at=kill_at)


def killed(out, point, cwd):
    """``blip-rl train`` (resuming if the run exists) SIGKILLed at ``point`` (tests/killer.py)."""
    resume = ["--resume"] if (out / "config.json").exists() else []
    proc = train(out, *resume, cwd=cwd, kill_at=point)
    assert proc.returncode == -signal.SIGKILL, f"{point} was never reached:\n{proc.stderr}"
    return proc.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The run with nothing stopping it."""
    out = tmp_path_factory.mktemp("reference") / "run"
    proc = train(out, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


def outcome(out):
    """What a finished run computed: eval.csv, the bits after each task, the summary without
    wall time, and the final policy's tensors."""
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("wall_time_s")
    bits = []
    for k in range(2):
        with np.load(out / "bits" / f"task_{k}.npz") as saved:
            bits.append({name: saved[name] for name in saved.files})
    policy = torch.load(out / "checkpoints" / "task_1" / "state.pt")["policy"]
    return (out / "eval.csv").read_text(), bits, summary, policy


def assert_same_run(out, reference):
    csv, bits, summary, policy = outcome(out)
    ref_csv, ref_bits, ref_summary, ref_policy = outcome(reference)
    rows = [tuple(line.split(",")[:4]) for line in csv.splitlines()[1:]]
    assert len(rows) == len(set(rows)), "an evaluation row is there twice"
    assert csv == ref_csv
    for mine, theirs in zip(bits, ref_bits):
        assert mine.keys() == theirs.keys()
        for name in mine:
            assert np.array_equal(mine[name], theirs[name]), name
    assert summary == ref_summary
    for name, tensor in ref_policy.items():
        assert torch.equal(policy[name], tensor), name


def newest_step(out):
    """Env step of the newest checkpoint on disk (``None`` if there is none)."""
    metas = (out / "checkpoints").glob("*/meta.json")
    return max((json.loads(p.read_text())["step"] for p in metas), default=None)


def assert_resumed_from_the_newest_checkpoint(sessions):
    """``sessions``: (log, newest checkpoint step when it started) of each session. Each one
    went on from the newest checkpoint: nothing already saved was trained again."""
    for log, newest in sessions:
        if newest is None:
            assert "resuming" not in log
        else:
            assert re.search(rf"resuming \S+ at step {newest}, task", log), log


def resume_until_done(out, cwd, sessions):
    newest = newest_step(out)
    proc = train(out, "--resume", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    sessions.append((proc.stderr, newest))


def test_killed_at_each_kind_of_point_and_resumed_ends_as_if_never_killed(tmp_path, reference):
    out, sessions = tmp_path / "run", []
    for point in (
        "step:300",  # mid-task 0, after the checkpoint at 256
        "consolidate:1",  # task 0's end, one layer's bits frozen in memory
        "eval:1",  # task 0's end-of-task evaluation, greedy done, sampled not
        "checkpoint:1",  # writing task_0
        "step:700",  # mid-task 1
    ):
        newest = newest_step(out) if out.exists() else None
        sessions.append((killed(out, point, tmp_path), newest))
        assert not list((out / "checkpoints").glob(".*")) or point == "checkpoint:1"
    resume_until_done(out, tmp_path, sessions)
    assert_same_run(out, reference)
    assert_resumed_from_the_newest_checkpoint(sessions)
    assert not list((out / "checkpoints").glob(".*")), "a temporary folder was left behind"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_killed_at_random_points_and_resumed_ends_as_if_never_killed(tmp_path, reference, seed):
    rng, out, sessions = random.Random(seed), tmp_path / "run", []

    def resume():
        return ["--resume"] if (out / "config.json").exists() else []

    for _ in range(3):
        kind = rng.choice(["step", "eval", "checkpoint", "consolidate", "fsync"])
        n = rng.randint(64, 760) if kind == "step" else rng.randint(1, 4)
        newest = newest_step(out) if out.exists() else None
        proc = train(out, *resume(), cwd=tmp_path, kill_at=f"{kind}:{n}")
        sessions.append((proc.stderr, newest))
        if proc.returncode == 0:  # the point lay beyond what was left to do
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    # and one kill from outside, at a random moment
    newest = newest_step(out)
    child = start_cli("train", "--out", str(out), *RUN, *resume(), cwd=tmp_path)
    time.sleep(rng.uniform(0.5, 2.0))
    child.send_signal(signal.SIGKILL)
    sessions.append((child.wait().stderr, newest))
    resume_until_done(out, tmp_path, sessions)
    assert_same_run(out, reference)
    assert_resumed_from_the_newest_checkpoint(sessions)


def finished_copy(reference, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    return out


def rewrite_sums(checkpoint):
    """Make ``SHA256SUMS`` agree with the files again, as a crafted checkpoint would."""
    lines = []
    for name in ("state.pt", "meta.json"):
        digest = hashlib.sha256((checkpoint / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    (checkpoint / "SHA256SUMS").write_text("".join(lines))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


class Payload:
    """Unpickling this runs a shell command: what a crafted checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def crafted_torch_file(path):
    torch.save({"policy": Payload(path.parent / "PWNED")}, path)
    rewrite_sums(path.parent)


def crafted_pickle(path):
    path.write_bytes(pickle.dumps(Payload(path.parent / "PWNED"), protocol=2))
    rewrite_sums(path.parent)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (truncate, "'state.pt' does not match its checksum in SHA256SUMS"),
        (flip_a_byte, "'state.pt' does not match its checksum in SHA256SUMS"),
        (crafted_torch_file, "state.pt is not a safe tensor file (Weights only load failed"),
        (crafted_pickle, "state.pt is not a safe tensor file"),
    ],
)
def test_a_broken_or_crafted_newest_checkpoint_is_reported_and_the_one_before_used(
    tmp_path, reference, damage, problem
):
    out = finished_copy(reference, tmp_path)
    (out / "summary.json").unlink()  # as if killed right after writing task_1
    damage(out / "checkpoints" / "task_1" / "state.pt")
    proc = train(out, "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"skipped broken checkpoint(s) (task_1: {problem}" in proc.stderr
    assert "; using step_640" in proc.stderr
    assert not list(tmp_path.rglob("PWNED")), "the crafted pickle ran code"
    assert_same_run(out, reference)


def test_checkpoints_are_never_loaded_through_pickle_code_paths(tmp_path, reference):
    out = finished_copy(reference, tmp_path)
    (out / "summary.json").unlink()  # as if killed right after writing task_1
    for checkpoint in (out / "checkpoints").iterdir():
        crafted_torch_file(checkpoint / "state.pt")
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = train(out, "--resume", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "no intact checkpoint in" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("PWNED"))
    assert files == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


LONGER = [*RUN, "--steps-per-task", "1024"]


def training_past_its_first_checkpoint(out, cwd):
    """A ``blip-rl train`` process that has written its first checkpoint (step 128)."""
    child = start_cli("train", "--out", str(out), *LONGER, cwd=cwd)
    while not (out / "checkpoints" / "step_128").exists():
        assert child.poll() is None, child.wait().stderr
        time.sleep(0.01)
    return child


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_with_a_checkpoint_and_a_resume_hint(tmp_path, signum, status):
    out = tmp_path / "run"
    child = training_past_its_first_checkpoint(out, tmp_path)
    child.send_signal(signum)
    stderr = child.wait(timeout=120).stderr
    assert child.returncode == status, stderr
    last = stderr.strip().splitlines()[-1]
    stopped = re.fullmatch(
        rf"blip-rl train: stopped at env step (\d+) with checkpoint (\S+); "
        rf"resume with: blip-rl train --out {re.escape(str(out))} --resume",
        last,
    )
    assert stopped, last
    step, checkpoint = int(stopped[1]), Path(stopped[2])
    assert checkpoint.name == f"step_{step}" and (checkpoint / "SHA256SUMS").exists()
    assert "saving a checkpoint after the current step" in stderr
    assert not list((out / "checkpoints").glob(".*"))
    proc = run_cli("train", "--out", str(out), *LONGER, "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"resuming {checkpoint} at step {step}" in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task_end_steps"] == [1024, 2048]
    rows = [tuple(line.split(",")[:4]) for line in (out / "eval.csv").read_text().splitlines()]
    assert len(rows) == len(set(rows))


def test_a_second_ctrl_c_stops_at_once_and_the_run_still_resumes(tmp_path):
    out = tmp_path / "run"
    child = training_past_its_first_checkpoint(out, tmp_path)
    child.send_signal(signal.SIGINT)
    time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    stderr = child.wait(timeout=120).stderr
    assert child.returncode == 130 and "Traceback" not in stderr, stderr
    assert "resume with: blip-rl train --out" in stderr.strip().splitlines()[-1]
    proc = run_cli("train", "--out", str(out), *LONGER, "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_signal_after_the_loop_has_settled_is_ignored():
    """Once the loop has stopped with everything saved, a further Ctrl-C must not cut its way
    out short (the closing of the loggers, the resume line) with a KeyboardInterrupt."""
    with DeferredInterrupt() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.exit_code == 130
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # a second one stops at once ...
        stop.settle()
        os.kill(os.getpid(), signal.SIGTERM)  # ... unless the loop has settled
    assert stop.exit_code == 130
