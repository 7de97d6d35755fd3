"""Command-line flags generated from frozen dataclass configs, so a flag and its default are
written once (the field). Nested dataclass fields are flattened: their fields become flags too.

A field's help text and allowed values come from its metadata (see
:mod:`blip_rl.core.options`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from blip_rl.infra.files import read_checked
from blip_rl.infra.jsontypes import matches, mismatch

Config = TypeVar("Config")


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage dump): ``prog: error: message``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (a count: steps, pairs, repeats, samples)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected an integer >= 1")
    return value


def parse_int_list(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> ``(0, 1, 2)``."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid list {text!r}; expected comma-separated integers, e.g. 0,1,2"
        ) from None
    return values


def parse_str_list(text: str) -> tuple[str, ...]:
    """``"a,b"`` -> ``("a", "b")``; empty items are an error."""
    values = tuple(part.strip() for part in text.split(","))
    if not all(values):
        raise argparse.ArgumentTypeError(
            f"invalid list {text!r}; expected comma-separated names, e.g. a,b"
        )
    return values


def _typed(parse: type, name: str) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name} value {text!r}") from None

    return convert


_SCALARS = {int: _typed(int, "integer"), float: _typed(float, "number"), str: str}
_LISTS = {int: parse_int_list, str: parse_str_list}


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, section: Any = None) -> None:
    """Add one flag per field of the dataclass ``cls`` (recursing into nested configs), each
    in its ``--help`` section (the field's ``group``, see :mod:`blip_rl.core.options`); a
    nested config's fields all go into its own section. Choices show as ``{a,b}``."""
    sections: dict[str, Any] = {}

    def target(f: dataclasses.Field) -> Any:
        title = f.metadata.get("group")
        if section is not None or title is None:
            return section or parser
        if title not in sections:
            sections[title] = parser.add_argument_group(title)
        return sections[title]

    for f, tp in _fields(cls):
        if dataclasses.is_dataclass(tp):
            add_config_arguments(parser, tp, target(f))
            continue
        if f.metadata.get("forwarded"):
            continue
        help_text = f.metadata.get("help", "")
        if f.metadata.get("positional"):
            if typing.get_origin(tp) is tuple:  # RUN [RUN ...]
                item = typing.get_args(tp)[0]
                metavar = f.name.upper().rstrip("S")
                parser.add_argument(
                    f.name, help=help_text, type=_SCALARS[item], nargs="+", metavar=metavar
                )
            else:
                parser.add_argument(
                    f.name, help=help_text, type=_SCALARS[tp], metavar=f.name.upper()
                )
            continue
        flag = "--" + f.name.replace("_", "-")
        choices = f.metadata.get("choices")
        base = _unwrap_optional(tp)
        kwargs: dict[str, Any] = {"dest": f.name, "default": f.default}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is tuple:
            kwargs["type"] = _LISTS[typing.get_args(base)[0]]
            kwargs["metavar"] = f.name.upper()
            if choices:  # a list: the choices go in the help, the metavar says "a list"
                help_text += f" (from: {', '.join(choices)})"
        else:
            kwargs["type"] = _SCALARS[base]
            kwargs["metavar"] = "{" + ",".join(choices) + "}" if choices else f.name.upper()
        if f.default is not None and base is not bool:
            shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            help_text += f" [default: {shown}]"
        target(f).add_argument(flag, help=help_text, **kwargs)


def config_from_args(cls: type, args: argparse.Namespace, rest: tuple[str, ...] = ()) -> Any:
    """Build ``cls`` from parsed flags (``rest``: the unknown ones, for a :func:`forwarded`
    field); raises ``ValueError`` (from validation) on bad values."""
    values: dict[str, Any] = {}
    for f, tp in _fields(cls):
        if dataclasses.is_dataclass(tp):
            values[f.name] = config_from_args(tp, args)
            continue
        if f.metadata.get("forwarded"):
            values[f.name] = rest
            continue
        value = getattr(args, f.name)
        if isinstance(value, list):  # a positional RUN [RUN ...]
            value = tuple(value)
        choices = f.metadata.get("choices")
        items = value if isinstance(value, tuple) else (value,)
        if choices and value is not None:
            bad = [v for v in items if v not in choices]
            if bad:
                flag = "--" + f.name.replace("_", "-")
                # A list flag such as --games names one bad item: "unknown game".
                what = f.name[:-1] if isinstance(value, tuple) else f.name
                raise ValueError(
                    f"unknown {what} {bad[0]!r} for {flag}; choose from: {', '.join(choices)}"
                )
        values[f.name] = value
    return cls(**values)


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild ``cls`` from ``dataclasses.asdict`` output read back from JSON (lists -> tuples,
    settings renamed since under their old names per ``cls.RENAMED``, if it has one, and
    settings added since that it lacks at the value older runs used, per ``cls.ADDED``);
    ``ValueError`` naming any setting ``cls`` does not have (a config of another command) or
    one whose value is not of its type (a hand-edited file)."""
    if not isinstance(data, dict):
        raise ValueError(f"expected an object of settings, got {type(data).__name__}")
    renamed: dict[str, str] = getattr(cls, "RENAMED", {})  # old name -> new, for old runs
    data = {renamed.get(name, name): value for name, value in data.items()}
    data = {**getattr(cls, "ADDED", {}), **data}  # new setting -> what older runs did
    unknown = sorted(set(data) - {f.name for f, _ in _fields(cls)})
    if unknown:
        raise ValueError(f"settings unknown to {cls.__name__}: {', '.join(unknown)}")
    values = {}
    for f, tp in _fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if dataclasses.is_dataclass(tp):
            value = config_from_dict(tp, value)
        elif not matches(value, tp):
            raise ValueError(mismatch(f.name, value, tp))
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


def how_settings(cls: type) -> frozenset[str]:
    """Names of the settings of ``cls`` (nested configs included) marked ``how``: how a run is
    carried out, not what it computes (see :func:`blip_rl.core.options.option`)."""
    names: set[str] = set()
    for f, tp in _fields(cls):
        if dataclasses.is_dataclass(tp):
            names |= how_settings(tp)
        elif f.metadata.get("how"):
            names.add(f.name)
    return frozenset(names)


def flat_values(config: Any) -> dict[str, Any]:
    """Every leaf field of a (nested) config by flag name: ``{"n_steps": 125, ...}``."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        values.update(flat_values(value) if dataclasses.is_dataclass(value) else {f.name: value})
    return values


def resumed_config(cls: type[Config], out: Path, given: Config, command: str) -> Config:
    """The resolved config (``cls``, with ``resolved()``, ``resume``, ``device`` and ``out``)
    of the ``command`` run in ``out``; a setting given now (not at its default) must agree
    with it, but for how the run is carried out (its ``how`` settings); the device is the
    one given now."""
    path = out / "config.json"
    if not path.exists():
        raise ValueError(f"--out {str(out)!r} holds no run to resume (no config.json)")
    data = read_checked(path)  # CorruptFile names the file itself
    try:
        saved = config_from_dict(cls, json.loads(data)).resolved()
    except (TypeError, ValueError) as e:
        raise ValueError(f"--out {str(out)!r} holds no {command} run to resume ({e})") from None
    defaults, now, then = flat_values(cls()), flat_values(given), flat_values(saved)
    free = how_settings(cls)
    for name, value in now.items():
        if name in free or value == defaults[name] or value == then[name]:
            continue
        flag = "--" + name.replace("_", "-")
        raise ValueError(
            f"{flag} {value} differs from the run's {then[name]} (config.json); "
            "a resumed run keeps its settings"
        )
    return dataclasses.replace(saved, resume=True, device=given.device, out=str(out))  # type: ignore


def fail(prog: str, message: str, status: int = 2) -> NoReturn:
    """Print a one-line error and exit with ``status`` (2: bad input)."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(status)
