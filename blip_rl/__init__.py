"""blip-rl: Bit-Level Information Preserving (BLIP, CVPR 2021) for continual learning."""

from blip_rl.blip import Blip, BlipConfig
from blip_rl.consolidate import LayerReport, information_gain
from blip_rl.ewc import Ewc, EwcConfig
from blip_rl.fisher import fisher_diagonal, sampled_log_prob
from blip_rl.layers import BlipConv2d, BlipLayer, BlipLinear, blip_layers
from blip_rl.methods import METHODS, make_strategy
from blip_rl.metrics import Accuracy, acc_bwt
from blip_rl.quant import quantize
from blip_rl.strategy import FineTune, FineTuneFix, Scratch, Strategy

__all__ = [
    "METHODS",
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
    "LayerReport",
    "Scratch",
    "Strategy",
    "acc_bwt",
    "blip_layers",
    "fisher_diagonal",
    "sampled_log_prob",
    "information_gain",
    "make_strategy",
    "quantize",
]
