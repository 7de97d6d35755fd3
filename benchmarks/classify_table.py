"""A table of finished ``blip-rl classify`` runs grouped by label: per group, mean ± standard
error [95% bootstrap CI] over seeds of ACC, BWT and LA in % (LA: the mean accuracy of each task
at its end, how well new tasks were learned; ACC = LA + BWT (T-1)/T), then every pair of groups'
difference, marked significant where a t-test gives p < 0.05 (paired over the seeds both
groups have). A run folder may hold several seeds; a group's seeds are those of all its runs.

    python benchmarks/classify_table.py --group blip runs/f5_blip --group ewc runs/f5_ewc
"""

from __future__ import annotations

from pathlib import Path

from groups import add_group_argument, group_table

from blip_rl.classification.results import open_classify_run
from blip_rl.core.metrics import learning_accuracy
from blip_rl.infra.flags import Parser

COLUMNS = ("acc", "bwt", "la")


def seed_values(folder: Path) -> list[tuple[int, dict[str, float | None]]]:
    """Each seed of the classify run in ``folder`` with its ACC, BWT and LA (%)."""
    results = open_classify_run(folder).results
    return [
        (r.seed, {"acc": r.acc, "bwt": r.bwt, "la": learning_accuracy(matrix)})
        for r, matrix in zip(results.per_seed, results.acc_matrix, strict=True)
    ]


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    add_group_argument(parser, "classify run folders")
    args = parser.parse_args()
    print("mean ± SE [95% CI] over seeds")
    print("\n".join(group_table(args.group, COLUMNS, seed_values, 2, " (%)", args.markdown)))


if __name__ == "__main__":
    main()
