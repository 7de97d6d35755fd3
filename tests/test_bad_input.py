"""The bad-input catalogue (issue 7): every command refuses a bad value with one line naming it
and what is allowed, exit code 2 and no traceback, and leaves every file as it was.

Each case runs a real ``python -m blip_rl`` in its own folder holding a copy of a tiny finished
train run (``train``), a tiny finished classify run (``classify``), a regular file (``file``)
and a folder that is not a run (``notrun``).
"""

import json
import os
import shutil

import numpy as np
import pytest
import torch

from tests.cli import run_cli
from tests.datafiles import write_cifar10, write_idx, write_mnist
from tests.test_agents import TINY

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
NOT_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
GAME = ("--suite", "minatar", "--games", "breakout")
CHECKSUMS = "SHA256SUMS"
"""A folder's list of the checksums of the files blip-rl wrote in it."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished one-game train run and a finished digits5 classify run, made by the CLI."""
    root = tmp_path_factory.mktemp("runs")
    made = [
        run_cli("train", "--out", "train", "--device", "cpu", *GAME, "--steps-per-task", "64",
                *TINY, "--quiet", cwd=root),
        run_cli("classify", "--out", "classify", "--device", "cpu", "--epochs", "1",
                "--fisher-samples", "64", cwd=root),
    ]  # fmt: skip
    for proc in made:
        assert proc.returncode == 0, proc.stderr
    return root


