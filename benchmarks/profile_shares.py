"""Where a run's time goes, from a py-spy profile: the share of samples inside BLIP's per-step
code (the quantized copy, the straight-through function, the clip), its task ends, and SB3's
PPO update, rollouts and our evaluation.

    py-spy record -r 50 --format raw -o run.txt -- blip-rl train --suite minatar ...
    python benchmarks/profile_shares.py run.txt [more.txt ...]

A sample counts once in each part whose frames its stack holds (the straight-through call is
inside the quantized copy); "BLIP, all per-step code" counts a sample once however many of
BLIP's per-step parts it is in.
"""

from __future__ import annotations

import re
from pathlib import Path

from blip_rl.infra.flags import Parser

PARTS = {
    "BLIP: the quantized copy (cache check, rebuild, STE call)": r"BlipLayer\.quantized\b",
    "  of which the straight-through function": r"straight_through|_StraightThrough",
    "BLIP: the clip": r"blip_rl/core/clip\.py",
    "BLIP: task ends (Fisher, bits)": r"Blip\.on_task_end",
    "PPO update (SB3's train)": r"train \(stable_baselines3/ppo/ppo\.py",
    "rollouts (SB3's collect_rollouts)": r"collect_rollouts",
    "evaluation": r"evaluate_task",
}
PER_STEP = r"BlipLayer\.quantized\b|straight_through|_StraightThrough|blip_rl/core/clip\.py"


def shares(path: Path) -> tuple[int, dict[str, float]]:
    """The number of samples in py-spy's raw (collapsed-stack) file ``path`` and the share (%)
    of them inside each of :data:`PARTS` and BLIP's per-step code."""
    patterns = {**PARTS, "BLIP, all per-step code": PER_STEP}
    counts = dict.fromkeys(patterns, 0)
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():  # a stack may be empty (a sample outside Python)
            raise ValueError(f"{str(path)!r} is not a py-spy raw profile (line {line[:60]!r})")
        total += int(n)
        for name, pattern in patterns.items():
            if re.search(pattern, stack):
                counts[name] += int(n)
    if total == 0:
        raise ValueError(f"{str(path)!r} holds no samples")
    return total, {name: 100 * c / total for name, c in counts.items()}


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path, help="py-spy --format raw files")
    args = parser.parse_args()
    for path in args.profiles:
        try:
            total, parts = shares(path)
        except (OSError, ValueError) as e:
            parser.error(str(e))
        print(f"{path}: {total} samples")
        for name, share in parts.items():
            print(f"  {name:58s} {share:5.1f}%")


if __name__ == "__main__":
    main()
