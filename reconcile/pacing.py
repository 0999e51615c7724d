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
    burst ever goes over the rate, and an idle spell does not save up requests for later.
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
                    self._next = max(now, self._next) + self._interval
                    self._turn.notify_all()  # the next in line starts its own wait
                    return
