"""``blip-rl``: the command line, one sub-command per module of this package."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from importlib import metadata

from blip_rl.commands import classify, evaluate, heatmap, inspect, plot, sweep, train
from blip_rl.commands.command import Command
from blip_rl.infra.flags import Parser, add_config_arguments, config_from_args, fail

COMMANDS: dict[str, Command] = {
    "classify": classify.COMMAND,
    "evaluate": evaluate.COMMAND,
    "heatmap": heatmap.COMMAND,
    "inspect": inspect.COMMAND,
    "plot": plot.COMMAND,
    "sweep": sweep.COMMAND,
    "train": train.COMMAND,
}


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The ``blip-rl`` parser, and each sub-command's own parser by name."""
    parser = Parser(
        prog="blip-rl",
        description="Continual learning with BLIP (CVPR 2021). `blip-rl COMMAND --help` for a "
        "command's flags and examples.",
    )
    parser.add_argument(
        "--version", action="version", version=f"blip-rl {metadata.version('blip-rl')}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers: dict[str, Parser] = {}
    for name, command in COMMANDS.items():
        examples = "\n".join(f"  blip-rl {name} {line}" for line in command.examples)
        # no abbreviations: `sweep --seed` must not pass for `--seeds`
        parsers[name] = sub.add_parser(
            name,
            help=command.help,
            description=command.help,
            epilog=f"examples:\n{examples}" if examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        add_config_arguments(parsers[name], command.config)
    return parser, parsers


PLACE_FLAGS = ("--out", "--data-dir", "--scratch", "--address", "--video")
"""Flags that name where a command writes or reads: given twice, argparse would silently keep
the last, so a typo or a pasted line could send a run into the wrong folder. Other flags keep
argparse's last-one-wins."""


def repeated_flag(argv: Sequence[str]) -> str | None:
    """The first of :data:`PLACE_FLAGS` that ``argv`` gives twice (``--out A --out=B``)."""
    seen: set[str] = set()
    for token in argv:
        name = token.split("=", 1)[0]
        if name in PLACE_FLAGS:
            if name in seen:
                return name
            seen.add(name)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `blip-rl inspect RUN | head` ends quietly, as Unix tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser, parsers = build_parser()
    args, rest = parser.parse_known_args(argv)
    command, prog = COMMANDS[args.command], f"blip-rl {args.command}"
    if rest and not command.forwards:
        parsers[args.command].error(f"unrecognized arguments: {' '.join(rest)}")
    repeated = repeated_flag(sys.argv[1:] if argv is None else argv)
    if repeated:
        parsers[args.command].error(f"{repeated} is given more than once; give it once")
    try:
        config = config_from_args(command.config, args, tuple(rest))
    except ValueError as e:
        fail(prog, str(e))
    try:
        return command.run(config, prog)
    except KeyboardInterrupt:  # `train` checkpoints by itself; files are atomic: none is half
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
