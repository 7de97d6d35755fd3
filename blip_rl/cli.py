"""``blip-rl``: the command line. Sub-commands are plug-ins registered under the entry-point
group ``blip_rl.commands`` (see pyproject.toml), so the core never imports the sub-packages."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from blip_rl.config import Parser, add_config_arguments, config_from_args, fail


@dataclass(frozen=True)
class Command:
    """A sub-command: its flags are the fields of ``config`` (a frozen dataclass); ``run``
    gets the validated config and the program name (for errors) and returns an exit code.
    A ``forwards`` command takes flags it does not know, for another command (see
    :func:`~blip_rl.config.forwarded`)."""

    help: str
    config: type
    run: Callable[[Any, str], int]
    forwards: bool = False


def build_parser() -> tuple[Parser, dict[str, Command], dict[str, Parser]]:
    """The ``blip-rl`` parser, and each sub-command and its own parser by name."""
    parser = Parser(prog="blip-rl", description="Continual learning with BLIP (CVPR 2021).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands: dict[str, Command] = {}
    parsers: dict[str, Parser] = {}
    for ep in sorted(entry_points(group="blip_rl.commands"), key=lambda e: e.name):
        command: Command = ep.load()
        commands[ep.name] = command
        # no abbreviations: `sweep --seed` must not pass for `--seeds`
        parsers[ep.name] = sub.add_parser(
            ep.name, help=command.help, description=command.help, allow_abbrev=False
        )
        add_config_arguments(parsers[ep.name], command.config)
    return parser, commands, parsers


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `blip-rl inspect RUN | head` ends quietly, as Unix tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser, commands, parsers = build_parser()
    args, rest = parser.parse_known_args(argv)
    command, prog = commands[args.command], f"blip-rl {args.command}"
    if rest and not command.forwards:
        parsers[args.command].error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        config = config_from_args(command.config, args, tuple(rest))
    except ValueError as e:
        fail(prog, str(e))
    try:
        return command.run(config, prog)
    except KeyboardInterrupt:  # `train` checkpoints by itself; files are atomic: none is half
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
