"""Observing reads each list whole, in the fewest pages Stripe's page size allows, over HTTP through the SDK."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import stripe

from reconcile.errors import StripeApiError
from reconcile.gateway import Gateway
from reconcile.observe import snapshot
from tests.support import operations

OWNER = "acme"


def _made(stripe_client: stripe.StripeClient, account: str | None, count: int) -> set[str]:
    """``count`` customers of ours on ``account`` (None: the platform); their ids."""
    options: dict[str, Any] = {"stripe_account": account} if account else {}

    def make(n: int) -> str:
        params: dict[str, Any] = {"email": f"c{n}@example.com", "metadata": {"reconcile_owner": OWNER}}
        return stripe_client.v1.customers.create(params, options).id  # type: ignore[arg-type]

    with ThreadPoolExecutor(8) as pool:
        return set(pool.map(make, range(count)))


def test_observing_reads_every_customer_once_in_the_fewest_pages(
    sandbox: Any, stripe_client: stripe.StripeClient, make_account: Callable[..., str], api_key: str
) -> None:
    # 200 fills two pages exactly: Stripe says has_more: false on the second, so no third is read.
    counts = {None: 200, make_account(): 150, make_account(): 100, make_account(): 0}
    made = {account: _made(stripe_client, account, count) for account, count in counts.items()}
    before = sandbox.stats()
    gateway = Gateway(api_key, api_base=sandbox.url, max_rps=20)  # plan's default in test mode

    observed = snapshot(gateway, owner=OWNER, accounts={f"a{n}": a for n, a in enumerate(counts) if a}, concurrency=10)

    assert {c.id for c in observed.platform} == made[None]
    for account, ids in made.items():
        if account is not None:
            listed = [c.id for c in observed.accounts[account]]
            assert sorted(listed) == sorted(ids)  # each once
    fewest = 2 + 2 + 1 + 1
    assert gateway.requests == {"GET": fewest}
    assert operations(sandbox.stats(), "GET /v1/customers") - operations(before, "GET /v1/customers") == fewest


def test_an_account_that_is_not_connected_fails_by_its_alias(
    sandbox: Any, make_account: Callable[..., str], api_key: str
) -> None:
    gateway = Gateway(api_key, api_base=sandbox.url)
    accounts = {"shop": make_account(), "gone": "acct_1NotConnected0000"}

    with pytest.raises(StripeApiError, match=r"account 'gone' \(acct_1NotConnected0000\) is not reachable"):
        snapshot(gateway, owner=OWNER, accounts=accounts)
