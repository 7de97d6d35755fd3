"""``blip-rl classify`` checkpoints every task end and resumes: killed or stopped anywhere, a
run continues at its next task and ends exactly as the run nothing stopped."""

import json
import shutil
import signal
import statistics
import time

import numpy as np
import pytest

from blip_rl.core.metrics import acc_bwt
from tests.cli import assert_one_line_error, run_cli, start_cli
from tests.datafiles import write_mnist

TASKS = 5  # fmnist5: 5 class pairs
SETTINGS = ["--benchmark", "fmnist5", "--seeds", "0,1", "--epochs", "2",
            "--fisher-samples", "32", "--device", "cpu"]  # fmt: skip


def classify(out, *extra, data, kill_at=None):
    """``classify`` of tiny Fashion-MNIST files (seeds 0 and 1), resuming if ``out`` holds a run."""
    if (out / "config.json").exists():
        args = ["--out", str(out), "--resume", "--data-dir", str(data)]
    else:
        args = ["--out", str(out), "--data-dir", str(data), *SETTINGS]
    return run_cli("classify", *args, *extra, cwd=out.parent, kill_at=kill_at)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_mnist(folder / "fashion-mnist", per_class=4)
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data):
    """The run nothing stopped."""
    out = tmp_path_factory.mktemp("reference") / "run"
    proc = classify(out, data=data)
    assert proc.returncode == 0, proc.stderr
    return out


def outcome(out):
    """What a run computed: results.json without wall time, and every bits file."""
    results = json.loads((out / "results.json").read_text())
    results.pop("wall_time_s")
    bits = {}
    for path in sorted((out / "bits").rglob("*.npz")):
        with np.load(path) as saved:
            bits[str(path.relative_to(out))] = {name: saved[name] for name in saved.files}
    return results, bits


def assert_same_run(out, reference):
    (results, bits), (ref_results, ref_bits) = outcome(out), outcome(reference)
    assert results == ref_results
    assert bits.keys() == ref_bits.keys() and len(bits) == 2 * TASKS
    for name, maps in bits.items():
        assert maps.keys() == ref_bits[name].keys()
        assert all(np.array_equal(maps[k], ref_bits[name][k]) for k in maps), name


def first(done):
    """How the run's messages name its first ``done`` tasks."""
    return "task 0" if done == 1 else f"tasks 0..{done - 1}"


