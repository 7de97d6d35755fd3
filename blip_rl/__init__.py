"""blip-rl: Bit-Level Information Preserving (BLIP, CVPR 2021) for continual learning.

The library's public API is the core's (see :mod:`blip_rl.core`); the RL agent is in
:mod:`blip_rl.agents`, the task sequences in :mod:`blip_rl.envs`, the image benchmarks in
:mod:`blip_rl.classification` and the command line in :mod:`blip_rl.commands`.
"""

from blip_rl.core.blip import Blip, BlipConfig
from blip_rl.core.consolidate import LayerReport, information_gain
from blip_rl.core.ewc import Ewc, EwcConfig
from blip_rl.core.fisher import fisher_diagonal, sampled_log_prob
from blip_rl.core.layers import BlipConv2d, BlipLayer, BlipLinear, blip_layers
from blip_rl.core.methods import METHODS, STRATEGIES, make_strategy
from blip_rl.core.metrics import Accuracy, acc_bwt, mean_std
from blip_rl.core.packnet import PackNet, PackNetConfig
from blip_rl.core.quant import quantize
from blip_rl.core.strategy import FineTune, FineTuneFix, Independent, Scratch, Strategy, attached

__all__ = [
    "METHODS",
    "STRATEGIES",
    "Accuracy",
    "Blip",
    "BlipConfig",
    "BlipConv2d",
    "BlipLayer",
    "BlipLinear",
    "Ewc",
    "EwcConfig",
    "FineTune",
    "FineTuneFix",
    "Independent",
    "LayerReport",
    "PackNet",
    "PackNetConfig",
    "Scratch",
    "Strategy",
    "acc_bwt",
    "attached",
    "blip_layers",
    "fisher_diagonal",
    "information_gain",
    "make_strategy",
    "mean_std",
    "quantize",
    "sampled_log_prob",
]
