"""Request counters behind `GET /_sandbox/stats`."""

from __future__ import annotations

import threading
import time
from collections import Counter

PLATFORM = "platform"


class Stats:
    """Counts of API requests by operation, account and status, plus 429s, faults and idempotency events.

    Every request to an API path is counted once, when its answer is sent, whatever the answer:
    401s, 403s, 404s for unknown URLs, 429s, injected 500s and idempotent replays included.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0  # idempotency keys being executed right now (a gauge, not reset)
        self.reset()

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._since = time.time()
            self._total = 0
            self._requests: Counter[str] = Counter()
            self._by_account: dict[str, Counter[str]] = {}
            self._by_status: Counter[str] = Counter()
            self._events: Counter[str] = Counter()

    def record(self, operation: str, account: str | None, status: int, *events: str) -> None:
        """Count one answered request; `account` is None when the request was not authenticated."""
        with self._lock:
            self._total += 1
            self._requests[operation] += 1
            if account is not None:
                self._by_account.setdefault(account, Counter())[operation] += 1
            self._by_status[str(status)] += 1
            for event in events:
                self._events[event] += 1

    def key_started(self) -> None:
        """An idempotent request took its key."""
        with self._lock:
            self._in_flight += 1

    def key_finished(self) -> None:
        """An idempotent request released its key."""
        with self._lock:
            self._in_flight -= 1

    def snapshot(self) -> dict[str, object]:
        """The counters as the JSON document `GET /_sandbox/stats` returns."""
        with self._lock:
            return {
                "total": self._total,
                "requests": dict(sorted(self._requests.items())),
                "by_account": {
                    account: dict(sorted(counts.items())) for account, counts in sorted(self._by_account.items())
                },
                "by_status": dict(sorted(self._by_status.items())),
                "rate_limited": self._events["rate_limited"],
                "faults": self._events["fault"],
                "unauthorized": self._by_status["401"],
                "idempotency": {
                    "replayed": self._events["replayed"],
                    "mismatched": self._events["mismatched"],
                    "conflicts": self._events["conflict"],
                    "in_flight": self._in_flight,
                },
                "since": int(self._since),
            }
