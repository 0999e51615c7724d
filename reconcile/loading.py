"""A desired-state file that loads while its lists are read.

Loading a file of 100,000 customers takes seconds of CPU, while observing them is bound by Stripe's
rate limit and leaves most of a core idle. Observing needs only the file's header (``header``), so
a large file is loaded in a thread beside the reads, and the plan waits for it only at the end. A
small file loads first, as it always did: it takes milliseconds, and a bad one then costs no request.

The file's problems still come first: a failed load stops the reads at their next page, and an error
met meanwhile (a missing API key, an unreachable account) gives way to the file's problems.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconcile import config
from reconcile.errors import ReconcileError
from reconcile.header import read_header
from reconcile.model import DesiredState, Header

# Below this, loading takes well under the first page's answer: nothing to gain by overlapping.
OVERLAP_FROM_BYTES = 256 * 1024
LOADING_SWITCH_INTERVAL = 0.001  # seconds; see Loading._load


class Loading:
    """A file whose header is known and whose whole may still be loading; ``result()`` waits for it."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.failed = threading.Event()  # set when the file turns out bad: the reads stop at their next page
        self._finished = threading.Event()
        self._desired: DesiredState | None = None
        self._error: Exception | None = None

    @classmethod
    def loaded(cls, desired: DesiredState) -> Loading:
        loading = cls(desired.header)
        loading._desired = desired
        loading._finished.set()
        return loading

    @classmethod
    def beside(cls, text: str, header: Header) -> Loading:
        """Start loading ``text`` in a thread; its header is already read."""
        loading = cls(header)
        threading.Thread(target=loading._load, args=(text,), name="reconcile-load", daemon=True).start()
        return loading

    def _load(self, text: str) -> None:
        # Meanwhile the interpreter hands over the GIL every millisecond rather than every five: a
        # reader whose page has come in parses it and asks for the next without waiting out the
        # loader's turn. Reading a million pairs' 11,000 pages beside the load took 140.8 s with
        # the default and 138.4 s with this, against 138.75 s with no load beside it.
        switching = sys.getswitchinterval()
        sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
        try:
            self._parse(text)
        finally:
            sys.setswitchinterval(switching)

    def result(self) -> DesiredState:
        """The loaded file; raises its ConfigError if it is bad."""
        self._finished.wait()
        if self._error is not None:
            raise self._error
        assert self._desired is not None
        return self._desired

    @contextmanager
    def problems_first(self) -> Iterator[None]:
        """An error raised while the file loads gives way to the file's own problems, if it has any."""
        try:
            yield
        except Exception:
            self._finished.wait()
            if self._error is not None:
                raise self._error from None
            raise

    def _parse(self, text: str) -> None:
        try:
            desired = config.parse_if_valid(text, self.header.path)
            if desired is None:
                # Bad: the reads stop now, not once the problems are located (which takes longer).
                self.failed.set()
                config.explain(text, self.header.path)  # raises them
                raise _bug(self.header.path, "was found to have problems, and then none")
            if not desired.header.same_as(self.header):
                raise _bug(self.header.path, "reads differently from the owner, mode and accounts read ahead of it")
            self._desired = desired
        except Exception as error:
            self._error = error
            self.failed.set()
        finally:
            self._finished.set()


def _bug(path: str, what: str) -> ReconcileError:
    return ReconcileError(f"{path} {what}: this is a bug in reconcile, please report it (with --debug)")


def start(path: str | Path) -> Loading:
    """Read ``path`` and load it: beside the reads if it is large and its header simply written, else now."""
    shown = str(path)
    text = config.read_text(path)
    header = read_header(text, shown) if len(text) >= OVERLAP_FROM_BYTES else None
    if header is None:
        return Loading.loaded(config.parse(text, shown))
    return Loading.beside(text, header)
