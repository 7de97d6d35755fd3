"""Run ``blip-rl`` as a user does: each command in its own process, forked from the tests' fork
server (tests/forkserver.py) so that it starts in milliseconds, not seconds of imports."""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent

TWO_TASKS = [
    "--suite", "minatar", "--games", "breakout,space_invaders", "--method", "blip",
    "--steps-per-task", "384", "--checkpoint-interval", "128", "--eval-interval", "192",
    "--n-envs", "2", "--n-steps", "32", "--n-minibatches", "2", "--n-epochs", "1",
    "--eval-episodes", "1", "--final-eval-episodes", "2", "--final-eval-se", "0",
    "--eval-max-steps", "40", "--fisher-samples", "96", "--device", "cpu",
]  # fmt: skip
"""A tiny two-game run: 6 rollouts of 64 steps per task; checkpoints at 128, 256, 384 (task_0),
512, 640 and 768 (task_1); evaluations every 192 steps and at each task end."""


class ForkServer:
    """The fork server process, started on first use and stopped when the tests end."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self.outputs = Path(tempfile.mkdtemp(prefix="blip-rl-cli-"))
        self.count = 0
        self.pending = b""  # bytes read from the server but not yet a whole line
        self.codes: dict[int, int] = {}  # exit codes of ended children not yet asked for
        atexit.register(self.process.kill)

    def start(self, request: dict) -> tuple[int, Path, Path]:
        """Fork a child for ``request``; its pid and output files."""
        self.count += 1
        out, err = self.outputs / f"{self.count}.out", self.outputs / f"{self.count}.err"
        request = {**request, "stdout": str(out), "stderr": str(err)}
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        while True:
            message = json.loads(self.read_line())
            if "started" in message:
                return message["started"], out, err
            self.codes[message["ended"]] = message["code"]

    def code(self, pid: int, timeout: float | None) -> int | None:
        """The exit code of child ``pid`` once it has ended; ``None`` if it has not within
        ``timeout`` s. Other children's ends read meanwhile are kept for them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.codes:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                message = json.loads(self.read_line(left))
            except TimeoutError:
                return None
            self.codes[message["ended"]] = message["code"]
        return self.codes.pop(pid)

    def read_line(self, timeout: float | None = None) -> str:
        """The server's next line; ``TimeoutError`` if none comes within ``timeout`` s."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise TimeoutError
            data = os.read(fd, 4096)
            if not data:
                raise RuntimeError("the tests' fork server died")
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()


_server: ForkServer | None = None


def server() -> ForkServer:
    global _server
    if _server is None:
        _server = ForkServer()
    return _server


@dataclass
class Finished:
    """A finished command, as ``subprocess.CompletedProcess``: exit code (negative: the
    signal that killed it), stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


class Running:
    """A command running in its own process, as ``subprocess.Popen``."""

    def __init__(self, request: dict) -> None:
        self.pid, self._out, self._err = server().start(request)
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = server().code(self.pid, timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> Finished:
        if self.returncode is None:
            self.returncode = server().code(self.pid, timeout)
            if self.returncode is None:
                os.kill(self.pid, 9)
                raise TimeoutError(f"the command did not end within {timeout} s")
        return Finished(self.returncode, self._out.read_text(), self._err.read_text())


def start_cli(
    *args: str,
    cwd: Path,
    env: dict | None = None,
    kill_at: str | None = None,
    file_size_limit: int | None = None,
) -> Running:
    """``blip-rl ARGS`` started in ``cwd`` (with ``env``, default: this process's), SIGKILLed
    at ``kill_at`` (see tests/killer.py) if given, unable to write a file past
    ``file_size_limit`` bytes (``ulimit -f``) if given."""
    environ = dict(os.environ if env is None else env)
    request = {"argv": list(args), "cwd": str(cwd), "env": environ, "kill_at": kill_at,
               "script": None, "file_size_limit": file_size_limit}  # fmt: skip
    return Running(request)


def run_cli(*args: str, cwd: Path, **kwargs: Any) -> Finished:
    """``blip-rl ARGS`` run to its end (see :func:`start_cli`)."""
    return start_cli(*args, cwd=cwd, **kwargs).wait()


def run_script(script: Path, *args: str, cwd: Path = ROOT) -> Finished:
    """``python SCRIPT ARGS`` run to its end, in a child of the fork server."""
    request = {"argv": list(args), "cwd": str(cwd), "env": dict(os.environ), "kill_at": None,
               "script": str(script)}  # fmt: skip
    return Running(request).wait()


def assert_one_line_error(proc: Finished, message: str) -> None:
    """Exit code 2, one line on stderr containing ``message``, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
