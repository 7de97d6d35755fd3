"""Training-step throughput of BLIP's classification networks against the same networks in
plain float layers: the cost of the quantized copy (Eq. 2, rebuilt after every step) and the
clip (Eq. 4) where a step is small (the paper's batch of 32); with ``--method ewc``, of online
EWC's penalty gradient on the same quantized network.

Both nets take SGD steps on random inputs of the benchmark's shape (the paper's MLP for the
MNIST family, the AlexNet-like net for CIFAR), the method's with one task consolidated and its
step hooks attached. They are timed in pairs, back to back (plain first in even pairs, the
method first in odd ones), so each pair's ratio sees one machine load; the headline is the
median ratio.

    python benchmarks/classify_overhead.py [--net mlp|alexnet|both] [--method blip|ewc]
        [--steps N] [--pairs P]
"""

from __future__ import annotations

import copy
import time
from functools import partial

import torch
import torch.nn.functional as F
from timing import paired_rates, report_pairs
from torch import nn
from torch.optim import Optimizer

from blip_rl import BlipConfig
from blip_rl.classification.benchmarks import get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.nets import MultiHeadNet, build_net
from blip_rl.core.ewc import EwcConfig
from blip_rl.core.fisher import sampled_log_prob
from blip_rl.core.layers import BlipConv2d, BlipLinear
from blip_rl.core.methods import make_strategy
from blip_rl.core.quant import KERNELS, use_kernels
from blip_rl.core.strategy import Strategy
from blip_rl.infra.flags import Parser, positive_int

IN_SHAPES = {"mlp": (1, 28, 28), "alexnet": (3, 32, 32)}
"""The input shape of each net (Fashion-MNIST and MNIST; CIFAR)."""
BENCHMARK = {"mlp": "fmnist5", "alexnet": "cifar"}
"""Whose prior the consolidated task uses."""
STEPS = {"mlp": 200, "alexnet": 40}
"""SGD steps per timed call by default: a few seconds each on one CPU core."""
BATCH = ClassifyConfig().batch_size


def float_twin(model: MultiHeadNet) -> MultiHeadNet:
    """A copy of ``model`` with every BLIP layer replaced by the torch layer it extends, with
    the same shape and weights (no quantization, no BLIP buffers)."""
    twin = copy.deepcopy(model)
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, BlipLinear):
                plain: nn.Module = nn.Linear(child.in_features, child.out_features)
            elif isinstance(child, BlipConv2d):
                plain = nn.Conv2d(
                    child.in_channels, child.out_channels, child.kernel_size, child.stride,
                    child.padding, child.dilation,
                )  # fmt: skip
            else:
                continue
            plain.load_state_dict({"weight": child.weight, "bias": child.bias})
            setattr(module, name, plain)
    return twin


METHODS = ("blip", "ewc")


def build(net: str, method: str) -> tuple[MultiHeadNet, MultiHeadNet, Strategy]:
    """The BLIP net with ``method``'s strategy (task 0 consolidated on random inputs, head 1
    learning) and its float twin."""
    torch.manual_seed(0)
    model = build_net(net, IN_SHAPES[net], bits=20)
    for _ in range(2):
        model.add_head(2)
    prior = get_benchmark(BENCHMARK[net]).fisher_prior
    strategy = make_strategy(method, model, blip=BlipConfig(fisher_prior=prior), ewc=EwcConfig())
    x = torch.rand(256, *IN_SHAPES[net])
    strategy.on_task_end(0, x.split(64), lambda m, batch: sampled_log_prob(m(batch, 0)))
    return model, float_twin(model), strategy


def steps_per_second(
    model: MultiHeadNet, optimizer: Optimizer, shape: tuple[int, ...], steps: int
) -> float:
    """SGD steps per second of head 1 on one random batch of :data:`BATCH` inputs of
    ``shape``."""
    x, y = torch.rand(BATCH, *shape), torch.randint(0, 2, (BATCH,))
    start = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x, 1), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def pair_rates(net: str, method: str, steps: int, pairs: int) -> dict[str, list[float]]:
    """Steps/s of the float net ("plain") and of the BLIP net under ``method`` ("blip"),
    ``pairs`` of each."""
    blip_model, plain_model, strategy = build(net, method)
    models = {"plain": plain_model, "blip": blip_model}
    optimizers = {name: torch.optim.SGD(m.parameters(), lr=0.01) for name, m in models.items()}
    strategy.attach(optimizers["blip"])
    timers = {
        k: partial(steps_per_second, models[k], optimizers[k], IN_SHAPES[net]) for k in models
    }
    for timer in timers.values():  # warm-up: allocator, caches
        timer(5)
    return paired_rates({k: partial(timer, steps) for k, timer in timers.items()}, pairs)


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=("mlp", "alexnet", "both"), default="both")
    parser.add_argument("--steps", type=positive_int, default=None, help="SGD steps per timed call")
    parser.add_argument("--method", choices=METHODS, default="blip", help="the strategy timed")
    parser.add_argument("--pairs", type=positive_int, default=5, help="timed (plain, method) pairs")
    parser.add_argument("--kernels", choices=KERNELS, default="eager", help="BLIP's rebuild")
    args = parser.parse_args()
    use_kernels(args.kernels, torch.device("cpu"))
    for net in ("alexnet", "mlp") if args.net == "both" else (args.net,):  # the MLP last
        steps = args.steps or STEPS[net]
        detail = f"SGD, batch {BATCH}, {steps} steps per timing, {args.kernels} kernels"
        rates = pair_rates(net, args.method, steps, args.pairs)
        name = args.method.upper()
        report_pairs(f"{name} / float training", net, "steps/s", rates, detail, name)


if __name__ == "__main__":
    main()
