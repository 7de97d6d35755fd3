"""``blip-rl``: the command line, one sub-command per module of this package."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence

from blip_rl.commands import classify, heatmap, inspect, plot, sweep, train
from blip_rl.commands.command import Command
from blip_rl.infra.flags import Parser, add_config_arguments, config_from_args, fail

COMMANDS: dict[str, Command] = {
    "classify": classify.COMMAND,
    "heatmap": heatmap.COMMAND,
    "inspect": inspect.COMMAND,
    "plot": plot.COMMAND,
    "sweep": sweep.COMMAND,
    "train": train.COMMAND,
}


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The ``blip-rl`` parser, and each sub-command's own parser by name."""
    parser = Parser(prog="blip-rl", description="Continual learning with BLIP (CVPR 2021).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers: dict[str, Parser] = {}
    for name, command in COMMANDS.items():
        # no abbreviations: `sweep --seed` must not pass for `--seeds`
        parsers[name] = sub.add_parser(
            name, help=command.help, description=command.help, allow_abbrev=False
        )
        add_config_arguments(parsers[name], command.config)
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `blip-rl inspect RUN | head` ends quietly, as Unix tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser, parsers = build_parser()
    args, rest = parser.parse_known_args(argv)
    command, prog = COMMANDS[args.command], f"blip-rl {args.command}"
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
