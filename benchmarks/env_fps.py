"""Env steps per second of one game with random actions, no learning: what one CPU core gives a
learner (the bound on a GPU box, where the policy is cheap), for the sweep's time estimates.

    python benchmarks/env_fps.py [--game kungfu] [--platform atari] [--steps 20000]
"""

from __future__ import annotations

import time

import numpy as np

from blip_rl.envs import get_game, make_env
from blip_rl.infra.flags import Parser, positive_int


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="kungfu")
    parser.add_argument("--platform", choices=("atari", "minatar"), default="atari")
    parser.add_argument("--steps", type=positive_int, default=20_000, help="agent steps to time")
    args = parser.parse_args()
    env = make_env(get_game(args.game, args.platform), 1, seed=0, train=True)
    env.reset()
    rng = np.random.default_rng(0)
    actions = rng.integers(env.action_space.n, size=(args.steps, 1))
    start = time.perf_counter()
    for action in actions:
        env.step(action)
    seconds = time.perf_counter() - start
    env.close()
    print(f"{args.platform} {args.game}: {args.steps / seconds:,.0f} agent steps/s on one core "
          "(1 env, random actions, training wrappers)")  # fmt: skip


if __name__ == "__main__":
    main()
