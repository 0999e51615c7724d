"""Events waiting to be reconciled: de-duplicated by id, coalesced per customer over a short window.

A card change on the platform makes two or three events within milliseconds (the new card, the
customer's new default, the old card removed); waiting ``window`` seconds after a customer's first
event turns them into one reconcile of that customer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

REMEMBERED_IDS = 100_000  # event ids kept for de-duplication; Stripe's retries come within three days, far fewer


@dataclass(slots=True)
class Pending:
    """One customer key's events since it was last reconciled."""

    first_created: float  # when the first of them happened (the event's `created`)
    first_received: float  # monotonic time it arrived
    events: int = 1


class Inbox:
    """Thread-safe: webhook and poll threads put, the watch loop takes."""

    def __init__(self, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[str, Pending] = {}
        self._changed = threading.Condition()
        self._woken = False

    def first_sight(self, event_id: str) -> bool:
        """True the first time an event id is offered, False for a duplicate."""
        with self._changed:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            if len(self._seen) > REMEMBERED_IDS:
                self._seen.popitem(last=False)
            return True

    def put(self, key: str, created: float) -> None:
        with self._changed:
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = Pending(first_created=created, first_received=self._clock())
                self._changed.notify_all()
            else:
                pending.events += 1
                pending.first_created = min(pending.first_created, created)

    def wake(self) -> None:
        """Make a waiting ``take`` return now (to stop, reload or resync)."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def take(self, timeout: float) -> dict[str, Pending]:
        """Every pending key, once the first to arrive has waited its window; {} after ``timeout`` or a wake.

        Taking the later keys early as well makes a burst one plan: it is cheaper, and the safety rule
        (how many of an account's copies one plan changes) sees the burst whole.
        """
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                now = self._clock()
                due = any(now >= p.first_received + self.window for p in self._pending.values())
                if due or self._woken or now >= deadline:
                    self._woken = False
                    taken, self._pending = (self._pending, {}) if due else ({}, self._pending)
                    return taken
                soonest = min((p.first_received + self.window for p in self._pending.values()), default=deadline)
                self._changed.wait(max(0.0, min(deadline, soonest) - now))

    def drop(self) -> dict[str, Pending]:
        """Everything pending, emptied (a full resync covers it)."""
        with self._changed:
            pending, self._pending = self._pending, {}
            return pending

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._pending)
