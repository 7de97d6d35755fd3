"""Nothing a user wrote is ever lost (issue 19): one writer per run folder, resumes that
cannot erase, pruning that touches only blip-rl's own checkpoints, readers that never call a
live run damaged, and full disks that leave the newest checkpoint intact and resumable."""

import errno
import hashlib
import io
import os
import re
import shlex
import shutil
import signal
import time
import zipfile

import numpy as np
import pytest

from blip_rl.commands.inspect import InspectConfig, scores_text
from blip_rl.commands.runs import open_run
from blip_rl.infra.files import read_checked
from tests.cli import TWO_TASKS as RUN
from tests.cli import assert_one_line_error, run_cli, start_cli
from tests.test_bad_input import files_under

LONGER = [*RUN, "--steps-per-task", "1024"]
"""Long enough (about 40 s) for other processes to meet it while it runs."""


def train(out, *extra, cwd, **kwargs):
    return run_cli("train", "--out", str(out), *RUN, *extra, cwd=cwd, **kwargs)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-game run."""
    out = tmp_path_factory.mktemp("finished") / "run"
    proc = train(out, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A run killed mid task 0, its newest checkpoint the one at step 256."""
    out = tmp_path_factory.mktemp("unfinished") / "run"
    proc = train(out, cwd=out.parent, kill_at="step:300")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_128", "step_256"]
    return out


def user_files(folder):
    """``folder``'s files but the lock file (a killed writer leaves it; the next one removes
    it): what a user would miss if it changed."""
    return {p: v for p, v in files_under(folder).items() if p != ".lock"}


def copy(run, tmp_path):
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


def started_writing(out, cwd):
    """A ``blip-rl train`` on ``out`` that holds its lock and has begun training (evaluating
    every 128 steps)."""
    child = start_cli("train", "--out", str(out), *LONGER, "--eval-interval", "128", cwd=cwd)
    while not (out / "config.json").exists():
        assert child.poll() is None, child.wait().stderr
        time.sleep(0.01)
    return child


def stop(child):
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)


def test_a_second_writer_is_refused_naming_the_first_ones_pid(tmp_path):
    out = tmp_path / "run"
    first = started_writing(out, tmp_path)
    try:
        held = f"'{out}' is being written by another blip-rl process (PID {first.pid})"
        config = (out / "config.json").read_bytes()
        for args in (
            ["train", "--out", str(out), *RUN],
            ["train", "--out", str(out), "--resume"],
            ["classify", "--out", str(out)],
            ["sweep", "--out", str(out), "--methods", "ft", "--seeds", "0", *RUN[:4]],
        ):
            proc = run_cli(*args, cwd=tmp_path)
            assert_one_line_error(proc, held)
            assert first.poll() is None, "the first writer was disturbed"
            assert (out / "config.json").read_bytes() == config
        proc = run_cli("inspect", str(out), cwd=tmp_path)  # readers never take the lock
        assert "being written" not in proc.stderr
    finally:
        stop(first)
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path, kill_at="step:300")
    # the killed writer's lock died with it: the resume gets past the lock, to training (killed
    # at step 300) or, when a loaded machine let the first writer die before its first
    # checkpoint, to the checkpoint check
    assert "being written" not in proc.stderr, "a killed writer's lock outlived it"
    assert proc.returncode == -signal.SIGKILL or (
        proc.returncode == 2 and "holds no checkpoint to resume from" in proc.stderr
    ), proc.stderr


