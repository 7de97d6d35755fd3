"""``blip-rl sweep`` on a local Ray instance (2 CPUs): tiny real runs, the aggregate, re-launch
and a failed run."""

import csv
import json
import signal
import statistics
import time
from dataclasses import asdict

import pytest

from blip_rl.classification.config import ClassifyConfig
from blip_rl.commands.runs import open_run
from blip_rl.commands.sweep import SweepConfig, plan
from blip_rl.infra.files import write_json
from tests.cli import assert_one_line_error, run_cli, start_cli
from tests.test_agents import TINY

GAMES = ["--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "128"]
SWEEP = ["--methods", "blip,ft", "--seeds", "0,1", *GAMES, *TINY, "--device", "cpu"]


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    proc = run_cli("sweep", "--out", str(root / "s"), *SWEEP, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root, root / "s", proc


def test_a_sweep_runs_every_method_and_seed_and_aggregates_over_seeds(swept):
    _, out, proc = swept
    names = ["blip__0", "blip__1", "ft__0", "ft__1"]
    per_run = {r["run"]: r for r in rows(out / "runs.csv")}
    assert list(per_run) == names and all(r["error"] == "" for r in per_run.values())
    for name in names:
        run = open_run(out / name)
        assert run.method == name.split("__")[0] and run.seeds == [int(name[-1])]
        assert run.tasks_done == 2  # a normal, finished run folder
        assert float(per_run[name]["acc"]) == pytest.approx(run.fresh_summary().scores.acc)
    summary = {r["method"]: r for r in rows(out / "summary.csv")}
    assert list(summary) == ["blip", "ft"]
    for method, row in summary.items():
        accs = [float(per_run[f"{method}__{s}"]["acc"]) for s in (0, 1)]
        assert (row["runs"], row["failed"]) == ("2", "0")
        assert float(row["acc_mean"]) == pytest.approx(statistics.fmean(accs))
        assert float(row["acc_se"]) == pytest.approx(statistics.stdev(accs) / 2**0.5)
        assert float(row["acc_ci_low"]) <= float(row["acc_mean"]) <= float(row["acc_ci_high"])
    assert "blip      2" in proc.stdout and "acc  " in proc.stdout
    differences = rows(out / "differences.csv")
    assert [(d["metric"], d["first"], d["second"], d["paired"]) for d in differences][:1] == [
        ("acc", "blip", "ft", "True")
    ]
    assert "blip - ft" in proc.stdout
    assert (out / "plots" / "fig4_accumulated_normalized.png").exists()


def test_a_relaunched_sweep_skips_finished_runs(swept):
    root, out, _ = swept
    before = {p: p.stat().st_mtime_ns for p in out.glob("*__*/summary.json")}
    proc = run_cli("sweep", "--out", str(out), *SWEEP, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "finished already, skipped: blip__0, blip__1, ft__0, ft__1" in proc.stderr
    assert (
        f"sweep of 4 `blip-rl train` runs (blip, ft x seeds 0,1) into {out}: 0 to start, "
        "0 to resume, 4 done; each learns\n  MinAtar: 2 tasks (breakout, space_invaders), "
        "128 env steps each, 256 in all"
    ) in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("*__*/summary.json")} == before


@pytest.mark.slow  # a second Ray sweep (40 s); the default suite keeps the first
def test_a_failed_run_is_reported_and_the_others_finish(tmp_path):
    out, blip = tmp_path / "s", ["--methods", "blip", *SWEEP[4:]]
    first = run_cli("sweep", "--out", str(out), *blip, "--seeds", "0", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (out / "blip__0" / "summary.json").unlink()  # as if it had crashed after its first task
    for state in (out / "blip__0" / "checkpoints").glob("*/state.pt"):
        state.write_bytes(b"garbage")  # no intact checkpoint left
    proc = run_cli("sweep", "--out", str(out), *blip, "--seeds", "0,1", cwd=tmp_path)
    assert proc.returncode == 1
    assert "FAILED blip__0: blip-rl train: error:" in proc.stdout
    errors = {r["run"]: r["error"] for r in rows(out / "runs.csv")}
    assert errors["blip__0"].startswith("blip-rl train: error:")
    assert [r for r, e in errors.items() if not e] == ["blip__1"]
    summary = {r["method"]: r for r in rows(out / "summary.csv")}
    assert (summary["blip"]["runs"], summary["blip"]["failed"]) == ("1", "1")


def test_bad_sweeps_are_refused_in_one_line_before_any_run(tmp_path, swept):
    _, out, _ = swept
    cases = [
        (["--seed", "3"], "--seed is set by the sweep for each run; use --methods, --seeds"),
        (["--methods", "blip,blip"], "methods must be distinct, got blip,blip"),
        (["--methods", "bliip"], "unknown method 'bliip' for --methods; choose from:"),
        (["--games", "pong"], "unknown minatar game 'pong'; choose from: breakout"),
    ]
    for args, message in cases:
        proc = run_cli("sweep", "--out", str(tmp_path / "new"), *SWEEP, *args, cwd=tmp_path)
        assert_one_line_error(proc, message)
    assert not list((tmp_path / "new").glob("*__*"))
    other = run_cli("sweep", "--out", str(out), *SWEEP, "--ent-coef", "0.02", cwd=tmp_path)
    assert_one_line_error(other, "holds a run with ent_coef 0.01, the sweep's is 0.02")
    assert json.loads((out / "blip__0" / "config.json").read_text())["ppo"]["ent_coef"] == 0.01


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_sweep_and_its_runs_with_checkpoints(tmp_path, signum, status):
    out = tmp_path / "s"
    longer = ["--methods", "blip", "--seeds", "0", *GAMES, *TINY, "--device", "cpu",
              "--steps-per-task", "4096", "--checkpoint-interval", "128"]  # fmt: skip
    child = start_cli("sweep", "--out", str(out), *longer, cwd=tmp_path)
    while not (out / "blip__0" / "checkpoints" / "step_128").exists():
        assert child.poll() is None, child.wait().stderr
        time.sleep(0.05)
    child.send_signal(signum)
    proc = child.wait(timeout=180)
    assert proc.returncode == status, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "blip-rl sweep: stopped; its runs stopped with checkpoints; run the same sweep again "
        "to go on"
    )
    log = (out / "logs" / "blip__0.log").read_text().strip().splitlines()[-1]
    assert "stopped at env step" in log and "resume with: blip-rl train --out" in log, log
    assert not (out / ".lock").exists() and not (out / "blip__0" / ".lock").exists()


def test_a_relaunched_classify_sweep_resumes_a_stopped_run(tmp_path):
    # a classify run that stopped midway: its config.json, no results.json
    args = ("--benchmark", "digits5", "--epochs", "1", "--device", "cpu")
    cfg = SweepConfig(job="classify", methods=("blip", "ft"), seeds=(0,), out=str(tmp_path),
                      run_args=args)  # fmt: skip
    stopped = ClassifyConfig(benchmark="digits5", method="blip", seeds=(0,), epochs=1,
                             device="cpu", out=str(tmp_path / "blip__0")).resolved()  # fmt: skip
    write_json(tmp_path / "blip__0" / "config.json", asdict(stopped))
    runs = {r.name: r for r in plan(cfg)}
    assert runs["blip__0"].state == "resume" and runs["blip__0"].argv[-1] == "--resume"
    assert runs["ft__0"].state == "todo" and "--resume" not in runs["ft__0"].argv
