"""gateway -> ObservedState: one snapshot of everything the plan depends on.

Observing costs the minimum number of calls: the platform's customers and each named
account's customers, every page at Stripe's largest page size, and nothing per customer.
The accounts are read concurrently; the gateway's pacer keeps the whole under --max-rps.
A missing or unconnected account shows up as the failure of its first list call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from reconcile.errors import ReconcileError, StripeApiError
from reconcile.gateway import ApiFailure, Gateway
from reconcile.model import Customer, DesiredState, ObservedState
from reconcile.retry import RetryPolicy, with_retries


def observe(
    gateway: Gateway,
    desired: DesiredState,
    *,
    aliases: Iterable[str] | None = None,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
) -> ObservedState:
    """Read the platform customers that are ours or adopted, and every customer on each account."""
    scope = sorted(aliases if aliases is not None else desired.accounts)
    return snapshot(
        gateway,
        owner=desired.owner,
        accounts={alias: desired.accounts[alias] for alias in scope},
        adopted={c.id for c in desired.customers if c.id},
        concurrency=concurrency,
        policy=policy,
    )


def snapshot(
    gateway: Gateway,
    *,
    owner: str,
    accounts: Mapping[str, str],
    adopted: Iterable[str] = (),
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
) -> ObservedState:
    """Observe the platform (customers of ``owner``, or ``adopted``) and the accounts (alias -> id)."""
    policy = policy or RetryPolicy()
    adopted = set(adopted)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(accounts) + 1))) as pool:
        platform_job = pool.submit(_list_all, gateway, None, policy)
        account_jobs = {
            alias: pool.submit(_list_all, gateway, account_id, policy) for alias, account_id in accounts.items()
        }
        platform = _result(platform_job, "the platform account")
        observed = {
            accounts[alias]: _result(job, f"account '{alias}' ({accounts[alias]})")
            for alias, job in account_jobs.items()
        }
    relevant = tuple(c for c in platform if c.owner == owner or c.id in adopted)
    return ObservedState(platform=relevant, accounts=observed)


def _list_all(gateway: Gateway, account: str | None, policy: RetryPolicy) -> tuple[Customer, ...]:
    customers: list[Customer] = []
    after: str | None = None
    while True:
        page, more = with_retries(partial(gateway.customers_page, account, starting_after=after), policy)
        customers.extend(page)
        if not more or not page:
            return tuple(customers)
        after = page[-1].id


def _result(job: Future[tuple[Customer, ...]], where: str) -> tuple[Customer, ...]:
    try:
        return job.result()
    except ApiFailure as failure:
        raise describe_failure(failure, where) from None


def describe_failure(failure: ApiFailure, where: str) -> ReconcileError:
    """A one-line error for a failed read, naming the account; never the key."""
    if failure.status == 401:
        return StripeApiError(
            "Stripe rejected the API key (401: invalid or revoked key)",
            request_id=failure.request_id,
            status=401,
        )
    if failure.status in (400, 403, 404) and where != "the platform account":
        return StripeApiError(
            f"{where} is not reachable: it does not exist or is not connected to this platform "
            f"(Stripe said: {failure.message})",
            request_id=failure.request_id,
            status=failure.status,
        )
    status = f"HTTP {failure.status}" if failure.status else "no answer"
    return StripeApiError(
        f"reading {where} failed ({status}): {failure.message}",
        request_id=failure.request_id,
        status=failure.status,
    )
