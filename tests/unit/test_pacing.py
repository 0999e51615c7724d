"""The pacer: one request per 1/rate seconds across threads; an urgent request goes ahead of the queue."""

from __future__ import annotations

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


def test_grants_are_spaced_by_the_interval_across_threads() -> None:
    pacer = Pacer(rate=50)
    stamps: list[float] = []
    lock = threading.Lock()

    def request() -> None:
        pacer.wait()
        with lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    gaps = [later - earlier for earlier, later in zip(sorted(stamps), sorted(stamps)[1:], strict=False)]
    # A lower bound only: a busy machine can make gaps longer, never shorter than 1/rate.
    assert min(gaps) >= 0.02 * 0.9


def test_no_rate_means_no_queue() -> None:
    pacer = Pacer(rate=0)
    for _ in range(1000):
        pacer.wait()
    assert not pacer._queue
