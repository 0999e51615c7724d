"""token -> payment_method on a live platform: every copy rotated onto a clone in place, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import stripe

from tests.support import BOOKSHOP, COFFEE, Reconcile

BAKERY = "acct_1BakeryCCCCCCCCCC"
ACCOUNTS = (BOOKSHOP, COFFEE, BAKERY)
CUSTOMERS = 20


def platform_file(strategy: str) -> str:
    customers = "".join(
        f"  c{n:02d}: {{email: c{n:02d}@example.com, payment: {{source: tok_visa}}, accounts: ['*']}}\n"
        for n in range(CUSTOMERS)
    )
    return (
        f"version: 1\nowner: acme\nmode: test\nstrategy: {strategy}\n"
        f"accounts: {{bookshop: {BOOKSHOP}, coffee: {COFFEE}, bakery: {BAKERY}}}\n"
        f"customers:\n{customers}"
    )


def copies(client: stripe.StripeClient, account: str) -> dict[str, Any]:
    """The account's copies by customer key."""
    listed = client.v1.customers.list({"limit": 100}, {"stripe_account": account}).data
    return {copy.metadata["reconcile_key"]: copy for copy in listed}


def test_token_to_payment_method_rotates_every_copy_onto_a_clone_and_deletes_the_token_card(
    reconcile: Reconcile, write_file: Any, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    for account in ACCOUNTS:
        sandbox.add_account(account)
    path = write_file(platform_file("token"))
    made = reconcile("apply", path, "--auto-approve", "--max-rps", "1000")
    assert made.exit_code == 0, made.stdout + made.stderr
    before = {account: copies(stripe_client, account) for account in ACCOUNTS}
    for on_account in before.values():
        assert len(on_account) == CUSTOMERS
        assert all(c.default_source and c.invoice_settings.default_payment_method is None for c in on_account.values())

    write_file(platform_file("payment_method"))
    planned = json.loads(reconcile("plan", path, "--format", "json").stdout)
    assert planned["counts"]["rotate_source"] == CUSTOMERS * len(ACCOUNTS)
    assert {a["action"] for a in planned["actions"]} == {"rotate_source"}  # never a share or an unshare
    for action in planned["actions"]:
        copy = before[action["account_id"]][action["customer_key"]]
        assert action["object_id"] == copy.id
        assert action["changes"]["default_source"] == [copy.default_source, None]
    assert planned["unsafe"]  # every copy of every account changes: apply needs --force
    moved = reconcile("apply", path, "--auto-approve", "--force", "--max-rps", "1000")
    assert moved.exit_code == 0, moved.stdout + moved.stderr

    for account in ACCOUNTS:
        after = copies(stripe_client, account)
        assert {key: c.id for key, c in after.items()} == {key: c.id for key, c in before[account].items()}
        for copy in after.values():
            clone = copy.invoice_settings.default_payment_method
            assert clone
            assert clone.startswith("pm_")
            method = stripe_client.v1.payment_methods.retrieve(clone, {}, {"stripe_account": account})
            assert method.customer == copy.id
            assert copy.default_source is None
            sources = stripe_client.v1.customers.payment_sources.list(copy.id, {}, {"stripe_account": account})
            assert sources.data == []  # the token's card is gone
    again = reconcile("plan", path, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout
