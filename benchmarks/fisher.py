"""Fisher cost on the paper's Atari trunk: the exact per-sample Fisher (Eq. 6) over 2,048
samples of 4x84x84 frames against one batched forward+backward over the same samples, both
measured in this run (target <= 3, spec s.5).

    python benchmarks/fisher.py [--samples 2048] [--chunk 256] [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from timing import headline, median_seconds
from torch import nn

from blip_rl import Blip, BlipConfig, blip_layers, fisher_diagonal
from blip_rl.agents.trunks import atari_trunk
from blip_rl.infra.device import DEVICES, resolve_device
from blip_rl.infra.flags import Parser, positive_int

ACTIONS = 18


def policy_log_prob(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    obs, actions = batch
    logits = model(obs.float() / 255.0)
    return torch.log_softmax(logits, 1).gather(1, actions[:, None]).squeeze(1)


def fisher_timings(
    samples: int, chunk: int, repeats: int, device: torch.device
) -> tuple[float, float]:
    """Median seconds of one batched forward+backward over ``samples`` Atari frames and of
    the exact Fisher over them in chunks of ``chunk``, on ``device``."""
    torch.manual_seed(0)
    model = nn.Sequential(atari_trunk(), nn.Linear(1024, ACTIONS)).to(device)
    Blip(model, BlipConfig(fisher_prior=5e-18))  # BLIP's buffers, as in training
    obs = torch.randint(0, 256, (samples, 4, 84, 84), dtype=torch.uint8, device=device)
    with torch.no_grad():
        logits = model(obs[:256].float() / 255)
        actions = torch.distributions.Categorical(logits=logits).sample()
    actions = actions.repeat(samples // 256 + 1)[:samples]
    layers = [m for _, m in blip_layers(model)]

    def synced(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            fn()
            if device.type == "cuda":  # kernels run asynchronously: wait for them
                torch.cuda.synchronize(device)

        return run

    def forward_backward() -> None:
        model.zero_grad(set_to_none=True)
        policy_log_prob(model, (obs, actions)).sum().backward()

    def fisher() -> None:
        fisher_diagonal(model, zip(obs.split(chunk), actions.split(chunk)), policy_log_prob, layers)

    return median_seconds(synced(forward_backward), repeats), median_seconds(
        synced(fisher), repeats
    )


def main() -> None:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=positive_int, default=2048)
    parser.add_argument(
        "--chunk", type=positive_int, default=256, help="Fisher batch size (memory bound)"
    )
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    args = parser.parse_args()
    device = resolve_device(args.device)
    t_fb, t_fisher = fisher_timings(args.samples, args.chunk, args.repeats, device)
    threads = f"{torch.get_num_threads()} threads" if device.type == "cpu" else str(device)
    print(f"torch {torch.__version__}, {threads}, {args.samples} samples")
    print(f"batched forward+backward: {t_fb * 1e3:.1f} ms")
    print(f"Fisher (chunks of {args.chunk}): {t_fisher * 1e3:.1f} ms")
    headline("Fisher / batched forward+backward", t_fisher / t_fb, "<= 3")


if __name__ == "__main__":
    main()
