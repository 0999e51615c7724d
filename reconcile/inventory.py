"""gateway -> Inventory: everything live that ``reconcile import`` describes, read with list pages.

It costs one ``GET /v1/accounts/{id}`` per account named (which also refuses an unknown one before
anything else is read), or the pages of ``GET /v1/accounts`` when none is named; then the pages of
the platform's customers and of each account's customers, 100 to a page, read as ``observe`` reads
them (concurrently, under the pacer, with each card, since import matches copies by card).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from reconcile.gateway import ApiFailure, Gateway
from reconcile.model import ConnectedAccount, Customer
from reconcile.observe import PLATFORM, describe_failure, read_customers
from reconcile.paging import account_pages, every
from reconcile.retry import RetryPolicy, with_retries

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """One snapshot of a platform: its customers, its connected accounts and their customers."""

    platform: tuple[Customer, ...]  # every platform customer, whoever owns it
    accounts: tuple[ConnectedAccount, ...]  # in the order named (or listed)
    customers: Mapping[str, tuple[Customer, ...]]  # acct_ id -> every customer on that account


def take_inventory(
    gateway: Gateway,
    account_ids: Sequence[str] | None = None,
    *,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
) -> Inventory:
    """Read the platform and the named accounts (every connected account when ``account_ids`` is None)."""
    policy = policy or RetryPolicy()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        if account_ids is None:
            listed = pool.submit(every, account_pages(gateway), policy)
            accounts = _result(listed, "the platform account")
        else:
            jobs = [pool.submit(with_retries, partial(gateway.retrieve_account, a), policy) for a in account_ids]
            accounts = tuple(_result(job, f"account {a}") for a, job in zip(account_ids, jobs, strict=True))
    names = {None: PLATFORM} | {a.id: f"account {a.id}" for a in accounts}
    lists = read_customers(gateway, names, concurrency=concurrency, policy=policy, cards=True)
    return Inventory(platform=lists[None], accounts=accounts, customers={a.id: lists[a.id] for a in accounts})


def _result(job: Future[T], where: str) -> T:
    try:
        return job.result()
    except ApiFailure as failure:
        raise describe_failure(failure, where) from None
