"""Kill points: :func:`arm` makes this process SIGKILL itself at ``POINT``, as a crash or an
out-of-memory kill would, leaving whatever is on disk then (see ``kill_at`` in tests/cli.py).

POINT is ``kind:n``:
    ``step:n``         at the first env step >= n (mid-task; n is a global env step),
    ``eval:n``         after the n-th task evaluation, before the rest of that evaluation pass,
    ``checkpoint:n``   while the n-th checkpoint is written (its state.pt in the temporary
                       folder, its meta.json, checksums and rename not yet done),
    ``consolidate:n``  after BLIP has frozen the bits of the n-th layer of a task end, before
                       the other layers,
    ``fsync:n``        as the n-th file of any kind reaches the disk, before its rename,
    ``sigterm-eval:n`` not a kill: a SIGTERM to itself as the n-th task evaluation starts (as
                       a cluster's pre-emption notice arriving mid-evaluation).
"""

import os
import signal

import blip_rl.agents.trainer
import blip_rl.core.blip
import blip_rl.infra.checkpoints
import blip_rl.infra.files


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_on_call(owner, name: str, n: int, after: bool = True) -> None:
    """Replace ``owner.name`` by a wrapper that SIGKILLs the process on its n-th call."""
    original, calls = getattr(owner, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n and not after:
            die()
        result = original(*args, **kwargs)
        if calls[0] == n:
            die()
        return result

    setattr(owner, name, wrapper)


def arm(point: str) -> None:
    kind, n = point.split(":")
    n = int(n)
    if kind == "step":
        callback = blip_rl.agents.trainer.TaskCallback
        on_step = callback._on_step

        def _on_step(self):
            if self.model.num_timesteps >= n:
                die()
            return on_step(self)

        callback._on_step = _on_step
    elif kind == "eval":
        kill_on_call(blip_rl.agents.trainer, "evaluate_task", n)
    elif kind == "checkpoint":
        writes = [0]
        original = blip_rl.infra.checkpoints.atomic_write_bytes

        def write(path, data):
            original(path, data)
            if path.name == "state.pt":
                writes[0] += 1
                if writes[0] == n:
                    die()

        blip_rl.infra.checkpoints.atomic_write_bytes = write
    elif kind == "consolidate":
        kill_on_call(blip_rl.core.blip, "consolidate_layer", n)
    elif kind == "fsync":
        kill_on_call(blip_rl.infra.files.os, "fsync", n)
    elif kind == "sigterm-eval":
        evaluate, calls = blip_rl.agents.trainer.evaluate_task, [0]

        def terminated_evaluation(*args, **kwargs):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGTERM)
            return evaluate(*args, **kwargs)

        blip_rl.agents.trainer.evaluate_task = terminated_evaluation
    else:
        raise SystemExit(f"unknown kill point {point!r}")
