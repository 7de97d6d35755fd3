"""A sub-command of ``blip-rl``: its flags (a config dataclass) and what it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    """A sub-command: its flags are the fields of ``config`` (a frozen dataclass); ``run``
    gets the validated config and the program name (for errors) and returns an exit code.

    A ``forwards`` command takes flags it does not know, for another command (see
    :func:`~blip_rl.core.options.forwarded`). ``examples`` are command lines (without
    ``blip-rl``) that ``--help`` shows at its end.
    """

    help: str
    config: type
    run: Callable[[Any, str], int]
    forwards: bool = False
    examples: tuple[str, ...] = ()
