"""A fork server for the tests: one process imports blip-rl (torch, SB3, the games) once, then
forks a fresh child for each command the tests run, so a test runs ``blip-rl ...`` as a real
process (its own exit code, stdout, stderr, signals, tracebacks, atexit) without paying the
seconds of imports every time.

Forking is safe here because this process never runs a torch operation (no thread pool exists
yet). Protocol: one JSON request per line on stdin, ``{"argv", "cwd", "env", "stdout",
"stderr", "kill_at", "script", "file_size_limit"}``; two JSON lines back, ``{"started": pid}``
when the child starts and ``{"ended": pid, "code"}`` when it ends (negative: killed by that
signal, as ``subprocess`` reports it).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import select
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import matplotlib.backends.backend_agg  # noqa: F401  (the figures' imports, done once)
import matplotlib.figure  # noqa: F401
import minatar.environment  # noqa: F401
import torch._dynamo  # noqa: F401  (imported by the first optimizer step otherwise)

from blip_rl.commands.main import main
from tests.killer import arm


def child(request: dict[str, Any]) -> NoReturn:
    """Become the command's process: its folder, environment and output files."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    if request.get("file_size_limit"):  # as `ulimit -f`: a larger write fails with EFBIG
        limit = request["file_size_limit"]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        if request["script"]:
            script = request["script"]
            sys.argv = [script, *request["argv"]]
            sys.path.insert(0, str(Path(script).parent))
            runpy.run_path(script, run_name="__main__")
            sys.exit(0)
        if request["kill_at"]:
            arm(request["kill_at"])
        sys.exit(main(request["argv"]))
    except SystemExit as e:
        if threading.active_count() > 1:
            raise  # threads to wait for: the interpreter's own exit does that
        exit_quickly(e)
    # Any other exception unwinds to the top: a traceback and exit 1, as any process.


def exit_quickly(e: SystemExit) -> NoReturn:
    """Exit as the interpreter does (atexit functions, the code or message of ``e``, flushed
    output) but without tearing down every module, which takes a second with torch loaded."""
    code = e.code
    if code is not None and not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def serve() -> None:
    """Fork a child for each request as it comes, while earlier children still run (tests
    run commands side by side); report each child's end as it happens."""
    channel = os.fdopen(os.dup(1), "w")

    def send(message: dict[str, int]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    running: set[int] = set()
    pending = b""
    while True:
        ready, _, _ = select.select([0], [], [], 0.01 if running else None)
        if ready:
            data = os.read(0, 1 << 16)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    child(json.loads(line))
                running.add(pid)
                send({"started": pid})
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                send({"ended": pid, "code": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
