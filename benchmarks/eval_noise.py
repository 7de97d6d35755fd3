"""How many evaluation episodes one A cell needs: from a checkpoint of a finished ``blip-rl
train`` run, each learned game is played ``--episodes`` times with each action policy, and the
per-episode standard deviation of the normalized score gives the standard error of a cell at
any episode count, and the count that brings it to ``--target``.

    python benchmarks/eval_noise.py runs/blip_0 runs/blip_1 --checkpoint task_2 --episodes 300
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from blip_rl.agents.evaluation import EVAL_POLICIES, evaluate_task
from blip_rl.agents.model import load_model
from blip_rl.agents.rundir import open_train_run
from blip_rl.infra.flags import Parser, positive_int


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="finished train runs")
    parser.add_argument("--checkpoint", default=None, help="[default: the last task's]")
    parser.add_argument("--episodes", type=positive_int, default=300)
    parser.add_argument("--target", type=float, default=0.03, help="SE of one normalized cell")
    args = parser.parse_args()
    print("run, checkpoint, game, policy, episodes, mean, per-episode std (normalized), "
          f"SE at 10 episodes, episodes for SE <= {args.target}")  # fmt: skip
    for folder in args.runs:
        run = open_train_run(folder)
        cfg = run.train_config
        checkpoint = args.checkpoint or f"task_{run.tasks_done - 1}"
        model = load_model(run, checkpoint, torch.device("cpu"))
        for task, game in enumerate(cfg.sequence[: int(checkpoint.split("_")[1]) + 1]):
            for policy in EVAL_POLICIES:
                mean, std = evaluate_task(
                    model, game, task, args.episodes, cfg.eval_max_steps, cfg.seed,
                    cfg.n_envs, greedy=policy == "greedy",
                )  # fmt: skip
                spread = std / game.normalization_scale
                needed = math.ceil((spread / args.target) ** 2)
                at_10 = spread / math.sqrt(10)
                print(f"{folder.name}, {checkpoint}, {game.name}, {policy}, {args.episodes}, "
                      f"{mean:.2f}, {spread:.3f}, {at_10:.3f}, {needed}")  # fmt: skip


if __name__ == "__main__":
    main()
