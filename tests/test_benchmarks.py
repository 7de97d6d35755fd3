"""Every `make bench` script runs and ends with its headline ratio (tiny budgets: the numbers
themselves are measured by `make bench`, not here)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli import run_cli, run_script
from tests.test_agents import TINY

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
HEADLINE = re.compile(r"^[^:]+: [-+.\deE]+ \(target [<>]= [\d.]+\)$")


@pytest.mark.parametrize(
    "script, args",
    [
        (
            "ppo_overhead.py",
            ["--suite", "minatar", "--steps", "400", "--pairs", "2", "--critic-trunk", "own"],
        ),
        ("classify_overhead.py", ["--steps", "2", "--pairs", "1"]),
        (
            "classify_overhead.py",
            ["--net", "mlp", "--method", "ewc", "--steps", "2", "--pairs", "1"],
        ),
        ("fisher.py", ["--samples", "64", "--chunk", "32", "--repeats", "1"]),
        ("state_bytes.py", []),
        ("consolidation.py", ["--suite", "minatar", "--steps", "400", "--repeats", "1"]),
    ],
)
def test_each_benchmark_ends_with_its_headline_ratio(script, args):
    proc = run_script(BENCHMARKS / script, *args)
    assert proc.returncode == 0, proc.stderr
    assert HEADLINE.match(proc.stdout.strip().splitlines()[-1]), proc.stdout


@pytest.mark.parametrize(
    "script, args",
    [
        ("ppo_overhead.py", ["--pairs", "0"]),
        ("step_variants.py", ["--rounds", "-2"]),
        ("fisher.py", ["--samples", "many"]),
    ],
)
def test_a_benchmark_count_below_one_is_a_one_line_error(script, args):
    proc = run_script(BENCHMARKS / script, *args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"{script}: error: argument {args[0]}: invalid value {args[1]!r}; "
        "expected an integer >= 1\n"
    )


def test_every_benchmark_script_parses_with_one_line_errors():
    for script in BENCHMARKS.glob("*.py"):
        assert "argparse.ArgumentParser(" not in script.read_text(), script.name


def test_make_bench_runs_every_benchmark_script():
    makefile = (BENCHMARKS.parent / "Makefile").read_text()
    bench = makefile.split("\nbench:")[1].split("\n\n")[0]
    scripts = {p.name for p in BENCHMARKS.glob("*.py")} - {"timing.py", "groups.py"}
    helpers = {  # tables, not ratios
        "plasticity_table.py",
        "classify_table.py",
        "gpu_check.py",  # make bench-gpu
        "first_task_bits.py",
        "method_memory.py",
        "minatar_scores.py",
        "env_fps.py",
        "eval_noise.py",
        "next_task_diagnostic.py",
        "profile_shares.py",
    }
    assert {s for s in scripts - helpers if f"benchmarks/{s}" not in bench} == set()


def test_step_variants_times_each_variant_and_checks_its_bits():
    proc = run_script(BENCHMARKS / "step_variants.py", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("minatar trunk: 4 BLIP tensors (2,880 + 32 + 524,288 + 256 weights)")
    step = next(line for line in lines if line.startswith("clip + rebuild, per optimizer step: "))
    assert re.search(r"foreach \d+ us \([\d.]+x, same bits\)", step), step
    assert re.search(r"fused \d+ us \([\d.]+x, same bits\)", step), step
    ste = next(line for line in lines if line.startswith("straight-through copy"))
    assert re.search(r"detach \d+ us \([\d.]+x, (same bits|same values, \d+ zeros of)", ste)
    assert HEADLINE.match(lines[-1]), lines[-1]


def test_profile_shares_counts_a_sample_once_in_each_part_it_is_inside(tmp_path):
    update = "learn (x.py:1);train (stable_baselines3/ppo/ppo.py:270)"
    quantized = "BlipLayer.quantized (blip_rl/core/layers.py:111)"
    raw = tmp_path / "run.txt"
    raw.write_text(
        f"{update};{quantized};straight_through (blip_rl/core/quant.py:120) 3\n"
        f"{update};BlipClip.__call__ (blip_rl/core/clip.py:98) 1\n"
        "learn (x.py:1);collect_rollouts (stable_baselines3/common/on_policy_algorithm.py:1) 4\n"
        " 2\n"  # a sample outside Python
    )
    proc = run_script(BENCHMARKS / "profile_shares.py", str(raw))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{raw}: 10 samples"
    shares = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in lines[1:]}
    assert shares == {
        "BLIP: the quantized copy (cache check, rebuild, STE call)": "30.0%",
        "of which the straight-through function": "30.0%",
        "BLIP: the clip": "10.0%",
        "BLIP: task ends (Fisher, bits)": "0.0%",
        "PPO update (SB3's train)": "40.0%",
        "rollouts (SB3's collect_rollouts)": "40.0%",
        "evaluation": "0.0%",
        "BLIP, all per-step code": "40.0%",
    }
    raw.write_text("not a profile\n")
    proc = run_script(BENCHMARKS / "profile_shares.py", str(raw))
    assert proc.returncode == 2 and "is not a py-spy raw profile" in proc.stderr


@pytest.fixture(scope="module")
def fake_runs(tmp_path_factory):
    """A tiny BLIP, EWC and scratch run of the two fake games."""
    root = tmp_path_factory.mktemp("runs")
    for method in ("blip", "ewc", "scratch"):
        proc = run_cli("train", "--out", str(root / method), "--suite", "fake", "--method",
                       method, "--steps-per-task", "128", *TINY, cwd=root)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("eval_noise.py", ["{root}/blip", "--episodes", "4"], "blip, task_1, fake_b, greedy, 4"),
        ("next_task_diagnostic.py", ["{root}/blip", "--samples", "64"],
         "features_extractor.cnn.3, "),
        ("first_task_bits.py", ["{root}/blip"], "paper preset  f0 5e-18 (before)  features_"),
        ("method_memory.py", ["{root}/blip"], "blip, blip, 2, 9.00"),
        ("method_memory.py", ["{root}/ewc"], "ewc, ewc, 2, 8.00"),  # F and anchor, float32
        ("plasticity_table.py", ["--scratch", "{root}/scratch", "--group", "blip", "{root}/blip",
                                 "--group", "again", "{root}/blip"], "blip - again: +0.000"),
    ],
)  # fmt: skip
def test_each_table_script_runs_on_a_real_run(fake_runs, script, args, expected):
    proc = run_script(BENCHMARKS / script, *(a.format(root=fake_runs) for a in args))
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout


def test_the_classify_table_gives_estimates_and_paired_differences(tmp_path):
    out = tmp_path / "blip"
    proc = run_cli("classify", "--out", str(out), "--seeds", "0,1", "--epochs", "1",
                   "--fisher-samples", "32", "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run_script(BENCHMARKS / "classify_table.py", "--group", "blip", str(out),
                      "--group", "again", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"blip\s+2\s+[\d.]+ ± [\d.]+ \[[\d.]+, [\d.]+\]", proc.stdout), proc.stdout
    assert "acc                          blip - again: +0.00 ± 0.00 [+0.00, +0.00]" in proc.stdout
    proc = run_script(BENCHMARKS / "classify_table.py", "--markdown", "--group", "blip", str(out),
                      "--group", "again", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1:3] == ["| method | n | acc (%) | bwt (%) | la (%) |", "|---|---|---|---|---|"]
    estimate = r"[\d.]+ ± [\d.]+ \[[\d.]+, [\d.]+\]"
    assert re.fullmatch(rf"\| blip \| 2 \| {estimate} \| .+ \| {estimate} \|", lines[3])
    assert "- acc                          blip - again: +0.00" in proc.stdout
    matrices = json.loads((out / "results.json").read_text())["acc_matrix"]
    la = np.mean([np.mean([m[j][j] for j in range(len(m))]) for m in matrices])
    assert lines[3].split(" | ")[4].startswith(f"{la:.2f} ± ")  # the mean of each task at its end


@pytest.mark.slow
def test_the_gpu_check_runs_every_step_on_cpu_with_tiny_budgets(tmp_path):
    proc = run_script(
        BENCHMARKS / "gpu_check.py", "--device", "cpu", "--vec-env", "dummy", "--n-envs", "2",
        "--n-steps", "32", "--steps", "64", "--pairs", "1", "--fisher-samples", "64",
        "--run-steps", "64", "--eval-episodes", "1", "--eval-max-steps", "50",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    for name in ("BLIP PPO / plain SB3 PPO", "Fisher / batched forward+backward"):
        assert float(lines[name]) > 0
    assert lines["train run"].startswith("exit 0") and "ACC" in proc.stdout
    assert (tmp_path / "run" / "summary.json").is_file()


def test_the_gpu_check_refuses_in_one_line_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = run_script(BENCHMARKS / "gpu_check.py")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "gpu_check: --device cuda asked for, but no CUDA GPU is available; use cpu or auto"
    )


def test_first_task_bits_refreezes_the_runs_own_first_task_exactly(fake_runs):
    proc = run_script(BENCHMARKS / "first_task_bits.py", str(fake_runs / "blip"))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("default       f0 x 62^2"))
    summary = json.loads((fake_runs / "blip" / "summary.json").read_text())
    # the run froze with the default rule and the corrected prior: the same bits again
    assert float(line.split(" all ")[1]) == pytest.approx(
        20 * summary["frozen_fraction"][0], abs=0.01
    )


def test_a_table_script_names_an_unreadable_run_in_one_line(fake_runs, tmp_path):
    missing = tmp_path / "no_such_run"
    proc = run_script(BENCHMARKS / "plasticity_table.py", "--scratch", str(fake_runs / "scratch"),
                      "--group", "blip", str(fake_runs / "blip"), str(missing))  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: {missing}: '{missing}' does not exist"]
    proc = run_script(BENCHMARKS / "plasticity_table.py", "--scratch", str(missing),
                      "--group", "blip", str(fake_runs / "blip"))  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: --scratch: '{missing}' does not exist"]


def test_the_plasticity_table_compares_each_run_with_scratch_runs_of_its_own_critic_trunk(
    fake_runs, tmp_path
):
    shared = tmp_path / "scratch_shared"
    args = ["--suite", "fake", "--method", "scratch", "--critic-trunk", "shared"]
    proc = run_cli("train", "--out", str(shared), *args, "--steps-per-task", "128", *TINY,
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    blip = fake_runs / "blip"
    proc = run_script(BENCHMARKS / "plasticity_table.py", "--scratch", str(shared),
                      str(fake_runs / "scratch"), "--group", "blip", str(blip))  # fmt: skip
    assert proc.returncode == 0 and "blip" in proc.stdout, proc.stderr
    proc = run_script(BENCHMARKS / "plasticity_table.py", "--scratch", str(shared),
                      "--group", "blip", str(blip))  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: {blip}: --scratch {str(shared)!r} has critic_trunk shared, this run own; "
        "they must match"
    ]
