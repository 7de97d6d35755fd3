"""Tables of finished ``blip-rl train`` runs grouped by method: per group, mean ± standard
error [95% bootstrap CI] over seeds of ACC, BWT (clipped and unclipped), mean plasticity over
tasks 2..T and the final frozen-bit share; then every pair of groups' difference, marked
significant where its CI excludes 0 (paired over the seeds both groups have).

Each run's scores are recomputed from its ``summary.json`` with the current score table (as
``blip-rl inspect`` does); the plasticity reference is the mean of the ``--scratch`` runs.

    python benchmarks/plasticity_table.py --scratch runs/scratch_s0 runs/scratch_s1 \\
        --group "blip" runs/blip_s0 runs/blip_s1 --group "ft" runs/ft_s0 runs/ft_s1
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.scratch import load_scratch
from blip_rl.core.metrics import estimate, pairwise_differences
from blip_rl.infra.tables import difference_lines, estimate_lines

COLUMNS = ("acc", "bwt", "bwt_unclipped", "mean_plasticity", "frozen")


def run_metrics(folder: Path, scratch: list[Path], policy: str) -> tuple[int, dict]:
    """The run's seed and its :data:`COLUMNS` (``None`` where it has no value)."""
    run = open_train_run(folder)
    cfg = replace(run.train_config, eval_policy=policy)
    reference = load_scratch(scratch, cfg) if scratch else None
    fresh = run.fresh_summary(policy, reference)
    scores = {k: getattr(fresh.scores, k) for k in COLUMNS[:-1]}
    return cfg.seed, {**scores, "frozen": fresh.frozen_fraction[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, nargs="*", default=[], help="scratch runs")
    parser.add_argument(
        "--group", nargs="+", action="append", required=True, metavar=("LABEL", "RUN"),
        help="a label, then its runs (one per seed)",
    )  # fmt: skip
    parser.add_argument("--policy", choices=EVAL_POLICIES, default="sampled")
    args = parser.parse_args()
    values: dict[str, dict[str, dict[int, float]]] = {c: {} for c in COLUMNS}
    for label, *runs in args.group:
        for column in COLUMNS:
            values[column][label] = {}
        for folder in runs:
            seed, metrics = run_metrics(Path(folder), args.scratch, args.policy)
            for column, value in metrics.items():
                if value is not None:
                    values[column][label][seed] = value
    rows = [
        (
            label,
            {c: estimate(list(v[label].values())) if v[label] else None for c, v in values.items()},
        )
        for label, *_ in args.group
    ]
    print(f"{args.policy} actions: mean ± SE [95% CI] over seeds")
    print("\n".join(estimate_lines(rows, COLUMNS)))
    print("\n".join(difference_lines({c: pairwise_differences(v) for c, v in values.items()})))


if __name__ == "__main__":
    main()
