"""Adopting existing platform customers, and sharing by cloning PaymentMethods, against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from tests.support import BOOKSHOP, COFFEE, Reconcile, writes


def test_adopted_customer_keeps_its_card_and_undeclared_fields(
    reconcile: Reconcile, write_file: Any, accounts: Any, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    existing = stripe_client.v1.customers.create(
        {"email": "bob@example.com", "name": "Bob", "source": "tok_mastercard", "metadata": {"crm": "42"}}
    )
    path = write_file(
        f"""\
        version: 1
        owner: acme
        mode: test
        accounts: {{coffee: {COFFEE}, bookshop: {BOOKSHOP}}}
        customers:
          bob:
            id: {existing.id}
            description: Adopted from the CRM
            accounts: [coffee]
        """
    )
    sandbox.reset_stats()
    result = reconcile("apply", path, "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    # Ownership keys and the declared description in one update; the share is a token and a customer.
    assert writes(sandbox.stats()) == {
        "POST /v1/customers/{customer}": 1,
        "POST /v1/tokens": 1,
        "POST /v1/customers": 1,
    }

    adopted = stripe_client.v1.customers.retrieve(existing.id)
    assert adopted.default_source == existing.default_source  # it keeps its payment source
    assert adopted.metadata.to_dict() == {"crm": "42", "reconcile_owner": "acme", "reconcile_key": "bob"}
    assert (adopted.email, adopted.name, adopted.description) == ("bob@example.com", "Bob", "Adopted from the CRM")
    (copy,) = stripe_client.v1.customers.list({}, {"stripe_account": COFFEE}).data
    assert (copy.email, copy.name, copy.description) == ("bob@example.com", "Bob", "Adopted from the CRM")
    assert copy.metadata["crm"] == "42"
    assert copy.metadata["reconcile_source"] == existing.default_source

    # A field the file leaves out is never planned, even when it changes on the platform.
    stripe_client.v1.customers.update(existing.id, {"name": "Robert"})
    planned = reconcile("plan", path, "--detailed-exitcode", "--format", "json")
    assert planned.exit_code == 2
    (action,) = json.loads(planned.stdout)["actions"]  # no update_customer: name is not declared
    assert (action["action"], action["changes"]) == ("update_share", {"name": ["Bob", "Robert"]})


def test_payment_method_strategy_shares_a_clone_of_the_card(
    reconcile: Reconcile, write_file: Any, accounts: Any, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    path = write_file(
        f"""\
        version: 1
        owner: acme
        mode: test
        strategy: payment_method
        accounts: {{bookshop: {BOOKSHOP}}}
        customers:
          alice:
            email: alice@example.com
            payment: {{source: tok_visa}}
            accounts: [bookshop]
        """
    )
    sandbox.reset_stats()
    result = reconcile("apply", path, "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert writes(sandbox.stats()) == {"POST /v1/customers": 2, "POST /v1/payment_methods": 1}

    (platform,) = stripe_client.v1.customers.list({"expand": ["data.default_source"]}).data
    (copy,) = stripe_client.v1.customers.list(
        {"expand": ["data.invoice_settings.default_payment_method"]}, {"stripe_account": BOOKSHOP}
    ).data
    clone = copy.invoice_settings.default_payment_method
    assert clone.id.startswith("pm_")
    assert clone.customer == copy.id
    assert (clone.card.last4, clone.card.fingerprint) == (
        platform.default_source.last4,
        platform.default_source.fingerprint,
    )
    assert copy.metadata["reconcile_source"] == platform.default_source.id
    assert reconcile("plan", path, "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize(
    ("strategy", "writes_per_copy"),
    [
        ("token", {"POST /v1/tokens": 1, "POST /v1/customers/{customer}": 1}),
        (
            "payment_method",
            {
                "POST /v1/payment_methods": 1,
                "POST /v1/payment_methods/{payment_method}/attach": 1,
                "POST /v1/customers/{customer}": 1,
                "POST /v1/payment_methods/{payment_method}/detach": 1,  # the old clone: one card, as with tokens
            },
        ),
    ],
)
def test_new_platform_card_rotates_every_copy(
    strategy: str,
    writes_per_copy: dict[str, int],
    reconcile: Reconcile,
    write_file: Any,
    accounts: Any,
    sandbox: Any,
    stripe_client: stripe.StripeClient,
) -> None:
    path = write_file(
        f"""\
        version: 1
        owner: acme
        mode: test
        strategy: {strategy}
        accounts: {{bookshop: {BOOKSHOP}, coffee: {COFFEE}}}
        customers:
          alice:
            email: alice@example.com
            payment: {{source: tok_visa}}
            accounts: ["*"]
        """
    )
    assert reconcile("apply", path, "--auto-approve").exit_code == 0
    (platform,) = stripe_client.v1.customers.list().data
    before = {
        account: stripe_client.v1.customers.list({}, {"stripe_account": account}).data[0]
        for account in (BOOKSHOP, COFFEE)
    }
    renewed = stripe_client.v1.customers.update(platform.id, {"source": "tok_mastercard", "expand": ["default_source"]})

    planned = reconcile("plan", path, "--format", "json")
    kinds = [(a["action"], a["account"]) for a in json.loads(planned.stdout)["actions"]]
    assert kinds == [("rotate_source", "bookshop"), ("rotate_source", "coffee")]
    sandbox.reset_stats()
    result = reconcile("apply", path, "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert writes(sandbox.stats()) == {op: 2 * n for op, n in writes_per_copy.items()}

    for account in (BOOKSHOP, COFFEE):
        (copy,) = stripe_client.v1.customers.list(
            {"expand": ["data.default_source", "data.invoice_settings.default_payment_method"]},
            {"stripe_account": account},
        ).data
        card = copy.default_source if strategy == "token" else copy.invoice_settings.default_payment_method.card
        assert (card.fingerprint, card.last4) == (renewed.default_source.fingerprint, renewed.default_source.last4)
        assert copy.metadata["reconcile_source"] == renewed.default_source.id
        if strategy == "payment_method":
            methods = stripe_client.v1.customers.payment_methods.list(copy.id, {}, {"stripe_account": account}).data
            assert [m.id for m in methods] == [copy.invoice_settings.default_payment_method.id]
            old = before[account].invoice_settings.default_payment_method
            assert stripe_client.v1.payment_methods.retrieve(old, {}, {"stripe_account": account}).customer is None
    assert reconcile("plan", path, "--detailed-exitcode").exit_code == 0
