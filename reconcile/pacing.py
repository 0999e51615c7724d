"""Requests spaced evenly under --max-rps across every thread, urgent ones first."""

from __future__ import annotations

import heapq
import itertools
import threading
import time


class Pacer:
    """Grants one request every ``1/rate`` seconds (0: no limit); an urgent request goes ahead of the queue.

    Urgent is the request that spends a token made a moment ago: tokens expire, and one queued
    behind every other thread's requests might not survive the wait. Spacing, not a bucket: no
    burst goes over the rate, and an idle spell does not save up requests for later.

    Slots keep to a grid while requests wait: a woken thread always takes its slot a little late
    (the scheduler, the GIL), and spacing from each actual grant lost about 5 % of the rate to that.
    A grant is never nearer than half a slot to the one before, so any second holds at most
    ``rate + 1`` grants.
    """

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0  # monotonic time of the next free slot
        self._queue: list[tuple[int, int]] = []  # (0 urgent | 1 normal, arrival): who goes next
        self._arrivals = itertools.count()
        self._turn = threading.Condition()

    def wait(self, *, urgent: bool = False) -> None:
        """Return when this request may be sent."""
        if not self._interval:
            return
        ticket = (0 if urgent else 1, next(self._arrivals))
        with self._turn:
            heapq.heappush(self._queue, ticket)
            while True:
                now = time.monotonic()
                if self._queue[0] != ticket:
                    self._turn.wait()
                elif now < self._next:
                    self._turn.wait(self._next - now)
                else:
                    heapq.heappop(self._queue)
                    on_grid = now - self._next < self._interval  # late by less than a slot, not idle
                    self._next = (self._next if on_grid else now) + self._interval
                    self._next = max(self._next, now + self._interval / 2)
                    self._turn.notify_all()  # the next in line starts its own wait
                    return
