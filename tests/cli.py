"""Run ``blip-rl`` as a user does: a fresh ``python -m blip_rl`` process."""

import subprocess
import sys


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "blip_rl", *args], capture_output=True, text=True, cwd=cwd
    )
