"""A table of finished ``blip-rl classify`` runs grouped by label: per group, mean ± standard
error [95% bootstrap CI] over seeds of ACC and BWT (%), then every pair of groups'
difference, marked significant where its CI excludes 0 (paired over the seeds both groups
have). A run folder may hold several seeds; a group's seeds are those of all its runs.

    python benchmarks/classify_table.py --group blip runs/f5_blip --group ewc runs/f5_ewc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blip_rl.classification.results import open_classify_run
from blip_rl.core.metrics import estimate, pairwise_differences
from blip_rl.infra.tables import difference_lines, estimate_lines

COLUMNS = ("acc", "bwt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--group", nargs="+", action="append", required=True, metavar=("LABEL", "RUN"),
        help="a label, then its classify run folders",
    )  # fmt: skip
    args = parser.parse_args()
    values: dict[str, dict[str, dict[int, float]]] = {c: {} for c in COLUMNS}
    for label, *runs in args.group:
        for column in COLUMNS:
            values[column][label] = {}
        for folder in runs:
            for record in open_classify_run(Path(folder)).results.per_seed:
                for column in COLUMNS:
                    values[column][label][record.seed] = getattr(record, column)
    rows = [(label, {c: estimate(list(v[label].values())) for c, v in values.items()})
            for label, *_ in args.group]  # fmt: skip
    print("mean ± SE [95% CI] over seeds")
    print("\n".join(estimate_lines(rows, COLUMNS, digits=2, unit=" (%)")))
    print("\n".join(difference_lines({c: pairwise_differences(v) for c, v in values.items()}, 2)))


if __name__ == "__main__":
    main()
