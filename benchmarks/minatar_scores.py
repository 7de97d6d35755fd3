"""Measure the MinAtar random and reference scores kept in ``envs/games.py`` (spec s.7).

- random: mean raw return of uniform random actions over ``--random-episodes`` episodes;
- reference: the mean over ``--scratch`` runs (``blip-rl train --method scratch``, one per
  seed) of each game's score right after it was learned alone, with the runs' default
  evaluation actions (sampled).

Usage:
    blip-rl train --suite minatar --method scratch --seed S --out runs/scratch_S   # S = 0, 1, 2
    python benchmarks/minatar_scores.py --scratch runs/scratch_0 runs/scratch_1 runs/scratch_2
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from blip_rl.agents.presets import SUITE_PRESETS
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.summary import scratch_returns
from blip_rl.envs import SUITES, Game, get_game, make_env
from blip_rl.infra.flags import Parser, positive_int


def random_return(game: Game, episodes: int, max_steps: int, seed: int) -> float:
    """Mean raw return of a uniform random policy on ``game`` over ``episodes`` episodes."""
    env = make_env(game, n_envs=1, seed=seed, train=False, max_episode_steps=max_steps)
    rng = np.random.default_rng(seed)
    returns: list[float] = []
    env.reset()
    while len(returns) < episodes:
        _, _, dones, infos = env.step(rng.integers(env.action_space.n, size=1))
        if dones[0]:
            returns.append(float(infos[0]["episode"]["r"]))
    env.close()
    return float(np.mean(returns))


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, nargs="+", required=True, help="scratch runs")
    parser.add_argument("--policy", choices=("sampled", "greedy"), default="sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-episodes", type=positive_int, default=100)
    args = parser.parse_args()
    suite = SUITES["minatar"]
    runs = [scratch_returns(open_train_run(d).summary) for d in args.scratch]
    print("game, random, reference (mean over runs), per run")
    for name in suite.games:
        game = get_game(name, suite.platform)
        rand = random_return(
            game, args.random_episodes, SUITE_PRESETS["minatar"].eval_max_steps, args.seed
        )
        scores = [run[args.policy][name] for run in runs if name in run[args.policy]]
        if not scores:
            print(f"{name}: in none of the scratch runs")
            continue
        ref = statistics.mean(scores)
        per_run = ", ".join(f"{x:.2f}" for x in scores)
        print(f'Game("{name}", "minatar", "{name}", {rand:.3f}, {ref:.3f}),  # {per_run}')


if __name__ == "__main__":
    main()
