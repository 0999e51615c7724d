"""How apply reports its progress: a bar on a terminal, a plain line every few seconds in CI logs.

CI systems kill jobs that print nothing for a while (and people stop trusting them sooner), so without a
terminal apply prints ``applying: 1,200/20,000 done, 79.9/s, about 3m30s left`` to stderr at least every
``interval`` seconds (10 by default; RECONCILE_PROGRESS_SECONDS changes it).
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconcile.report import ActionResult, Outcome

DEFAULT_INTERVAL = 10.0


class ApplyProgress:
    """Counts finished actions and shows them: a rich bar on a TTY, else plain lines every ``interval`` s."""

    def __init__(
        self, *, total: int, tty: bool, interval: float = DEFAULT_INTERVAL, stream: TextIO | None = None
    ) -> None:
        self._total = total
        self._done = 0
        self._failed = 0
        self._bar: Progress | None = None
        self._lines: _PlainLines | None = None
        if tty:
            self._bar = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task("apply", total=total, failed="")
        else:
            self._lines = _PlainLines(self, interval, stream or sys.stderr)

    def __enter__(self) -> ApplyProgress:
        if self._bar is not None:
            self._bar.start()
        if self._lines is not None:
            self._lines.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self._lines is not None:
            self._lines.stop()

    def advance(self, result: ActionResult) -> None:
        self._done += 1
        if result.outcome is not Outcome.DONE:
            self._failed += 1
        if self._bar is not None:
            failed = f"{self._failed} not done" if self._failed else ""
            self._bar.update(self._task, advance=1, failed=failed)

    def line(self, elapsed: float) -> str:
        """``applying: 1,200/20,000 done, 79.9/s, about 3m30s left[, 3 not done]``."""
        done, total = self._done, self._total
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"about {_duration((total - done) / rate)} left" if rate > 0 else "starting"
        failed = f", {self._failed:,} not done" if self._failed else ""
        return f"applying: {done:,}/{total:,} done, {rate:.1f}/s, {left}{failed}"


class _PlainLines:
    """A daemon thread that writes the progress line every ``interval`` seconds until stopped."""

    def __init__(self, progress: ApplyProgress, interval: float, stream: TextIO) -> None:
        self._progress = progress
        self._interval = interval
        self._stream = stream
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="apply-progress", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self._stream.write(self._progress.line(time.monotonic() - self._started) + "\n")
            self._stream.flush()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
