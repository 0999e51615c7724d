"""One pager serves every list read: page after page, each page retried on its own, read only when needed."""

from __future__ import annotations

import threading

from reconcile.gateway import ApiFailure
from reconcile.model import Customer, Fields
from reconcile.paging import every, pages
from reconcile.retry import RetryPolicy

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter=lambda: 0.0)
RATE_LIMITED = ApiFailure("Too many requests", status=429, code="rate_limit")


class Listing:
    """A list served in pages of two; ``failures`` answers a page's first read with an error."""

    def __init__(self, count: int, *, failures: dict[str | None, ApiFailure] | None = None) -> None:
        self.items = [Customer(id=f"cus_{i}", fields=Fields()) for i in range(count)]
        self.failures = dict(failures or {})
        self.reads: list[str | None] = []

    def page(self, after: str | None) -> tuple[list[Customer], bool]:
        self.reads.append(after)
        if after in self.failures:
            raise self.failures.pop(after)
        start = 0 if after is None else next(i for i, c in enumerate(self.items) if c.id == after) + 1
        return self.items[start : start + 2], start + 2 < len(self.items)


def test_every_item_is_read_page_after_page() -> None:
    listing = Listing(5)
    assert [c.id for c in every(listing.page, NO_SLEEP)] == ["cus_0", "cus_1", "cus_2", "cus_3", "cus_4"]
    assert listing.reads == [None, "cus_1", "cus_3"]


def test_a_failed_page_is_read_again_without_reading_the_earlier_ones_again() -> None:
    listing = Listing(4, failures={"cus_1": RATE_LIMITED})
    assert len(every(listing.page, NO_SLEEP)) == 4
    assert listing.reads == [None, "cus_1", "cus_1"]


def test_the_next_page_is_read_only_when_asked_for() -> None:
    listing = Listing(6)
    first, more = next(pages(listing.page, NO_SLEEP))
    assert ([c.id for c in first], more) == (["cus_0", "cus_1"], True)
    assert listing.reads == [None]


def test_a_stopped_list_reads_no_further_page() -> None:
    listing = Listing(6)
    stopped = threading.Event()
    reading = pages(listing.page, NO_SLEEP, stopped=stopped)
    next(reading)
    stopped.set()
    assert next(reading, None) is None
    assert listing.reads == [None]


def test_an_empty_page_ends_the_list_even_if_more_is_claimed() -> None:
    reads: list[str | None] = []

    def page(after: str | None) -> tuple[list[Customer], bool]:
        reads.append(after)
        return [], True

    assert every(page, NO_SLEEP) == ()
    assert reads == [None]
