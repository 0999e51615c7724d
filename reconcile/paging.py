"""Every list read, page after page (stripe-python's ``auto_paging_iter``), each page retried on its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol, TypeVar

from reconcile.gateway import CustomerPages, Gateway
from reconcile.model import ConnectedAccount, Customer
from reconcile.retry import RetryPolicy, with_retries


class _Listed(Protocol):
    @property
    def id(self) -> str: ...


L = TypeVar("L", bound=_Listed)

# Reads one page: starting_after (None: the first page) -> (its items, whether more follow).
Page = Callable[[str | None], tuple[list[L], bool]]


def pages(
    page: Page[L], policy: RetryPolicy, *, stopped: threading.Event | None = None
) -> Iterator[tuple[list[L], bool]]:
    """Each page of a list (Stripe lists newest first) and whether more follow.

    The next page is read only when asked for, and none once ``stopped`` is set.
    """
    after: str | None = None
    while stopped is None or not stopped.is_set():
        items, more = with_retries(partial(page, after), policy)
        more = more and bool(items)  # an empty page ends a list, whatever has_more says
        yield items, more
        if not more:
            return
        after = items[-1].id


def every(page: Page[L], policy: RetryPolicy) -> tuple[L, ...]:
    """Every item of a list."""
    return tuple(item for items, _ in pages(page, policy) for item in items)


def customer_pages(gateway: CustomerPages, account: str | None, *, created_gte: int | None = None) -> Page[Customer]:
    """The pages of an account's customers (the platform's: ``account`` None), created since ``created_gte``."""
    return lambda after: gateway.customers_page(account, starting_after=after, created_gte=created_gte)


def account_pages(gateway: Gateway) -> Page[ConnectedAccount]:
    """The pages of the platform's connected accounts."""
    return lambda after: gateway.accounts_page(starting_after=after)
