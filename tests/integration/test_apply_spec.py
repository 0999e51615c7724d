"""What the tool sends passes Stripe's published spec: plan and apply through spec-proxy, no violations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import stripe

from tests.support import BOOKSHOP, MARKETPLACE, Reconcile

LATER = MARKETPLACE.replace("accounts: [coffee]", "accounts: [bookshop]").replace("Alice Liddell", "Alice L.")


def test_every_request_of_a_plan_apply_cycle_passes_the_spec(
    reconcile: Reconcile,
    write_file: Any,
    accounts: Any,
    proxy: tuple[str, Path],
    stripe_client: stripe.StripeClient,
) -> None:
    url, report = proxy
    through_proxy = {"STRIPE_API_BASE": url}
    first = write_file(MARKETPLACE)

    assert reconcile("plan", first, env=through_proxy).exit_code == 0
    assert reconcile("apply", first, "--auto-approve", env=through_proxy).exit_code == 0
    # Drift on a copy, a changed name, a moved customer (share, update_share, unshare with --prune).
    copy = next(
        c
        for c in stripe_client.v1.customers.list({"limit": 10}, {"stripe_account": BOOKSHOP}).data
        if c.metadata["reconcile_key"] == "alice"
    )
    stripe_client.v1.customers.update(copy.id, {"phone": "+15555550199"}, {"stripe_account": BOOKSHOP})
    later = write_file(LATER, "later.yaml")
    result = reconcile("apply", later, "--auto-approve", "--prune", env=through_proxy)
    assert result.exit_code == 0, result.stderr
    assert "unshare bob @ coffee" in result.stdout

    exchanges = [json.loads(line) for line in report.read_text().splitlines()]
    operations = {f"{e['method']} {e['template']}" for e in exchanges}
    assert operations == {
        "GET /v1/customers",
        "POST /v1/customers",
        "POST /v1/tokens",
        "POST /v1/customers/{customer}",
        "DELETE /v1/customers/{customer}",
    }
    assert [e for e in exchanges if e["violations"]] == []


def test_payment_method_strategy_requests_pass_the_spec(
    reconcile: Reconcile,
    write_file: Any,
    accounts: Any,
    proxy: tuple[str, Path],
    stripe_client: stripe.StripeClient,
) -> None:
    url, report = proxy
    path = write_file(MARKETPLACE.replace("mode: test\n", "mode: test\nstrategy: payment_method\n"))
    assert reconcile("apply", path, "--auto-approve", env={"STRIPE_API_BASE": url}).exit_code == 0
    alice = next(c for c in stripe_client.v1.customers.list().data if c.metadata["reconcile_key"] == "alice")
    stripe_client.v1.customers.update(alice.id, {"source": "tok_amex"})  # a new card: copies rotate
    assert reconcile("apply", path, "--auto-approve", env={"STRIPE_API_BASE": url}).exit_code == 0

    exchanges = [json.loads(line) for line in report.read_text().splitlines()]
    assert {f"{e['method']} {e['template']}" for e in exchanges} == {
        "GET /v1/customers",
        "POST /v1/customers",
        "POST /v1/payment_methods",
        "POST /v1/payment_methods/{payment_method}/attach",
        "POST /v1/payment_methods/{payment_method}/detach",
        "POST /v1/customers/{customer}",
    }
    assert [e for e in exchanges if e["violations"]] == []


DETAILED = MARKETPLACE.replace(
    "    metadata: {tier: gold}\n",
    "    metadata: {tier: gold}\n"
    "    address: {line1: 1 Rabbit Hole, city: Oxford, postal_code: OX1 1AA, country: GB}\n"
    "    shipping: {name: Alice Liddell, phone: '+15555550100', address: {city: Oxford, country: GB}}\n"
    "    preferred_locales: [en-GB, fr]\n"
    "    tax_exempt: exempt\n",
)
CLEARED = MARKETPLACE.replace("mode: test\n", "mode: test\nstrategy: payment_method\n").replace(
    "    metadata: {tier: gold}\n",
    "    metadata: {tier: gold}\n    address: {}\n    shipping: {}\n    preferred_locales: []\n    tax_exempt: none\n",
)


def test_details_their_repair_clearing_and_a_move_to_payment_method_pass_the_spec(
    reconcile: Reconcile,
    write_file: Any,
    accounts: Any,
    proxy: tuple[str, Path],
    stripe_client: stripe.StripeClient,
) -> None:
    url, report = proxy
    through_proxy = {"STRIPE_API_BASE": url}
    path = write_file(DETAILED)
    assert reconcile("apply", path, "--auto-approve", env=through_proxy).exit_code == 0
    copy = next(
        c
        for c in stripe_client.v1.customers.list({"limit": 10}, {"stripe_account": BOOKSHOP}).data
        if c.metadata["reconcile_key"] == "alice"
    )
    drifted = {"line1": "1 Rabbit Hole", "city": "London", "country": "GB"}
    stripe_client.v1.customers.update(copy.id, {"address": drifted}, {"stripe_account": BOOKSHOP})
    assert reconcile("apply", path, "--auto-approve", env=through_proxy).exit_code == 0  # address sent whole
    write_file(CLEARED)  # every detail cleared, and every token copy moved onto a clone
    result = reconcile("apply", path, "--auto-approve", "--force", env=through_proxy)
    assert result.exit_code == 0, result.stdout + result.stderr

    exchanges = [json.loads(line) for line in report.read_text().splitlines()]
    assert "DELETE /v1/customers/{customer}/sources/{id}" in {f"{e['method']} {e['template']}" for e in exchanges}
    assert [e for e in exchanges if e["violations"]] == []
