"""The view of a train run as it runs. On a terminal: two rich progress bars (the whole
sequence and the task being learned) with env steps, fps and ETA; log lines (evaluations, task
ends) print above the bars while they are live. Elsewhere (a log file, a batch job): a
heartbeat line a minute with the same numbers."""

from __future__ import annotations

import logging
import time

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from blip_rl.agents.observers import RunObserver
from blip_rl.agents.rundir import TrainRun

log = logging.getLogger(__name__)


class FpsColumn(ProgressColumn):
    """Env steps per second over rich's recent window (blank until it has an estimate)."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:,.0f} fps", style="cyan")


UPDATE_EVERY_S = 0.2
"""Seconds between bar updates: an update per env step would cost more than a small env step."""


class TerminalProgress(RunObserver):
    """Progress bars for a run of ``n_tasks`` tasks of ``steps_per_task`` env steps each.

    The bars appear at the first task start; while they are live, the root logger prints
    through their console so log lines do not tear them.
    """

    def __init__(self, n_tasks: int, steps_per_task: int, console: Console | None = None) -> None:
        self.n_tasks = n_tasks
        self.steps_per_task = steps_per_task
        self.bars = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            FpsColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=5,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        total = n_tasks * steps_per_task
        self.overall = self.bars.add_task(f"tasks 0..{n_tasks - 1}", total=total)
        self.current: TaskID | None = None
        self.start = 0
        self.last_update = 0.0
        self.saved_handlers: list[logging.Handler] | None = None

    def _start(self) -> None:
        root = logging.getLogger()
        self.saved_handlers = root.handlers[:]
        handler = RichHandler(
            console=self.bars.console, show_time=False, show_level=False, show_path=False
        )
        root.handlers = [handler]
        self.bars.start()

    def on_task_start(self, task: int, game: str, start: int, now: int) -> None:
        if self.saved_handlers is None:
            self._start()
        if self.current is not None:
            self.bars.remove_task(self.current)
        self.start = start
        self.current = self.bars.add_task(
            f"task {task}: {game}", total=self.steps_per_task, completed=now - start
        )
        self.bars.update(self.overall, completed=now)
        self.bars.refresh()  # show the new task at once, not at the next periodic refresh

    def on_step(self, now: int) -> None:
        clock = time.monotonic()
        if clock - self.last_update >= UPDATE_EVERY_S:
            self.last_update = clock
            self._show(now)

    def on_task_end(self, run: TrainRun) -> None:
        self._show(run.summary.task_end_steps[-1])

    def _show(self, now: int) -> None:
        self.bars.update(self.overall, completed=now)
        if self.current is not None:
            self.bars.update(self.current, completed=now - self.start)

    def close(self, failed: bool = False) -> None:
        if self.saved_handlers is not None:
            self.bars.stop()
            logging.getLogger().handlers = self.saved_handlers


HEARTBEAT_S = 60.0
"""Seconds between heartbeat lines."""


def duration(seconds: float) -> str:
    """``seconds`` as ``2h 05m``, ``7m 30s`` or ``45s``."""
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


class Heartbeat(RunObserver):
    """One log line every ``every`` seconds when the output is not a terminal, e.g.
    ``env step 245,760/1,500,000 (16.4%), 1,210 steps/s, ETA 17m 16s``.

    Speed: env steps per second since the previous line (the first line: since the session
    started), so evaluations and checkpoints in the interval count as time spent.

    Args:
        total: env steps of the whole run.
        every: seconds between lines [default: 60].
    """

    def __init__(self, total: int, every: float = HEARTBEAT_S) -> None:
        self.total = total
        self.every = every
        self.last: tuple[float, int] | None = None

    def on_task_start(self, task: int, game: str, start: int, now: int) -> None:
        if self.last is None:
            self.last = (time.monotonic(), now)

    def on_step(self, now: int) -> None:
        clock = time.monotonic()
        if self.last is None:
            self.last = (clock, now)
            return
        then, step = self.last
        if clock - then >= self.every:
            self.last = (clock, now)
            speed = (now - step) / (clock - then)
            eta = f", ETA {duration((self.total - now) / speed)}" if speed > 0 else ""
            log.info(
                "env step %s/%s (%.1f%%), %s steps/s%s",
                f"{now:,}",
                f"{self.total:,}",
                100 * now / self.total,
                f"{speed:,.0f}",
                eta,
            )
