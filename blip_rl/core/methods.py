"""The strategies by their command-line names, and the factory that builds one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol, TypeVar

from torch import nn

from blip_rl.core.blip import Blip, BlipConfig
from blip_rl.core.ewc import Ewc, EwcConfig
from blip_rl.core.packnet import PackNet, PackNetConfig
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


class RunConfig(Protocol):
    """A command's run config: the method and every strategy's settings."""

    method: str
    blip: BlipConfig
    ewc: EwcConfig
    packnet: PackNetConfig


Config = TypeVar("Config", bound=RunConfig)


def method_settings(cfg: Config) -> Config:
    """``cfg`` (a frozen dataclass) with the settings only other methods read at their
    defaults: what a run of ``cfg.method`` depends on, so EWC runs that differ only in
    BLIP's ``--ig`` or ``--fisher-prior`` (or were made when its default differed) are one
    experiment. Every method keeps BLIP's ``bits`` and ``strict``: its network is quantized
    and clipped into range."""
    blip = BlipConfig(bits=cfg.blip.bits, strict=cfg.blip.strict)
    return replace(
        cfg,  # type: ignore[type-var]
        blip=cfg.blip if cfg.method == "blip" else blip,
        ewc=cfg.ewc if cfg.method == "ewc" else EwcConfig(),
        packnet=cfg.packnet if cfg.method == "packnet" else PackNetConfig(),
    )
