"""The cyclic garbage collector, held off while a large acyclic structure is built.

A loaded file or an observed snapshot is millions of objects and no cycles. Each full collection
walks them all, to free nothing: about a quarter of a load, and six seconds of a million-pair plan
made right after observing (the first collection of the fresh snapshot). So the collector is
paused while they are built, and what exists then is frozen (``gc.freeze``): later collections skip
it. Frozen objects are still freed by reference counting as soon as they are dropped.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """Pauses that may overlap (a file loads in one thread while lists are read in another): the
    collector runs again when the last one ends, if it ran before the first began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.was_enabled = False

    def begin(self) -> None:
        with self.lock:
            if self.open == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.open += 1

    def end(self) -> None:
        with self.lock:
            self.open -= 1
            gc.freeze()
            if self.open == 0 and self.was_enabled:
                gc.enable()


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    _PAUSES.begin()
    try:
        yield
    finally:
        _PAUSES.end()
