"""The strategies by their command-line names, and the factory that builds one."""

from __future__ import annotations

from typing import Any

from torch import nn

from blip_rl.core.blip import Blip
from blip_rl.core.ewc import Ewc
from blip_rl.core.packnet import PackNet
from blip_rl.core.strategy import FineTune, FineTuneFix, Independent, Scratch, Strategy

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Blip, Ewc, FineTune, FineTuneFix, Scratch, PackNet, Independent)
}
"""Every strategy, keyed by its own ``name``."""
METHODS = tuple(STRATEGIES)


def make_strategy(method: str, model: nn.Module, **configs: Any) -> Strategy:
    """The strategy ``method`` (one of :data:`METHODS`) for ``model``.

    ``configs`` holds strategies' configs by strategy name (``blip=BlipConfig(...)``,
    ``ewc=EwcConfig(...)``, ``packnet=PackNetConfig(...)``); the chosen strategy gets its
    own, if it takes one.
    """
    if method not in STRATEGIES:
        raise ValueError(f"unknown method {method!r}; choose from: {', '.join(METHODS)}")
    cls = STRATEGIES[method]
    return cls(model, configs[method]) if method in configs else cls(model)
