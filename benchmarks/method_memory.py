"""Memory per shared parameter of each continual-learning method, counted in finished runs:
the bytes a method keeps beyond the network's own weights and heads (its strategy state, and
for BLIP its per-parameter buffers) over the number of shared (trunk) parameters, read from
each run's newest checkpoint. BLIP's stays 9 whatever the number of tasks; independent
networks grow by 4 bytes per task.

    python benchmarks/method_memory.py runs/blip_0 runs/ewc_0 runs/packnet_0 ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from blip_rl.agents.rundir import open_train_run
from blip_rl.infra.checkpoints import latest_checkpoint
from blip_rl.infra.flags import Parser

BLIP_BUFFERS = ("_frozen_bits", "_center", "_fisher")
"""BLIP's per-parameter state in the policy (held by every BLIP trunk, used by BLIP only)."""


def tensor_bytes(state: Any) -> int:
    """Bytes of every tensor in a (nested) state dict."""
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(tensor_bytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(tensor_bytes(v) for v in state)
    return 0


def method_bytes(run: Path) -> tuple[str, int, float]:
    """The run's method, tasks learned and bytes per shared parameter."""
    train_run = open_train_run(run)
    found = latest_checkpoint(run / "checkpoints")
    if found is None:
        raise SystemExit(f"{run} has no checkpoint")
    # SB3's policy holds the shared trunk under three names (features_extractor and the
    # actor's and critic's aliases of it): count each tensor once
    policy = {v.data_ptr(): (k, v) for k, v in found.state["policy"].items()}.values()
    names = {k for k, _ in policy}
    shared = sum(v.numel() for k, v in policy if f"{k}_frozen_bits" in names)  # BLIP params
    kept = tensor_bytes(found.state.get("strategy", {}))
    method = train_run.train_config.method
    if method == "blip":
        kept += sum(tensor_bytes(v) for k, v in policy if k.endswith(BLIP_BUFFERS))
    return method, train_run.tasks_done, kept / shared


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="train runs")
    args = parser.parse_args()
    print("run, method, tasks, bytes per shared parameter")
    for run in args.runs:
        method, tasks, per_param = method_bytes(run)
        print(f"{run.name}, {method}, {tasks}, {per_param:.2f}")


if __name__ == "__main__":
    main()
