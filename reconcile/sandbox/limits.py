"""What the sandbox does to requests besides answering them: rate limits and injected faults."""

from __future__ import annotations

import random
import threading
import time
from enum import Enum


class RateLimiter:
    """A token bucket per account: `rate` requests a second, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._capacity = max(1.0, rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, time of last refill)
        self._lock = threading.Lock()

    def allow(self, account: str) -> bool:
        """Take one token from the account's bucket; False when it is empty (answer 429)."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(account, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[account] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


class Fault(Enum):
    """An injected failure: a 500 instead of running the endpoint, or a 500 after it committed."""

    BEFORE = "before"
    AFTER_COMMIT = "after_commit"


class Faults:
    """Draws which requests fail: `fail_rate` of them, half of the faulted POSTs after committing."""

    def __init__(self, fail_rate: float, seed: int | None = None) -> None:
        self.fail_rate = fail_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, method: str) -> Fault | None:
        """The fault for the next request, if any (reproducible in request order with a seed)."""
        if self.fail_rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.fail_rate:
                return None
            if method == "POST" and self._random.random() < 0.5:
                return Fault.AFTER_COMMIT
            return Fault.BEFORE
