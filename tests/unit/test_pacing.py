"""The pacer: one request per 1/rate seconds across threads; an urgent request goes ahead of the queue."""

from __future__ import annotations

import itertools
import threading
import time

from reconcile.pacing import Pacer


def queued(pacer: Pacer, count: int) -> None:
    """Wait until ``count`` requests are queued (the order of arrival is then fixed)."""
    deadline = time.monotonic() + 5
    while len(pacer._queue) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(pacer._queue) == count


def test_an_urgent_request_is_granted_before_those_already_waiting() -> None:
    pacer = Pacer(rate=10)
    pacer.wait()  # takes the first slot: everyone after this waits
    granted: list[str] = []

    def request(name: str, urgent: bool = False) -> None:
        pacer.wait(urgent=urgent)
        granted.append(name)

    threads = []
    for index, name in enumerate(["first", "second", "third"]):
        threads.append(threading.Thread(target=request, args=(name,)))
        threads[-1].start()
        queued(pacer, index + 1)
    threads.append(threading.Thread(target=request, args=("token spender", True)))
    threads[-1].start()
    for thread in threads:
        thread.join(timeout=10)
    assert granted[0] in ("first", "token spender")  # "first" may already hold the next slot
    assert granted.index("token spender") <= 1
    assert [name for name in granted if name != "token spender"] == ["first", "second", "third"]


def test_grants_keep_to_the_rate_across_threads_and_never_bunch() -> None:
    pacer = Pacer(rate=50)
    stamps: list[float] = []
    lock = threading.Lock()

    def request() -> None:
        for _ in range(6):
            pacer.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    stamps.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    # Lower bounds only: a busy machine can make gaps longer, never shorter. A late grant may be
    # followed by one sooner than 1/rate (the grid holds the rate), but never sooner than half that.
    assert min(gaps) >= 0.01 * 0.9
    assert max(sum(1 for later in stamps if first <= later < first + 1) for first in stamps) <= 50 + 1


def test_no_rate_means_no_queue() -> None:
    pacer = Pacer(rate=0)
    for _ in range(1000):
        pacer.wait()
    assert not pacer._queue
