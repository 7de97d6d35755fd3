"""Tables of finished ``blip-rl train`` runs grouped by method: per group, mean ± standard
error [95% bootstrap CI] over seeds of ACC, BWT (clipped and unclipped), mean plasticity over
tasks 2..T and the final frozen-bit share; then every pair of groups' difference, marked
significant where a t-test gives p < 0.05 (paired over the seeds both groups have).

Each run's scores are recomputed from its ``summary.json`` with the current score table (as
``blip-rl inspect`` does); the plasticity reference is the mean of the ``--scratch`` runs
(``--method scratch`` or ``independent``) that are a fair reference for it: ``--scratch`` may
mix, say, runs of both critic trunks, and each run is compared with those of its own.

    python benchmarks/plasticity_table.py --scratch runs/scratch_s0 runs/scratch_s1 \\
        --group "blip" runs/blip_s0 runs/blip_s1 --group "ft" runs/ft_s0 runs/ft_s1
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from groups import add_group_argument, group_table

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.evaluation import EVAL_POLICIES
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.scratch import load_scratch, mismatch
from blip_rl.infra.flags import Parser

COLUMNS = ("acc", "bwt", "bwt_unclipped", "mean_plasticity", "frozen")


def run_metrics(folder: Path, scratch: dict[Path, TrainConfig], policy: str) -> tuple[int, dict]:
    """The run's seed and its :data:`COLUMNS` (``None`` where it has no value); ``scratch``:
    the reference runs' configs by folder."""
    run = open_train_run(folder)
    cfg = replace(run.train_config, eval_policy=policy)
    fair = [s for s, saved in scratch.items() if mismatch(saved, cfg) is None]
    # with no fair run, load_scratch says why the first one is not
    reference = load_scratch(fair or list(scratch), cfg) if scratch else None
    fresh = run.fresh_summary(policy, reference)
    scores = {k: getattr(fresh.scores, k) for k in COLUMNS[:-1]}
    return cfg.seed, {**scores, "frozen": fresh.frozen_fraction[-1]}


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scratch", type=Path, nargs="*", default=[], help="scratch or independent runs"
    )
    add_group_argument(parser, "runs (one per seed)")
    parser.add_argument("--policy", choices=EVAL_POLICIES, default="sampled")
    args = parser.parse_args()

    try:
        scratch = {folder: open_train_run(folder).train_config for folder in args.scratch}
    except (OSError, ValueError) as err:  # one line, not a traceback
        raise SystemExit(f"error: --scratch: {err}") from None

    def seed_values(folder: Path) -> list[tuple[int, dict[str, float | None]]]:
        return [run_metrics(folder, scratch, args.policy)]

    print(f"{args.policy} actions: mean ± SE [95% CI] over seeds")
    print("\n".join(group_table(args.group, COLUMNS, seed_values, markdown=args.markdown)))


if __name__ == "__main__":
    main()
