"""`make bench-gpu`: what a lent GPU is for, in one script of at most ~8 minutes.

1. CUDA: the device, its memory, torch's CUDA version (refuses in one line without a GPU).
2. PPO throughput on the paper's Atari trunk with ``--vec-env subproc --n-envs 16``: plain SB3
   PPO and BLIP PPO timed in back-to-back pairs (as benchmarks/ppo_overhead.py), their ratio.
3. The exact end-of-task Fisher over 2,048 Atari frames on the device, against one batched
   forward+backward (as benchmarks/fisher.py).
4. A two-game Atari ``blip-rl train`` run (150k env steps per game by default) on the device,
   ending with its summary (A, ACC, BWT); its task-end evaluations are short (10 episodes).

Every result is a ``name: value`` line. ``--device cpu`` with tiny budgets runs the same code
(tests/test_benchmarks.py does), so the script is known to work before a GPU is ever lent.

    python benchmarks/gpu_check.py [--device cuda] [--games kungfu,boxing] [--run-steps 150000]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from fisher import fisher_timings
from ppo_overhead import pair_ratios

from blip_rl.agents.config import PPOConfig
from blip_rl.commands.main import main as blip_rl
from blip_rl.envs.make import VEC_ENVS
from blip_rl.infra.device import DEVICES, resolve_device
from blip_rl.infra.flags import Parser, positive_int


def value(name: str, number: float | str, unit: str = "") -> None:
    """One result line, ``name: value [unit]``."""
    shown = f"{number:.4g}" if isinstance(number, float) else number
    print(f"{name}: {shown}{f' {unit}' if unit else ''}", flush=True)


def describe(device: torch.device) -> None:
    value("torch", torch.__version__)
    if device.type != "cuda":
        value("device", "cpu (no GPU asked for: a dry run of every step)")
        return
    props = torch.cuda.get_device_properties(device)
    value("device", f"{props.name} (CUDA {torch.version.cuda})")
    value("gpu memory", props.total_memory / 2**30, "GiB")


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICES, default="cuda")
    parser.add_argument("--vec-env", choices=tuple(VEC_ENVS), default="subproc")
    parser.add_argument("--n-envs", type=positive_int, default=16)
    parser.add_argument(
        "--n-steps", type=positive_int, default=PPOConfig().n_steps, help="per rollout"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=10_000, help="env steps per timed learn()"
    )
    parser.add_argument("--pairs", type=positive_int, default=3, help="timed (plain, BLIP) pairs")
    parser.add_argument("--fisher-samples", type=positive_int, default=2048)
    parser.add_argument("--games", default="kungfu,boxing", help="the train run's games")
    parser.add_argument(
        "--run-steps", type=positive_int, default=150_000, help="env steps per game"
    )
    parser.add_argument(
        "--eval-episodes", type=positive_int, default=10, help="per task-end evaluation"
    )
    parser.add_argument(
        "--eval-max-steps", type=positive_int, default=27_000, help="agent steps/episode"
    )
    parser.add_argument("--out", type=Path, default=None, help="the train run's folder")
    args = parser.parse_args()
    try:
        device = resolve_device(args.device)
    except ValueError as e:
        sys.exit(f"gpu_check: {e}")
    start = time.perf_counter()
    describe(device)

    ppo = PPOConfig(n_steps=args.n_steps)
    plain, blip = pair_ratios(
        "atari6", args.steps, args.pairs, str(device), args.vec_env, args.n_envs, ppo
    )
    ratios = sorted(b / p for p, b in zip(plain, blip))
    envs = f"({args.vec_env}, {args.n_envs} envs)"
    value(f"plain SB3 PPO env-steps/s {envs}", statistics.median(plain))
    value(f"BLIP PPO env-steps/s {envs}", statistics.median(blip))
    value("BLIP PPO / plain SB3 PPO", statistics.median(ratios))
    value("ratio per pair", ", ".join(f"{r:.3f}" for r in ratios))

    t_fb, t_fisher = fisher_timings(args.fisher_samples, 256, 3, device)
    value(f"Fisher over {args.fisher_samples} Atari frames", t_fisher * 1e3, "ms")
    value("batched forward+backward over them", t_fb * 1e3, "ms")
    value("Fisher / batched forward+backward", t_fisher / t_fb)

    out = args.out or Path(tempfile.mkdtemp(prefix="gpu_check_")) / "run"
    run_start = time.perf_counter()
    code = blip_rl([
        "train", "--games", args.games, "--steps-per-task", str(args.run_steps),
        "--device", str(device), "--vec-env", args.vec_env, "--n-envs", str(args.n_envs),
        "--n-steps", str(args.n_steps), "--fisher-samples", str(args.fisher_samples),
        "--eval-interval", str(args.run_steps), "--eval-episodes", "2",
        "--final-eval-episodes", str(args.eval_episodes),
        "--eval-max-steps", str(args.eval_max_steps), "--out", str(out), "--quiet",
    ])  # fmt: skip
    value("train run", f"exit {code}, {time.perf_counter() - run_start:.0f} s, folder {out}")
    value("gpu_check wall time", time.perf_counter() - start, "s")
    sys.exit(code)


if __name__ == "__main__":
    main()
