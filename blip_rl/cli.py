"""``blip-rl``: the command line. Sub-commands are plug-ins registered under the entry-point
group ``blip_rl.commands`` (see pyproject.toml), so the core never imports the sub-packages."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from blip_rl.config import Parser


@dataclass(frozen=True)
class Command:
    """A sub-command: ``configure`` adds its flags, ``run`` executes it and returns an exit code."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, str], int]


def build_parser() -> tuple[Parser, dict[str, Command]]:
    parser = Parser(prog="blip-rl", description="Continual learning with BLIP (CVPR 2021).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands: dict[str, Command] = {}
    for ep in sorted(entry_points(group="blip_rl.commands"), key=lambda e: e.name):
        command: Command = ep.load()
        commands[ep.name] = command
        command.configure(sub.add_parser(ep.name, help=command.help, description=command.help))
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    return commands[args.command].run(args, f"blip-rl {args.command}")
