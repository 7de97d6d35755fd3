"""Every `make bench` script runs and ends with its headline ratio (tiny budgets: the numbers
themselves are measured by `make bench`, not here)."""

import re
from pathlib import Path

import pytest

from tests.cli import run_script

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
HEADLINE = re.compile(r"^[^:]+: [-+.\deE]+ \(target [<>]= [\d.]+\)$")


@pytest.mark.parametrize(
    "script, args",
    [
        ("ppo_overhead.py", ["--suite", "minatar", "--steps", "400", "--repeats", "1"]),
        ("fisher.py", ["--samples", "64", "--chunk", "32", "--repeats", "1"]),
        ("state_bytes.py", []),
        ("consolidation.py", ["--suite", "minatar", "--steps", "400", "--repeats", "1"]),
    ],
)
def test_each_benchmark_ends_with_its_headline_ratio(script, args):
    proc = run_script(BENCHMARKS / script, *args)
    assert proc.returncode == 0, proc.stderr
    assert HEADLINE.match(proc.stdout.strip().splitlines()[-1]), proc.stdout


def test_make_bench_runs_every_benchmark_script():
    makefile = (BENCHMARKS.parent / "Makefile").read_text()
    bench = makefile.split("\nbench:")[1].split("\n\n")[0]
    scripts = {p.name for p in BENCHMARKS.glob("*.py")} - {"timing.py"}
    helpers = {"plasticity_table.py", "minatar_scores.py", "env_fps.py", "eval_noise.py"}  # tables
    assert {s for s in scripts - helpers if f"benchmarks/{s}" not in bench} == set()
