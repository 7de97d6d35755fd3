"""Bits per weight frozen after the first task, per prior and freezing rule, on one trained
network: what the corrected prior (the authors' f0 times their Fisher batch squared) changes.

From a BLIP run's ``task_0`` checkpoint, the first task's Fisher is recovered from the running
Fisher (Eq. 7 at t = 1: F_1 = 2 F_{0:1} - F_0), then frozen afresh, without training, by:
- the paper preset (the authors' information gain, no budget) with the authors' f0 as
  published, 5e-18 (blip-rl before the correction), and with f0 x 62^2 (now);
- the project default (its information gain with a budget of 0.3 of each tensor's bits) with
  both priors.

    python benchmarks/first_task_bits.py runs/blip_0 [runs/blip_1 ...]
"""

from __future__ import annotations

import statistics
from pathlib import Path

import torch

from blip_rl.agents.model import load_model
from blip_rl.agents.presets import RECIPES, RL_FISHER_BATCH
from blip_rl.agents.rundir import open_train_run
from blip_rl.core.blip import authors_prior
from blip_rl.core.consolidate import bits_to_freeze, information_gain
from blip_rl.core.layers import blip_layers
from blip_rl.infra.flags import Parser

PUBLISHED_F0 = 5e-18
"""The authors' Atari f0, for their Fisher of mini-batch-mean gradients."""
DEFAULT = RECIPES["default"].blip
RULES = {
    "paper preset": (RECIPES["paper"].blip.ig, None),
    "default": (DEFAULT.ig, DEFAULT.bit_budget),
}


def mean_new_bits(run: Path, f0: float, ig: str, budget: float | None) -> dict[str, float]:
    """Per BLIP layer (and ``all``), the mean new bits per parameter after task 0."""
    train_run = open_train_run(run)
    model = load_model(train_run, "task_0", torch.device("cpu"))
    saved_f0 = train_run.train_config.blip.fisher_prior
    bits_sum, count, out = 0.0, 0, {}
    for name, layer in blip_layers(model.policy):
        new, n = 0.0, 0
        for pname, param, _ in layer.blip_tensors():
            fisher_1 = (2 * layer.fisher(pname) - saved_f0 * layer.fan).clamp(min=0)
            gain = information_gain(torch.full_like(fisher_1, f0 * layer.fan), fisher_1, 1, ig)
            zeros = torch.zeros_like(param, dtype=torch.uint8)
            new += float(bits_to_freeze(gain, zeros, layer.bits, budget).sum())
            n += param.numel()
        out[name] = new / n
        bits_sum, count = bits_sum + new, count + n
    out["all"] = bits_sum / count
    return out


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="BLIP train runs with a task_0")
    args = parser.parse_args()
    priors = {
        "f0 5e-18 (before)": PUBLISHED_F0,
        "f0 x 62^2 (now)": authors_prior(PUBLISHED_F0, RL_FISHER_BATCH),
    }
    print("mean new bits per parameter after task 0 (mean over runs), per layer and all")
    for rule, (ig, budget) in RULES.items():
        for label, f0 in priors.items():
            per_run = [mean_new_bits(run, f0, ig, budget) for run in args.runs]
            cells = [f"{k} {statistics.fmean(r[k] for r in per_run):.2f}" for k in per_run[0]]
            print(f"{rule:<13} {label:<18} " + "  ".join(cells))


if __name__ == "__main__":
    main()