def assert_inspect_shows_the_finished_tasks(out, reference, done, seeds):
    """``inspect`` and ``heatmap`` of a run not finished: the tasks 0..done-1 that its first
    ``seeds`` seeds have finished, with the uninterrupted run's accuracies and ACC/BWT."""
    proc = run_cli("inspect", str(out), cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    waiting = "" if seeds == 2 else " (seed 1 not started)"
    started = "seeds 0, 1" if seeds == 2 else "seed 0"
    assert f"unfinished: {first(done)} of 0..{TASKS - 1} done in {started}{waiting}" in proc.stdout
    ref = json.loads((reference / "results.json").read_text())["acc_matrix"]
    cut = [[row[:done] for row in matrix[:done]] for matrix in ref[:seeds]]
    accs, bwts = zip(*(acc_bwt(m) for m in cut))
    if seeds == 1:
        assert f"ACC {accs[0]:.2f} %, BWT {bwts[0]:+.2f} % (n = 1)" in proc.stdout
    else:
        assert f"ACC {statistics.fmean(accs):.2f} ± " in proc.stdout
    assert proc.stdout.count("BLIP capacity") == seeds
    assert f"after fmnist-{done - 1}" in proc.stdout and f"after fmnist-{done}" not in proc.stdout
    figure = out.parent / "partial.png"
    proc = run_cli("heatmap", str(out), "--out", str(figure), cwd=out.parent)
    assert proc.returncode == 0 and figure.stat().st_size > 0, proc.stderr


@pytest.mark.parametrize("point", ["checkpoint:3", "checkpoint:7"])
def test_a_killed_run_resumes_at_its_next_task_and_ends_as_if_never_killed(
    tmp_path, data, reference, point
):
    # checkpoint:3 dies writing seed 0's task 2; checkpoint:7, seed 1's task 1 (seed 0 done)
    out = tmp_path / "run"
    proc = classify(out, data=data, kill_at=point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (out / "results.json").exists()
    seed, done = (0, 2) if point == "checkpoint:3" else (1, 1)
    assert_inspect_shows_the_finished_tasks(out, reference, done, seeds=seed + 1)
    proc = classify(out, data=data)
    assert proc.returncode == 0, proc.stderr
    assert f"seed {seed}: {first(done)} restored, continuing" in proc.stderr
    learned = [line for line in proc.stderr.splitlines() if " epochs  accuracy now" in line]
    assert learned[0].startswith(f"seed {seed}  task {done} ")  # nothing finished is redone
    assert len(learned) == (TASKS - done) + (TASKS if seed == 0 else 0)
    assert_same_run(out, reference)
    assert sorted(p.name for p in (out / "checkpoints" / "seed_1").iterdir()) == [
        "task_3",
        "task_4",
    ]  # the newest two per seed are kept


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_keeps_the_finished_tasks_and_exits_with_the_resume_line(
    tmp_path, data, reference, presses
):
    # one press stops after the current batch; a second one at once (SIGTERM takes the
    # same path, see test_crash_safety)
    out = tmp_path / "run"
    child = start_cli("classify", "--out", str(out), "--data-dir", str(data), *SETTINGS,
                      cwd=tmp_path)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "seed_0" / "task_1").is_dir():
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    if presses == 2:  # SIGTERM: a second SIGINT sent at once would merge with the first
        child.send_signal(signal.SIGTERM)
    proc = child.wait(timeout=60)
    assert proc.returncode == 130, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    how = "at once " if presses == 2 else ""
    assert last.startswith(f"blip-rl classify: stopped {how}in seed 0 (tasks 0.."), last
    assert last.endswith(f"resume with: blip-rl classify --out {out} --resume")
    assert "Traceback" not in proc.stderr
    proc = classify(out, data=data)
    assert proc.returncode == 0, proc.stderr
    assert_same_run(out, reference)


def test_inspecting_a_run_still_learning_whose_data_moved_is_one_line(tmp_path, data):
    moved = tmp_path / "data"
    shutil.copytree(data, moved)
    out = tmp_path / "run"
    proc = classify(out, data=moved, kill_at="checkpoint:2")  # dies writing task 1
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    shutil.rmtree(moved)
    proc = run_cli("inspect", str(out), cwd=tmp_path)
    assert_one_line_error(proc, f"{str(out)!r} is unfinished; its task names come from its data")


def test_resuming_a_finished_run_is_a_no_op(tmp_path, data, reference):
    files = {p: p.read_bytes() for p in reference.rglob("*") if p.is_file()}
    proc = run_cli("classify", "--out", str(reference), "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "finished already: nothing to do" in proc.stdout and "ACC" in proc.stdout
    assert {p: p.read_bytes() for p in reference.rglob("*") if p.is_file()} == files


def test_resume_refuses_a_changed_setting_and_starts_a_seed_with_no_checkpoint_over(tmp_path, data):
    out = tmp_path / "run"
    proc = classify(out, data=data, kill_at="checkpoint:1")  # dies writing the first one
    assert proc.returncode == -signal.SIGKILL
    changed = classify(out, "--epochs", "3", data=data)
    assert_one_line_error(changed, "--epochs 3 differs from the run's 2 (config.json)")
    proc = classify(out, data=data)  # no checkpoint yet: seed 0 starts over
    assert proc.returncode == 0, proc.stderr


def test_a_new_run_into_a_used_folder_is_refused(tmp_path, data, reference):
    proc = run_cli("classify", "--out", str(reference), "--epochs", "1", cwd=tmp_path)
    assert_one_line_error(proc, "is not empty; pass --resume to continue that run")
    proc = run_cli("classify", "--resume", cwd=tmp_path)
    assert_one_line_error(proc, "--resume needs --out")