def test_two_writers_started_together_leave_one_intact_run(tmp_path):
    out = tmp_path / "run"
    children = [start_cli("train", "--out", str(out), *RUN, "--method", m, cwd=tmp_path)
                for m in ("blip", "ft")]  # fmt: skip
    procs = [child.wait(timeout=300) for child in children]
    assert sorted(p.returncode for p in procs) == [0, 2], [p.stderr for p in procs]
    winner = next(i for i, p in enumerate(procs) if p.returncode == 0)
    loser = procs[1 - winner]
    assert "is being written by another blip-rl process" in loser.stderr or (
        "is not empty" in loser.stderr
    ), loser.stderr
    proc = run_cli("inspect", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{('blip', 'ft')[winner]}: normalized score")


def test_resuming_a_finished_run_without_checkpoints_changes_nothing(finished, tmp_path):
    out = copy(finished, tmp_path)
    shutil.rmtree(out / "checkpoints")
    before = user_files(out)
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "finished already: nothing to do" in proc.stdout
    assert user_files(out) == before


def test_resuming_without_any_checkpoint_refuses_and_changes_nothing(unfinished, tmp_path):
    out = copy(unfinished, tmp_path)
    shutil.rmtree(out / "checkpoints")
    before = user_files(out)
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert_one_line_error(
        proc, f"--out '{out}' holds no checkpoint to resume from (no checkpoints; eval.csv with"
    )
    assert "nothing was changed" in proc.stderr
    assert user_files(out) == before


def test_pruning_keeps_folders_blip_rl_did_not_write(unfinished, tmp_path):
    out = copy(unfinished, tmp_path)
    notes = out / "checkpoints" / "step_notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me\n")
    look_alike = out / "checkpoints" / "step_1"
    look_alike.mkdir()
    (look_alike / "plot.png").write_bytes(b"not a checkpoint")
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (notes / "todo.txt").read_text() == "keep me\n"
    assert (look_alike / "plot.png").read_bytes() == b"not a checkpoint"
    steps = sorted(p.name for p in (out / "checkpoints").glob("step_*"))
    assert steps == ["step_1", "step_512", "step_640", "step_notes"]


def test_checkpoints_through_a_symbolic_link_are_refused(unfinished, tmp_path):
    out = copy(unfinished, tmp_path)
    elsewhere = tmp_path / "other_experiment"
    (out / "checkpoints").rename(elsewhere)
    (out / "checkpoints").symlink_to(elsewhere)
    before = files_under(elsewhere)
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert_one_line_error(proc, f"'{out}/checkpoints' is a symbolic link")
    assert files_under(elsewhere) == before


def read_as_the_commands_do(out):
    """What ``inspect``, ``plot`` and ``heatmap`` read of a run: its summary and scores, its
    evaluations and its bits; the number of finished tasks."""
    folder = open_run(out)
    scores_text(folder, InspectConfig(str(out)))
    folder.evaluations  # noqa: B018  (reads eval.csv)
    folder.bits(folder.seeds[0])
    return folder.tasks_done


def test_a_live_run_read_thousands_of_times_is_never_called_damaged(tmp_path):
    out = tmp_path / "run"
    child = started_writing(out, tmp_path)  # evaluates and rewrites eval.csv every 128 steps
    files, alarms, finished_tasks = 0, [], set()
    try:
        while child.poll() is None:
            try:
                for name in ("eval.csv", "config.json", "summary.json", "SHA256SUMS"):
                    if (out / name).exists():
                        read_checked(out / name)  # the read every command makes
                        files += 1
                if (out / "summary.json").exists():
                    finished_tasks.add(read_as_the_commands_do(out))
            except (ValueError, FileNotFoundError) as e:
                alarms.append(str(e))
    finally:
        stop(child) if child.poll() is None else None
    assert child.returncode == 0
    assert files >= 5000 and finished_tasks >= {1, 2}, (files, finished_tasks)
    assert alarms == []


