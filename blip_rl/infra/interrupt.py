"""Stopping a long run cleanly: the first Ctrl-C (SIGINT) or SIGTERM only asks the training
loop to stop at its next safe point (after the current update, evaluation or file write, with
a checkpoint); a second one stops at once."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run stopped on a signal after saving a checkpoint; ``exit_code`` is 128 + signal."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DeferredInterrupt:
    """Within ``with DeferredInterrupt() as stop:``, SIGINT and SIGTERM set ``stop.signal``
    (the loop polls it) instead of raising; a second signal raises ``KeyboardInterrupt``, unless
    the loop has :meth:`settle`-d. Outside the main thread, where Python delivers no signals,
    it does nothing."""

    def __init__(
        self, on_stop: str = "saving a checkpoint after the current step, then stopping"
    ) -> None:
        self.on_stop = on_stop  # what the first signal does, as the warning says it
        self.signal: int | None = None
        self.settled = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for number, handler in self._previous.items():
            # After a stop was asked for, the process is on its way out: a further signal
            # would only interrupt its shutdown with a traceback.
            signal.signal(number, signal.SIG_IGN if self.requested else handler)  # type: ignore[arg-type]

    def settle(self) -> None:
        """The loop has stopped with everything saved: from now on a signal is ignored (it
        would have nothing left to save, and would only cut the way out short: the closing
        of the loggers, the resume line)."""
        self.settled = True

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.settled:
            return
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = number
        log.warning(
            "%s: %s (press Ctrl-C again to stop at once, losing the work since the last "
            "checkpoint)",
            signal.Signals(number).name,
            self.on_stop,
        )

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signal or signal.SIGINT)