def files_under(folder):
    """Every file (its bytes) and folder (``None``) under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in folder.rglob("*")
    }


# Case set-ups: each gets the case's folder.


def mnist_without(name):
    def setup(tmp):
        write_mnist(tmp / "data" / "mnist")
        (tmp / "data" / "mnist" / name).unlink()

    return setup


def empty_mnist_images(tmp):
    write_mnist(tmp / "data" / "mnist", gz=False)
    (tmp / "data" / "mnist" / "train-images-idx3-ubyte").write_bytes(b"")


def idx_file_as_cifar_batch(tmp):
    folder = tmp / "data" / "cifar-10-batches-py"
    write_cifar10(folder)
    write_idx(folder / "data_batch_2", np.zeros((4, 3072), dtype=np.uint8))


def read_only_folder(tmp):
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o555)


def truncated(path, keep, checksums=True):
    """``path`` cut to its first ``keep`` bytes, as by a full disk or a copy cut short; without
    ``checksums``, in a folder without a checksum list (an older run's)."""

    def setup(tmp):
        data = (tmp / path).read_bytes()
        (tmp / path).write_bytes(data[:keep])
        if not checksums:
            (tmp / path).parent.joinpath(CHECKSUMS).unlink(missing_ok=True)

    return setup


def killed_with_a_damaged_checkpoint(tmp):
    """The train run as if killed before its summary was written, its checkpoint damaged."""
    (tmp / "train" / "summary.json").unlink()
    truncated("train/checkpoints/task_0/state.pt", 100)(tmp)


def hand_edited(path, text):
    """``path`` rewritten as ``text`` in a folder without a checksum list (an older run's)."""

    def setup(tmp):
        (tmp / path).write_text(text)
        (tmp / path).parent.joinpath(CHECKSUMS).unlink(missing_ok=True)

    return setup


def mnist_with_labels(labels):
    """MNIST files whose training labels are ``labels`` (one per image)."""

    def setup(tmp):
        write_mnist(tmp / "data" / "mnist", gz=False)
        path = tmp / "data" / "mnist" / "train-labels-idx1-ubyte"
        write_idx(path, np.resize(np.array(labels, dtype=np.uint8), 60))

    return setup


def json_entry(path, key, value):
    """``path`` (a JSON object) with ``key`` set to ``value``, in a folder without a checksum
    list (an older run's)."""

    def setup(tmp):
        data = json.loads((tmp / path).read_text())
        data[key] = value
        hand_edited(path, json.dumps(data))(tmp)

    return setup


def run_of_other_settings(tmp):
    shutil.copytree(tmp / "train", tmp / "sw" / "blip__0")


def case(name, args, *expected, setup=None, marks=()):
    """A bad command line; ``expected``: substrings of its error line, together naming the bad
    value and what is allowed; ``setup`` prepares the case's folder."""
    return pytest.param(list(args), expected, setup, id=name, marks=marks)


CATALOGUE = [
    case("train-unknown-game", ["train", "--suite", "minatar", "--games", "pong", "--out", "new"],
         "unknown minatar game 'pong'; choose from: breakout, space_invaders, freeway"),
    case("train-bits-0", ["train", "--bits", "0", "--out", "new"],
         "bits must be in 1..32, got 0"),
    case("train-negative-steps", ["train", "--steps-per-task", "-64", "--out", "new"],
         "steps_per_task must be an integer >= 1, got -64"),
    case("train-final-eval-se", ["train", "--final-eval-se", "nan", "--out", "new"],
         "final_eval_se must be a number >= 0, got nan"),
    case("train-negative-threads", ["train", "--threads", "-1", "--out", "new"],
         "threads must be an integer >= 0 (0: one per core), got -1"),
    case("classify-negative-threads", ["classify", "--threads", "-2", "--out", "new"],
         "threads must be an integer >= 0 (0: one per core), got -2"),
    case("train-bit-budget", ["train", "--bit-budget", "-0.5", "--out", "new"],
         "bit_budget must be a share in (0, 1], got -0.5"),
    case("train-no-gpu", ["train", "--device", "cuda", "--out", "new"],
         "--device cuda asked for, but no CUDA GPU is available; use cpu or auto", marks=NO_GPU),
    case("train-existing-out", ["train", "--out", "train", *GAME],
         "--out 'train' is not empty; pass --resume to continue that run or choose another --out"),
    case("train-resume-other-seed", ["train", "--out", "train", "--resume", "--seed", "7"],
         "--seed 7 differs from the run's 0 (config.json)"),
    case("train-resume-not-a-run", ["train", "--out", "notrun", "--resume"],
         "--out 'notrun' holds no run to resume (no config.json)"),
    case("train-out-under-file", ["train", "--out", "file/run"],
         "cannot create output directory 'file/run': 'file' is a file, not a folder"),
    case("train-out-read-only", ["train", "--out", "ro/run"],
         "cannot create output directory 'ro/run': Permission denied",
         setup=read_only_folder, marks=NOT_ROOT),
    case("train-scratch-not-a-run", ["train", "--out", "new", "--scratch", "notrun"],
         "--scratch 'notrun' is not a readable run folder",
         "(a train run writes summary.json after its first task"),
    case("train-resume-a-classify-run", ["train", "--out", "classify", "--resume"],
         "--out 'classify' holds no train run to resume (settings unknown to TrainConfig: "
         "batch_size, benchmark, data_dir"),
    case("train-resume-damaged-checkpoints", ["train", "--out", "train", "--resume"],
         "no intact checkpoint in 'train/checkpoints': task_0: 'state.pt' does not match its "
         "checksum in SHA256SUMS", setup=killed_with_a_damaged_checkpoint),
    case("train-out-is-a-file", ["train", "--out", "file", *GAME],
         "cannot create output directory 'file': 'file' is a file, not a folder"),
    case("train-out-dev-null", ["train", "--out", "/dev/null", *GAME],
         "cannot create output directory '/dev/null': '/dev/null' is not a folder"),
    case("train-out-twice", ["train", "--out", "new", *GAME, "--out=other"],
         "--out is given more than once; give it once"),
    case("train-seed-past-32-bits", ["train", "--out", "new", *GAME, "--seed", "4294967295"],
         "seed 4294967295 is too large: this run seeds envs up to seed + ",
         "past 2^32 - 1; use a seed below "),
    case("train-minibatches-not-dividing",
         ["train", "--out", "new", *GAME, "--n-envs", "2", "--n-steps", "32",
          "--n-minibatches", "7"],
         "n_steps * n_envs = 64 is not a multiple of n_minibatches = 7",
         "n_minibatches that fit: 1, 2, 4, 8, 16, 32, 64"),
    case("train-prior-underflows", ["train", "--out", "new", *GAME, "--fisher-prior", "1e-60"],
         "fisher_prior 1e-60 is below float32's smallest normal number (1.18e-38)"),
    case("train-prior-overflows", ["train", "--out", "new", *GAME, "--fisher-prior", "1e36"],
         "fisher_prior 1e+36 times the fan 2048 of features_extractor.cnn.3 overflows float32"),
    case("train-more-envs-than-memory", ["train", "--out", "new", *GAME, "--n-envs", "10000000"],
         "this run needs about ", "GiB of memory (rollout ",
         "lower --n-envs, --n-steps, --trunk-width or --fisher-samples"),
    case("train-trunk-wider-than-memory",
         ["train", "--out", "new", *GAME, "--trunk-width", "100000"],
         "this run needs about ", "network ", "lower --n-envs"),
    case("train-fisher-samples-past-memory",
         ["train", "--out", "new", *GAME, "--fisher-samples", str(10**12)],
         "this run needs about ", "Fisher samples ", "lower --n-envs"),
    case("train-bad-wandb-project", ["train", "--out", "new", *GAME, "--wandb-project", "a/b"],
         "invalid W&B project 'a/b': 1 to 128 characters, none of / \\ # ? % :"),
    case("train-resume-config-of-wrong-type", ["train", "--out", "train", "--resume"],
         "--out 'train' holds no train run to resume (the entry 'seed' holds 'zero', not int)",
         setup=json_entry("train/config.json", "seed", "zero")),
    case("inspect-summary-of-wrong-type", ["inspect", "train"],
         "'train' holds an unreadable summary.json (the entry 'games' holds 5, not list[str])",
         setup=json_entry("train/summary.json", "games", 5)),
    case("plot-eval-csv-field-too-large", ["plot", "train"], "cannot read 'train/eval.csv'",
         "field larger than field limit (131072)",
         setup=hand_edited("train/eval.csv", "step,task,game,policy,mean_return\n"
                           + "1" * 200_000 + ",0,breakout,sampled,1.0\n")),
    case("classify-label-out-of-range",
         ["classify", "--benchmark", "mnist5", "--data-dir", "data", "--out", "new"],
         "mnist training labels hold 12; expected classes 0..9",
         setup=mnist_with_labels([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12])),
    case("classify-empty-task",
         ["classify", "--benchmark", "mnist5", "--data-dir", "data", "--out", "new"],
         "mnist has no training images of classes [8, 9] (task 4): every task needs some",
         setup=mnist_with_labels(range(8))),
    case("classify-bad-wandb-project", ["classify", "--out", "new", "--wandb-project", " x"],
         "invalid W&B project ' x'"),
    case("classify-out-twice", ["classify", "--out", "new", "--out", "other"],
         "--out is given more than once; give it once"),
    case("classify-unknown-benchmark", ["classify", "--benchmark", "mnist6", "--out", "new"],
         "unknown benchmark 'mnist6' for --benchmark; choose from: digits5, pdigits, mnist5"),
    case("classify-seeds-empty-item", ["classify", "--seeds", "0,,1", "--out", "new"],
         "invalid list '0,,1'; expected comma-separated integers, e.g. 0,1,2"),
    case("classify-epochs-0", ["classify", "--epochs", "0", "--out", "new"],
         "epochs must be an integer >= 1, got 0"),
    case("classify-bits-33", ["classify", "--bits", "33", "--out", "new"],
         "bits must be in 1..32, got 33"),
    case("classify-missing-file",
         ["classify", "--benchmark", "mnist5", "--data-dir", "data", "--out", "new"],
         "MNIST not found: looked for train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz "
         "in data, data/mnist", setup=mnist_without("train-labels-idx1-ubyte.gz")),
    case("classify-empty-file",
         ["classify", "--benchmark", "mnist5", "--data-dir", "data", "--out", "new"],
         "malformed IDX file data/mnist/train-images-idx3-ubyte: expected the magic 00 00 08",
         setup=empty_mnist_images),
    case("classify-wrong-format",
         ["classify", "--benchmark", "cifar", "--data-dir", "data", "--out", "new"],
         "malformed CIFAR file data/cifar-10-batches-py/data_batch_2",
         "expected a pickled dict with b'data' (N x 3072 uint8) and b'labels'",
         setup=idx_file_as_cifar_batch),
    case("classify-existing-out", ["classify", "--out", "classify"],
         "--out 'classify' is not empty; pass --resume to continue that run"),
    case("heatmap-unknown-layer", ["heatmap", "train", "--layer", "nosuch"],
         "unknown tensor 'nosuch'; choose from: features_extractor.cnn.0.weight", ", all"),
    case("heatmap-unknown-seed", ["heatmap", "train", "--seed", "9"],
         "'train' has no seed 9; choose from: 0"),
    case("heatmap-not-a-run", ["heatmap", "notrun"],
         "'notrun' holds no finished task of a blip-rl run (a train run writes summary.json"),
    case("heatmap-out-under-file", ["heatmap", "train", "--out", "file/fig.png"],
         "cannot create output directory 'file': 'file' is a file, not a folder"),
    case("heatmap-config-without-method", ["heatmap", "train"],
         "'train' holds an unreadable run (a run file lacks the entry 'method')",
         setup=hand_edited("train/config.json", "{}")),
    case("heatmap-truncated-bits", ["heatmap", "train"], "cannot read 'train/bits/task_0.npz'",
         "expected a .npz of uint8 arrays",
         setup=truncated("train/bits/task_0.npz", 100, checksums=False)),
    case("heatmap-changed-bits", ["heatmap", "train"],
         "'train/bits/task_0.npz' does not match its checksum in SHA256SUMS",
         setup=truncated("train/bits/task_0.npz", 100)),
    case("plot-not-a-run", ["plot", "notrun"],
         "'notrun' holds no finished task of a blip-rl run (a train run writes summary.json"),
    case("plot-unknown-format", ["plot", "train", "--format", "bmp"],
         "unknown format 'bmp' for --format; choose from: png, pdf, svg"),
    case("plot-out-under-file", ["plot", "train", "--out", "file/plots"],
         "cannot create output directory 'file/plots': 'file' is a file, not a folder"),
    case("plot-out-read-only", ["plot", "train", "--out", "ro"],
         "output directory 'ro' is not writable", setup=read_only_folder, marks=NOT_ROOT),
    case("plot-garbage-eval-csv", ["plot", "train"], "cannot read 'train/eval.csv'",
         "expected the columns step, task, game, policy, episodes (>= 1), mean_return, std_return",
         setup=hand_edited("train/eval.csv", "garbage\n1,2,3\n")),
    case("plot-changed-eval-csv", ["plot", "train"],
         "'train/eval.csv' does not match its checksum in SHA256SUMS: it was changed or damaged",
         setup=truncated("train/eval.csv", 60)),
    case("inspect-missing-path", ["inspect", "nosuch"], "'nosuch' does not exist"),
    case("inspect-file", ["inspect", "file"], "'file' is a file, not a run folder"),
    case("inspect-truncated-summary", ["inspect", "train"], "'train' holds an unreadable run",
         "'train/summary.json' does not match its checksum in SHA256SUMS",
         setup=truncated("train/summary.json", 40)),
    case("inspect-summary-without-entries", ["inspect", "train"],
         "'train' holds an unreadable run (a run file lacks the entry 'games')",
         setup=hand_edited("train/summary.json", "{}")),
    case("inspect-truncated-results", ["inspect", "classify"], "'classify' holds an unreadable run",
         "'classify/results.json' does not match its checksum in SHA256SUMS",
         setup=truncated("classify/results.json", 40)),  # not read as unfinished from checkpoints
    case("inspect-results-without-entries", ["inspect", "classify"],
         "'classify' holds an unreadable run (a run file lacks the entry 'benchmark')",
         setup=hand_edited("classify/results.json", "{}")),
    case("inspect-config-unknown-suite", ["inspect", "train"],
         "'train' holds an unreadable config.json (unknown suite 'nosuch'; choose from: "
         "atari6, minatar, fake)", setup=hand_edited("train/config.json", '{"suite": "nosuch"}')),
    case("inspect-summary-not-an-object", ["inspect", "train"],
         "'train' holds an unreadable run (summary.json holds a JSON list, not an object)",
         setup=hand_edited("train/summary.json", "[1, 2]")),
    case("sweep-unknown-method", ["sweep", "--out", "new", "--methods", "blip,si"],
         "unknown method 'si' for --methods; choose from: blip, ewc, ft, ftfix, scratch"),
    case("sweep-per-run-flag", ["sweep", "--out", "new", "--seed", "3"],
         "--seed is set by the sweep for each run; use --methods, --seeds and --out"),
    case("sweep-seeds-not-integers", ["sweep", "--out", "new", "--seeds", "a"],
         "invalid list 'a'; expected comma-separated integers, e.g. 0,1,2"),
    case("sweep-gpus-without-gpu", ["sweep", "--out", "new", "--gpus-per-run", "1"],
         "--gpus-per-run 1 asked for, but no CUDA GPU is available; use 0, or --address",
         marks=NO_GPU),
    case("sweep-device-without-gpu", ["sweep", "--out", "new", "--device", "cuda"],
         "--device cuda asked for, but no CUDA GPU is available; use cpu or auto", marks=NO_GPU),
    case("sweep-more-cpus-than-the-machine",
         ["sweep", "--out", "new", "--cpus-per-run", str(os.cpu_count() + 1)],
         f"--cpus-per-run {os.cpu_count() + 1} asked for, but this machine has "
         f"{os.cpu_count()} CPUs; use at most that, or --address of a Ray cluster"),
    case("sweep-gpus-nan", ["sweep", "--out", "new", "--gpus-per-run", "nan"],
         "gpus_per_run must be a number >= 0, got nan"),
    case("sweep-unreachable-address", ["sweep", "--out", "new", "--address", "127.0.0.1:1"],
         "cannot reach a Ray cluster at --address '127.0.0.1:1' (Connection refused)"),
    case("sweep-out-twice", ["sweep", "--out", "new", "--methods", "ft", "--out=/etc"],
         "--out is given more than once; give it once"),
    case("sweep-out-of-other-settings",
         ["sweep", "--out", "sw", "--methods", "blip", "--seeds", "0", *GAME,
          "--steps-per-task", "128"],
         "'sw/blip__0' holds a run with steps_per_task 64, the sweep's is 2000; "
         "choose another --out or remove that folder", setup=run_of_other_settings),
]  # fmt: skip


@pytest.mark.parametrize("args, expected, setup", CATALOGUE)
def test_bad_input_is_refused_in_one_line_with_exit_2_and_no_file_changes(
    runs, tmp_path, args, expected, setup
):
    for name in ("train", "classify"):
        shutil.copytree(runs / name, tmp_path / name)
    (tmp_path / "file").write_text("a regular file\n")
    (tmp_path / "notrun").mkdir()
    (tmp_path / "notrun" / "notes.txt").write_text("not a run\n")
    if setup is not None:
        setup(tmp_path)
    before = files_under(tmp_path)
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"blip-rl {args[0]}: error: ")
    for part in expected:
        assert part in proc.stderr
    after = files_under(tmp_path)
    assert sorted(after) == sorted(before)
    assert [p for p in before if before[p] != after[p]] == []
