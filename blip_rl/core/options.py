"""Dataclass fields that carry their own help text, so a config written once is also its
command line (:mod:`blip_rl.infra.flags` turns the fields into flags)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

Config = TypeVar("Config")


HOW_GROUP = "how the run is carried out (may differ on --resume)"
"""The ``--help`` section of the ``how`` settings that name no group of their own."""


def option(
    default: Any,
    help: str,  # noqa: A002
    choices: Sequence[str] | None = None,
    *,
    how: bool = False,
    group: str | None = None,
) -> Any:
    """A field that is also a command-line flag ``--field-name``.

    ``how`` marks a setting of how a run is carried out (its folder, device, reporting), not
    of what it computes: a resumed run may change it, and runs that differ only in such
    settings are the same experiment. ``group`` is the flag's section in ``--help``
    [default: :data:`HOW_GROUP` for a ``how`` setting, else the command's main section].
    """
    section = group or (HOW_GROUP if how else None)
    return dataclasses.field(
        default=default,
        metadata={"help": help, "choices": choices, "how": how, "group": section},
    )


def argument(help: str) -> Any:  # noqa: A002
    """A required field that is a positional command-line argument."""
    return dataclasses.field(metadata={"help": help, "positional": True})


def forwarded(help: str) -> Any:  # noqa: A002
    """A field that collects the command line's unknown flags (for a command that hands them
    to another one, as ``sweep`` does to ``train``); not a flag itself."""
    return dataclasses.field(default=(), metadata={"help": help, "forwarded": True})


def nested(cls: type, group: str) -> Any:
    """A field holding another config dataclass; its fields become flags of the parent,
    under their own ``--help`` section ``group``."""
    return dataclasses.field(default_factory=cls, metadata={"group": group})


def with_defaults(config: Config, defaults: Config) -> Config:
    """``config`` with every setting it leaves unset (``None``) taken from ``defaults``, a
    config of the same class (a benchmark's or suite's preset, say)."""
    unset = {
        f.name: getattr(defaults, f.name)
        for f in dataclasses.fields(config)  # type: ignore[arg-type]
        if getattr(config, f.name) is None
    }
    return dataclasses.replace(config, **unset)  # type: ignore[type-var]
