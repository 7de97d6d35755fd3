"""What ``--help`` and ``--version`` tell a user: sections, choices, examples that parse."""

import shlex
from importlib import metadata

import pytest

from blip_rl.classification.config import ClassifyConfig
from blip_rl.commands.main import COMMANDS, build_parser
from blip_rl.infra.flags import config_from_args, config_from_dict
from tests.cli import run_cli


def test_version_names_the_installed_release(tmp_path):
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"blip-rl {metadata.version('blip-rl')}"


def test_train_help_groups_its_flags_and_shows_choices_and_defaults(tmp_path):
    proc = run_cli("train", "--help", cwd=tmp_path)
    text = proc.stdout
    sections = ["PPO (stable-baselines3):", "network:", "evaluation:", "BLIP (--method blip):",
                "EWC (--method ewc):", "PackNet (--method packnet):",
                "how the run is carried out (may differ on --resume):"]  # fmt: skip
    for title in sections:
        assert f"\n{title}\n" in text, title
    assert "--suite {atari6,minatar,fake}" in text
    assert "atari6 10,000,000, minatar 500,000" in " ".join(text.split())
    evaluation = text[text.index("\nevaluation:") : text.index("\nFisher information")]
    assert "--eval-interval" in evaluation and "--learning-rate" not in evaluation


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_example_in_help_parses_into_a_valid_config(name):
    parser, parsers = build_parser()
    examples = COMMANDS[name].examples
    if name in ("train", "classify", "inspect", "sweep"):
        assert examples, f"blip-rl {name} --help shows no examples"
    for line in examples:
        argv = [name, *shlex.split(line, comments=True)]
        args, rest = parser.parse_known_args(argv)
        assert not rest or COMMANDS[name].forwards, line
        config_from_args(COMMANDS[name].config, args, tuple(rest))  # no ValueError


def test_a_classify_config_from_before_the_rename_still_reads():
    old = config_from_dict(ClassifyConfig, {"lr": 0.05, "lr_min": 1e-3, "seeds": [0, 1]})
    assert (old.learning_rate, old.learning_rate_min, old.seeds) == (0.05, 1e-3, (0, 1))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_flag_states_its_default_at_most_once(name):
    _, parsers = build_parser()
    for action in parsers[name]._actions:
        assert (action.help or "").count("[default") <= 1, action.option_strings
