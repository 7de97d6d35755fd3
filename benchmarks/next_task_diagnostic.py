"""Before any new lever for BLIP's plasticity, no training: where does the next task need to
move the weights that the last one froze?

From a task-end checkpoint of a BLIP run and one rollout of the next game (actions sampled
from the next task's fresh actor head), per BLIP layer:
- the Spearman rank correlation between the old (running) Fisher and the new task's Fisher
  (its per-sample squared gradients of log pi): high means both tasks need the same weights;
- the share of the new task's Fisher mass on weights with at least 6 frozen bits (each can
  move at most 2^-6 of its layer's bound), and the share of weights that have them;
- the share of the new Fisher mass on units (output channels or features) that hold less than
  1% of the old Fisher mass each (dead for the old task).

    python benchmarks/next_task_diagnostic.py runs/blip_0 --task 0 [--samples 2048]
"""

from __future__ import annotations

from pathlib import Path

import torch
from scipy.stats import spearmanr

from blip_rl.agents.model import load_model
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.samples import FISHER_BATCH, RecentTransitions
from blip_rl.agents.trainer import resampled_log_likelihood
from blip_rl.core.fisher import fisher_diagonal
from blip_rl.core.layers import blip_layers
from blip_rl.envs import make_env
from blip_rl.infra.flags import Parser, positive_int

FROZEN = 6
DEAD = 0.01


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished or running BLIP train run")
    parser.add_argument("--task", type=int, default=0, help="the checkpoint task_<k> to read")
    parser.add_argument(
        "--samples", type=positive_int, default=2048, help="transitions of the rollout"
    )
    args = parser.parse_args()
    run = open_train_run(args.run)
    cfg = run.train_config
    model = load_model(run, f"task_{args.task}", torch.device("cpu"))
    game = cfg.sequence[args.task + 1]
    model.set_env(make_env(game, cfg.n_envs, cfg.seed + 1, train=True))
    model.policy.set_task(args.task + 1)
    torch.manual_seed(cfg.seed)
    samples = RecentTransitions(args.samples, model.observation_space.dtype)
    samples.top_up(model)
    layers = blip_layers(model.policy)
    new, n = fisher_diagonal(
        model.policy,
        samples.batches(FISHER_BATCH, torch.device("cpu")),
        resampled_log_likelihood,
        [layer for _, layer in layers],
    )
    print(f"{run.name}, after task {args.task} ({cfg.games[args.task]}), next: {game.name} "
          f"({n} transitions)")  # fmt: skip
    print("layer, rank corr(old F, new F), new F on S>=6, weights with S>=6, new F on dead units")
    for name, layer in layers:
        old = layer.fisher("weight").flatten().numpy()
        fresh = new[layer]["weight"]
        s = layer.frozen_bits("weight")
        rho = spearmanr(old, fresh.flatten().numpy()).statistic
        mass = fresh.sum().item()
        frozen = (s >= FROZEN).float()
        units = layer.fisher("weight").reshape(s.shape[0], -1).sum(1)
        dead = units < DEAD * units.mean()
        on_dead = fresh.reshape(s.shape[0], -1)[dead].sum().item() / mass
        on_frozen = (fresh * frozen).sum().item() / mass
        print(f"{name}, {rho:.3f}, {on_frozen:.3f}, {frozen.mean().item():.3f}, "
              f"{on_dead:.3f} ({int(dead.sum())}/{len(dead)} units)")  # fmt: skip


if __name__ == "__main__":
    main()
