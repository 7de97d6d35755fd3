"""Build a strategy by the name used on the command line."""

from __future__ import annotations

from torch import nn

from blip_rl.blip import Blip, BlipConfig
from blip_rl.ewc import Ewc, EwcConfig
from blip_rl.strategy import FineTune, FineTuneFix, Scratch, Strategy

METHODS = ("blip", "ewc", "ft", "ftfix", "scratch")


def make_strategy(method: str, model: nn.Module, blip: BlipConfig, ewc: EwcConfig) -> Strategy:
    """The strategy ``method`` (one of :data:`METHODS`) for ``model``."""
    if method == "blip":
        return Blip(model, blip)
    if method == "ewc":
        return Ewc(model, ewc)
    if method == "ft":
        return FineTune(model)
    if method == "ftfix":
        return FineTuneFix(model)
    if method == "scratch":
        return Scratch(model)
    raise ValueError(f"unknown method {method!r}; choose from: {', '.join(METHODS)}")
