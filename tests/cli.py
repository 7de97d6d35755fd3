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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent

TWO_TASKS = [
    "--suite", "minatar", "--games", "breakout,space_invaders", "--method", "blip",
    "--steps-per-task", "384", "--checkpoint-interval", "128", "--eval-interval", "192",
    "--n-envs", "2", "--n-steps", "32", "--n-minibatches", "2", "--n-epochs", "1",
    "--eval-episodes", "1", "--final-eval-episodes", "2", "--eval-max-steps", "40",
    "--fisher-samples", "96", "--device", "cpu",
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
        atexit.register(self.process.kill)

    def start(self, request: dict) -> tuple[int, Path, Path]:
        """Fork a child for ``request``; its pid and output files."""
        self.count += 1
        out, err = self.outputs / f"{self.count}.out", self.outputs / f"{self.count}.err"
        request = {**request, "stdout": str(out), "stderr": str(err)}
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        return json.loads(self.read_line())["pid"], out, err

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
            try:
                self.returncode = json.loads(server().read_line(timeout=0))["code"]
            except TimeoutError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> Finished:
        if self.returncode is None:
            try:
                self.returncode = json.loads(server().read_line(timeout))["code"]
            except TimeoutError:
                os.kill(self.pid, 9)
                raise
        return Finished(self.returncode, self._out.read_text(), self._err.read_text())


def start_cli(
    *args: str, cwd: Path, env: dict | None = None, kill_at: str | None = None
) -> Running:
    """``blip-rl ARGS`` started in ``cwd`` (with ``env``, default: this process's), SIGKILLed
    at ``kill_at`` (see tests/killer.py) if given."""
    environ = dict(os.environ if env is None else env)
    request = {"argv": list(args), "cwd": str(cwd), "env": environ, "kill_at": kill_at,
               "script": None}  # fmt: skip
    return Running(request)


def run_cli(*args: str, cwd: Path, env: dict | None = None, kill_at: str | None = None) -> Finished:
    """``blip-rl ARGS`` run to its end (see :func:`start_cli`)."""
    return start_cli(*args, cwd=cwd, env=env, kill_at=kill_at).wait()


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
