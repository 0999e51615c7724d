"""A progress bar on stderr for apply, shown only on a terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconcile.report import ActionResult, Outcome


class ApplyProgress:
    """Counts finished actions; a no-op when ``enabled`` is false (no TTY, CI logs stay clean)."""

    def __init__(self, *, total: int, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._failed = 0
        if enabled:
            self._progress = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task("apply", total=total, failed="")

    def __enter__(self) -> ApplyProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, result: ActionResult) -> None:
        if self._progress is None:
            return
        if result.outcome is not Outcome.DONE:
            self._failed += 1
        failed = f"{self._failed} not done" if self._failed else ""
        self._progress.update(self._task, advance=1, failed=failed)
