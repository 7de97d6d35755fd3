"""The README's plasticity tables: mean +- std over seeds of ACC, BWT, mean plasticity and the
final frozen-bit share, for groups of finished ``blip-rl train`` runs.

Each run's scores are recomputed from its ``summary.json`` with the current score table (as
``blip-rl inspect`` does); the plasticity reference is the mean of the ``--scratch`` runs.

    python benchmarks/plasticity_table.py --scratch runs/scratch_s0 runs/scratch_s1 \\
        --group "blip" runs/blip_s0 runs/blip_s1 --group "ft" runs/ft_s0 runs/ft_s1
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.scratch import load_scratch

COLUMNS = ("acc", "bwt", "mean_plasticity", "frozen")


def run_metrics(folder: Path, scratch: list[Path], policy: str) -> dict[str, float | None]:
    run = open_train_run(folder)
    cfg = replace(run.train_config, eval_policy=policy)
    reference = load_scratch(scratch, cfg) if scratch else None
    fresh = run.fresh_summary(policy, reference)
    scores = {k: getattr(fresh.scores, k) for k in COLUMNS[:3]}
    return {**scores, "frozen": fresh.frozen_fraction[-1]}


def cell(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    if len(known) == 1:
        return f"{known[0]:.3f}"
    return f"{statistics.mean(known):.3f} ± {statistics.stdev(known):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, nargs="*", default=[], help="scratch runs")
    parser.add_argument(
        "--group", nargs="+", action="append", required=True, metavar=("LABEL", "RUN"),
        help="a label, then its runs (one per seed)",
    )  # fmt: skip
    parser.add_argument("--policy", choices=EVAL_POLICIES, default="sampled")
    args = parser.parse_args()
    print(f"| {args.policy} actions | seeds | ACC | BWT | mean plasticity | frozen bits |")
    print("|---|---|---|---|---|---|")
    for label, *runs in args.group:
        rows = [run_metrics(Path(r), args.scratch, args.policy) for r in runs]
        cells = " | ".join(cell([row[c] for row in rows]) for c in COLUMNS)
        print(f"| {label} | {len(runs)} | {cells} |")


if __name__ == "__main__":
    main()