def test_a_full_disk_keeps_the_newest_checkpoint_and_the_run_resumes(unfinished, tmp_path):
    out = copy(unfinished, tmp_path)
    before = files_under(out / "checkpoints" / "step_256")
    state_size = (out / "checkpoints" / "step_256" / "state.pt").stat().st_size
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path,
                   file_size_limit=state_size // 2)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert re.fullmatch(
        rf"blip-rl train: error: cannot write '{re.escape(str(out))}/checkpoints/\S+': "
        rf"{re.escape(os.strerror(errno.EFBIG))} \[EFBIG\]; the newest checkpoint "
        rf"\({re.escape(str(out))}/checkpoints/step_256\) is intact; "
        rf"resume with: blip-rl train --out {re.escape(str(out))} --resume",
        last,
    ), last
    assert not [p for p in out.rglob(".*") if p.name != ".lock"], "a temporary file was left"
    assert files_under(out / "checkpoints" / "step_256") == before
    proc = run_cli("train", "--out", str(out), "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr and "step_256" in proc.stderr


def test_the_resume_hint_is_safe_to_paste_into_a_shell(tmp_path):
    out = tmp_path / "x;touch PWNED;#"
    child = started_writing(out, tmp_path)
    while not (out / "checkpoints" / "step_128").exists():
        assert child.poll() is None, child.wait().stderr
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
    last = child.wait(timeout=120).stderr.strip().splitlines()[-1]
    hint = last.split("resume with: ", 1)[1]
    assert shlex.split(hint) == ["blip-rl", "train", "--out", str(out), "--resume"]


def rewrite_checksum(path):
    """Make ``path``'s folder list its current checksum, as a crafted file would."""
    sums = path.parent / "SHA256SUMS"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = [ln for ln in sums.read_text().splitlines() if not ln.endswith(f"  {path.name}")]
    sums.write_text("".join(f"{ln}\n" for ln in [*lines, f"{digest}  {path.name}"]))


def zip_claiming_gigabytes(path):
    """A bits file whose zip directory says its one member unpacks to 3.75 GiB."""
    buffer = io.BytesIO()
    np.savez(buffer, **{"features_extractor.cnn.0.weight": np.zeros(64, np.uint8)})
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        data[at : at + 4] = (0xF0000000).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def npy_claiming_gigabytes(path):
    """A bits file whose one array's header declares 2^33 values, in a few bytes."""
    npy = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (2**33,)}
    np.lib.format.write_array_header_2_0(npy, header)
    npy.write(b"\x00" * 64)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("features_extractor.cnn.0.weight.npy", npy.getvalue())


@pytest.mark.parametrize(
    "craft, problem",
    [
        (zip_claiming_gigabytes, "it unpacks to 4,026,531,840 bytes, over 1,073,741,824"),
        (
            npy_claiming_gigabytes,
            "features_extractor.cnn.0.weight.npy declares 8,589,934,592 uint8 values in 192 bytes",
        ),
    ],
)
def test_a_bits_file_claiming_gigabytes_is_refused_before_anything_is_allocated(
    finished, tmp_path, craft, problem
):
    out = copy(finished, tmp_path)
    bits = out / "bits" / "task_0.npz"
    craft(bits)
    rewrite_checksum(bits)
    assert bits.stat().st_size < 2**20
    for command in (["heatmap", str(out)], ["inspect", str(out)]):
        proc = run_cli(*command, cwd=tmp_path)
        if command[0] == "heatmap":
            assert_one_line_error(proc, f"cannot read '{bits}' ({problem})")
        else:  # inspect reads no bits
            assert proc.returncode == 0, proc.stderr


def test_the_first_sigterm_stops_a_long_evaluation_at_once(tmp_path):
    out = tmp_path / "run"
    long_evaluations = ["--games", "freeway,breakout", "--eval-interval", "128",
                        "--eval-episodes", "2000", "--eval-max-steps", "1000"]  # fmt: skip
    started = time.monotonic()  # each evaluation plays 2 million steps: many minutes
    proc = run_cli("train", "--out", str(out), *LONGER, *long_evaluations, cwd=tmp_path,
                   kill_at="sigterm-eval:1")  # fmt: skip
    assert proc.returncode == 143, proc.stderr
    assert time.monotonic() - started < 60
    last = proc.stderr.strip().splitlines()[-1]
    assert f"stopped at env step 128 with checkpoint {out}/checkpoints/step_128" in last, last
    assert "step 128  freeway" not in proc.stderr  # the evaluation given up, not logged
