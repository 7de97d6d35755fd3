"""Whether a value read back from JSON is of a field's annotated type: how run files
(config.json, summary.json, results.json) that were edited by hand or damaged are told
apart from what blip-rl wrote, before any of their values is used."""

from __future__ import annotations

import types
import typing
from typing import Any


def matches(value: Any, tp: Any) -> bool:
    """Whether ``value`` (from JSON) is of the annotated type ``tp``: JSON numbers for
    ``int``/``float`` (never booleans), lists for ``list``/``tuple``, one of the values of a
    ``Literal``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if tp is type(None):
        return value is None
    if tp in (int, float):
        allowed = (int,) if tp is int else (int, float)
        return isinstance(value, allowed) and not isinstance(value, bool)
    if origin in (list, tuple):
        return isinstance(value, (list, tuple)) and all(matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            matches(k, args[0]) and matches(v, args[1]) for k, v in value.items()
        )
    return isinstance(value, origin or tp)


def mismatch(name: str, value: Any, tp: Any) -> str:
    """The error for entry ``name`` holding ``value``, which is not a ``tp``."""
    text = repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    kind = getattr(tp, "__name__", None) if typing.get_origin(tp) is None else None
    return f"the entry {name!r} holds {shown}, not {kind or tp}"
