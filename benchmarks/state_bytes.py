"""BLIP's memory per parameter on the paper's Atari trunk: the bytes of every buffer BLIP adds
(frozen-bit count, centre, running Fisher) over the number of BLIP parameters (target <= 9,
spec s.3), counted in this run. It stays constant, whatever the number of tasks.

    python benchmarks/state_bytes.py
"""

from __future__ import annotations

from timing import headline

from blip_rl import Blip, BlipConfig
from blip_rl.agents.trunks import atari_trunk

STATE_BUFFERS = ("_frozen_bits", "_center", "_fisher")


def main() -> None:
    trunk = atari_trunk()
    blip = Blip(trunk, BlipConfig())
    params = sum(p.numel() for _, m in blip.layers for _, p, _ in m.blip_tensors())
    state = {
        suffix: sum(
            b.numel() * b.element_size()
            for _, m in blip.layers
            for name, b in m.named_buffers()
            if name.endswith(suffix)
        )
        for suffix in STATE_BUFFERS
    }
    print(f"BLIP parameters: {params:,}")
    for suffix, size in state.items():
        print(f"  {suffix.strip('_'):<12} {size:>12,} bytes  ({size / params:.2f} per parameter)")
    headline("BLIP state bytes per parameter", sum(state.values()) / params, "<= 9")


if __name__ == "__main__":
    main()
