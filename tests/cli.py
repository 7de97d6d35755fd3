"""Run ``blip-rl`` as a user does: a fresh ``python -m blip_rl`` process."""

import subprocess
import sys

TWO_TASKS = [
    "--suite", "minatar", "--games", "breakout,space_invaders", "--method", "blip",
    "--steps-per-task", "384", "--checkpoint-interval", "128", "--eval-interval", "192",
    "--n-envs", "2", "--n-steps", "32", "--n-minibatches", "2", "--n-epochs", "1",
    "--eval-episodes", "1", "--eval-max-steps", "40", "--fisher-samples", "96", "--device", "cpu",
]  # fmt: skip
"""A tiny two-game run: 6 rollouts of 64 steps per task; checkpoints at 128, 256, 384 (task_0),
512, 640 and 768 (task_1); evaluations every 192 steps and at each task end."""


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "blip_rl", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_one_line_error(proc, message):
    """Exit code 2, one line on stderr containing ``message``, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
