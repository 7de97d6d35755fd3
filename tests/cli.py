"""Run ``blip-rl`` as a user does: a fresh ``python -m blip_rl`` process."""

import subprocess
import sys


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "blip_rl", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_one_line_error(proc, message):
    """Exit code 2, one line on stderr containing ``message``, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
