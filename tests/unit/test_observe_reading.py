"""Reading lists in ranges of creation time: what readers that would idle take, and what it costs.

A stand-in serves lists as Stripe does (newest first, ``created`` filters, ``starting_after``) after a
short delay, so readers overlap; the HTTP path itself is covered by tests/integration/test_observe.py.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter

import pytest

from reconcile.errors import StripeApiError
from reconcile.gateway import ApiFailure
from reconcile.model import Customer, Fields
from reconcile.observe import read_customers
from reconcile.retry import RetryPolicy

PAGE = 100


class Lists:
    """Lists of customers by account, ``per_second`` created each second; pages answered after ``delay``
    (or after a random delay of up to that, drawn from ``jitter``)."""

    def __init__(
        self,
        sizes: dict[str | None, int],
        *,
        per_second: int | dict[str | None, int] = 7,
        delay: float = 0.002,
        jitter: random.Random | None = None,
    ) -> None:
        rates = per_second if isinstance(per_second, dict) else dict.fromkeys(sizes, per_second)
        self.lists = {
            account: [
                Customer(
                    id=f"cus_{account or 'P'}_{n:06d}", fields=Fields(), created=1_700_000_000 + n // rates[account]
                )
                for n in reversed(range(size))  # newest first
            ]
            for account, size in sizes.items()
        }
        self.delay = delay
        self.jitter = jitter
        self.pages: Counter[str | None] = Counter()
        self.lock = threading.Lock()
        self.failing: set[str | None] = set()

    def in_flight_for_ceiling(self) -> float:
        return math.inf  # no --max-rps: any reader more reads faster

    def customers_page(
        self,
        account: str | None,
        *,
        starting_after: str | None = None,
        created_gte: int | None = None,
        created_lt: int | None = None,
        cards: bool = False,
    ) -> tuple[list[Customer], bool]:
        with self.lock:
            self.pages[account] += 1
            delay = self.delay * self.jitter.random() if self.jitter else self.delay
        time.sleep(delay)
        if account in self.failing:
            raise ApiFailure(message="No such account", status=404)
        listed = self.lists[account]
        start = 0 if starting_after is None else [c.id for c in listed].index(starting_after) + 1
        left = [
            c
            for c in listed[start:]
            if (created_gte is None or c.created >= created_gte) and (created_lt is None or c.created < created_lt)
        ]
        return left[:PAGE], len(left) > PAGE


NAMES: dict[str | None, str] = {None: "the platform account", "acct_1": "account 'a'", "acct_2": "account 'b'"}


def fewest(lists: Lists) -> int:
    return sum(max(1, -(-len(listed) // PAGE)) for listed in lists.lists.values())


def test_readers_that_would_idle_split_a_long_list_and_every_customer_is_read_once_in_order() -> None:
    lists = Lists({None: 120, "acct_1": 5_000, "acct_2": 0})

    read = read_customers(lists, NAMES, concurrency=8, policy=RetryPolicy())

    assert {account: [c.id for c in customers] for account, customers in read.items()} == {
        account: [c.id for c in listed] for account, listed in lists.lists.items()
    }
    # The long list was read by several readers in ranges; each range costs at most one page more.
    assert lists.pages["acct_1"] > fewest(Lists({"acct_1": 5_000}))
    assert sum(lists.pages.values()) <= fewest(lists) + 8 * 4


@pytest.mark.parametrize("seed", range(25))
def test_lists_of_every_shape_are_read_whole_whatever_the_readers_do(seed: int) -> None:
    rng = random.Random(seed)
    accounts: list[str | None] = [None, *(f"acct_{n}" for n in range(rng.randint(0, 4)))]
    sizes = {account: rng.choice([0, 1, 99, 100, 101, 250, 1_500, 4_000]) for account in accounts}
    # From one customer a second to hundreds in one second, as a bulk import makes them.
    rates = {account: rng.choice([1, 3, 50, 400, 5_000]) for account in accounts}
    lists = Lists(sizes, per_second=rates, delay=0.003, jitter=rng)
    names = {account: f"list {account}" for account in accounts}

    read = read_customers(lists, names, concurrency=rng.choice([1, 2, 6, 16]), policy=RetryPolicy())

    assert {a: [c.id for c in customers] for a, customers in read.items()} == {
        a: [c.id for c in listed] for a, listed in lists.lists.items()
    }


def test_one_reader_reads_each_list_in_the_fewest_pages() -> None:
    lists = Lists({None: 120, "acct_1": 1_000, "acct_2": 0})

    read = read_customers(lists, NAMES, concurrency=1, policy=RetryPolicy())

    assert sum(len(customers) for customers in read.values()) == 1_120
    assert sum(lists.pages.values()) == fewest(lists) == 2 + 10 + 1


def test_customers_created_in_one_second_stay_with_one_reader() -> None:
    # A range is cut by creation time: a second cannot be split, whatever the readers.
    lists = Lists({"acct_1": 1_000}, per_second=1_000)

    read = read_customers(lists, {"acct_1": "account 'a'"}, concurrency=8, policy=RetryPolicy())

    assert [c.id for c in read["acct_1"]] == [c.id for c in lists.lists["acct_1"]]


def test_a_list_that_fails_names_its_account_and_the_others_stop() -> None:
    lists = Lists({None: 3_000, "acct_1": 3_000, "acct_2": 10})
    lists.failing.add("acct_2")

    with pytest.raises(StripeApiError, match="account 'b' is not reachable"):
        read_customers(lists, NAMES, concurrency=4, policy=RetryPolicy(attempts=1))

    assert sum(lists.pages.values()) < fewest(lists)
