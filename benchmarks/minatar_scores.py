"""Measure the MinAtar random and reference scores kept in ``envs/games.py`` (spec s.7).

- random: mean raw return of uniform random actions over ``--random-episodes`` episodes;
- reference: one PPO agent per game, learning that game alone with ``blip-rl train``'s
  defaults (method ``ft``, ``--steps`` env steps), then its greedy score over
  ``--eval-episodes`` episodes.

Usage: python benchmarks/minatar_scores.py --steps 300000 --out runs/minatar_scores
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.trainer import ContinualTrainer
from blip_rl.device import resolve_device
from blip_rl.envs import SUITES, Game, get_game, make_env


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000, help="PPO env steps per game")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-episodes", type=int, default=100)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("runs/minatar_scores"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    suite = SUITES["minatar"]
    rows = []
    for name in suite.games:
        game = get_game(name, suite.platform)
        rand = random_return(game, args.random_episodes, suite.eval_max_steps, args.seed)
        cfg = TrainConfig(
            suite="minatar",
            games=(name,),
            method="ft",
            steps_per_task=args.steps,
            seed=args.seed,
            eval_episodes=args.eval_episodes,
            eval_interval=args.steps,
            device="cpu",
        )
        out = args.out / name
        out.mkdir(parents=True, exist_ok=False)
        summary = ContinualTrainer(cfg, out, resolve_device("cpu"), resume=False).run()
        rows.append((name, rand, summary["A_raw"][0][0]))
        print(f"{name:15s} random {rand:8.3f}  reference {rows[-1][2]:8.3f}", flush=True)
    print("game, random, reference")
    for name, rand, ref in rows:
        print(f'Game("{name}", "minatar", "{name}", {rand:.3f}, {ref:.3f}),')


if __name__ == "__main__":
    main()
