"""The cyclic garbage collector, held off while a large acyclic structure is built.

A loaded file or an observed snapshot is millions of objects and no cycles. Each full collection
walks them all, to free nothing: about a quarter of a load, and six seconds of a million-pair plan
made right after observing (the first collection of the fresh snapshot). So the collector is
paused while they are built, and what exists then is frozen (``gc.freeze``): later collections skip
it. Frozen objects are still freed by reference counting as soon as they are dropped.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
