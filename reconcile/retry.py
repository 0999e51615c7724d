"""Backoff with jitter for 429s, conflicts, connection errors and (for reads) 5xx answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconcile.gateway import ApiFailure

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5  # seconds; doubled per attempt, full jitter
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): spreads concurrent retries over the whole window."""
        cap = min(self.max_delay, self.base_delay * 2**attempt)
        return float(cap * (0.5 + self.jitter() / 2))


def is_transient(failure: ApiFailure, *, server_errors: bool) -> bool:
    """Whether trying the same request again can succeed; Stripe-Should-Retry has the last word."""
    if failure.replayed:
        return False  # the answer stored under this idempotency key: the same key gets it again, forever
    if failure.should_retry is not None:
        return failure.should_retry
    if failure.status is None or failure.status in (409, 429):
        return True
    return server_errors and failure.status >= 500


def with_retries(call: Callable[[], T], policy: RetryPolicy, *, server_errors: bool = True) -> T:
    """Run ``call``, retrying transient failures; ``server_errors=False`` leaves 5xx to the caller."""
    attempt = 0
    while True:
        try:
            return call()
        except ApiFailure as failure:
            if attempt + 1 >= policy.attempts or not is_transient(failure, server_errors=server_errors):
                raise
            policy.sleep(policy.delay(attempt))
            attempt += 1
