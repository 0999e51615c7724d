"""Adopting an existing platform: `reconcile import`, then plan and apply --adopt-by, over real HTTP.

The platform is made by hand through the SDK, as a marketplace would have made it before the tool:
customers with cards, and copies on the sellers' accounts made from customer tokens (same card fingerprint).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe
import yaml

from reconcile import config
from tests.support import Reconcile, lines, writes


@dataclass(frozen=True)
class Platform:
    """What the marketplace made by hand: accounts and customers by name."""

    bookshop: str
    coffee: str
    customers: dict[str, Any]  # name -> platform customer
    copies: dict[tuple[str, str], Any]  # (name, account id) -> its copy there
    walk_in: Any  # a customer the bookshop made itself: nobody's copy


def on(account: str) -> Any:
    return {"stripe_account": account}


def every_customer(client: stripe.StripeClient, account: str | None = None) -> dict[str, Any]:
    page = client.v1.customers.list({"limit": 100}, on(account) if account else {})
    return {c.id: c for c in page.data}


def share_by_hand(client: stripe.StripeClient, customer: Any, account: str, **fields: Any) -> Any:
    token = client.v1.tokens.create({"customer": customer.id}, on(account))
    params = {"email": customer.email, "name": customer.name, "source": token.id, **fields}
    return client.v1.customers.create(params, on(account))


def make_platform(client: stripe.StripeClient, cards: dict[str, str], shares: dict[str, list[str]]) -> Platform:
    bookshop = client.v1.accounts.create({"type": "standard", "business_profile": {"name": "Bookshop"}}).id
    coffee = client.v1.accounts.create({"type": "standard", "business_profile": {"name": "Coffee"}}).id
    accounts = {"bookshop": bookshop, "coffee": coffee}
    customers = {
        name: client.v1.customers.create({"email": f"{name}@example.com", "name": name.title(), "source": card})
        for name, card in cards.items()
    }
    copies = {
        (name, accounts[alias]): share_by_hand(client, customers[name], accounts[alias])
        for name, aliases in shares.items()
        for alias in aliases
    }
    walk_in = client.v1.customers.create({"email": "walk-in@example.com", "source": "tok_discover"}, on(bookshop))
    return Platform(bookshop, coffee, customers, copies, walk_in)


@pytest.fixture
def platform(stripe_client: stripe.StripeClient) -> Platform:
    """alice and bob shared by hand (bob only with coffee); carol never shared."""
    return make_platform(
        stripe_client,
        cards={"alice": "tok_visa", "bob": "tok_mastercard", "carol": "tok_amex"},
        shares={"alice": ["bookshop", "coffee"], "bob": ["coffee"]},
    )


def imported(reconcile: Reconcile, out: Path, *args: str) -> Any:
    result = reconcile("import", "--out", out, *args)
    assert result.exit_code == 0, result.stderr
    return result


def test_import_writes_a_valid_file_naming_each_shared_customer_by_id(
    reconcile: Reconcile, platform: Platform, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    result = imported(reconcile, out)

    assert reconcile("validate", out).exit_code == 0
    desired = config.load(out)
    assert (desired.owner, desired.mode.value) == ("imported", "test")
    assert dict(desired.accounts) == {"bookshop": platform.bookshop, "coffee": platform.coffee}
    assert {c.key: (c.id, [s.alias for s in c.shares]) for c in desired.customers} == {
        "alice": (platform.customers["alice"].id, ["bookshop", "coffee"]),
        "bob": (platform.customers["bob"].id, ["coffee"]),
    }
    text = out.read_text()
    assert "alice:  # Alice <alice@example.com>" in text
    assert f"- bookshop  # {platform.copies['alice', platform.bookshop].id}, matched by card fingerprint" in text
    assert lines(result.stderr) == [
        f"Imported 2 customers with 3 copies on 2 accounts into {out}.",
        f"Next: reconcile plan {out} --adopt-by fingerprint",
    ]


def test_import_reads_list_pages_only_and_writes_nothing_to_stripe(
    reconcile: Reconcile, platform: Platform, sandbox: Any, tmp_path: Path
) -> None:
    sandbox.reset_stats()
    imported(reconcile, tmp_path / "imported.yaml")

    stats = sandbox.stats()
    assert writes(stats) == {}
    # One page of accounts, then one page of customers each for the platform and the two accounts.
    assert stats["requests"] == {"GET /v1/accounts": 1, "GET /v1/customers": 3}


def test_plan_of_the_imported_file_adopts_the_copies_and_shares_nothing(
    reconcile: Reconcile, platform: Platform, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    imported(reconcile, out)

    planned = reconcile("plan", out, "--adopt-by", "fingerprint", "--format", "json")

    assert planned.exit_code == 0, planned.stderr
    actions = json.loads(planned.stdout)["actions"]
    assert sorted((a["action"], a["customer_key"], a["account"], a["object_id"]) for a in actions) == sorted(
        [
            ("update_customer", "alice", None, platform.customers["alice"].id),
            ("update_customer", "bob", None, platform.customers["bob"].id),
            ("adopt", "alice", "bookshop", platform.copies["alice", platform.bookshop].id),
            ("adopt", "alice", "coffee", platform.copies["alice", platform.coffee].id),
            ("adopt", "bob", "coffee", platform.copies["bob", platform.coffee].id),
        ]
    )
    text = reconcile("plan", out, "--adopt-by", "fingerprint")
    assert "Plan: 0 to create, 0 to share, 5 to update, 0 to unshare." in text.stdout


def test_apply_adopts_with_one_post_per_object_and_makes_no_customer(
    reconcile: Reconcile, platform: Platform, sandbox: Any, stripe_client: stripe.StripeClient, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    imported(reconcile, out)
    before = {a: set(every_customer(stripe_client, a)) for a in (None, platform.bookshop, platform.coffee)}

    sandbox.reset_stats()
    applied = reconcile("apply", out, "--adopt-by", "fingerprint", "--auto-approve")

    assert applied.exit_code == 0, applied.stderr
    assert writes(sandbox.stats()) == {"POST /v1/customers/{customer}": 5}  # 2 platform customers, 3 copies
    assert {a: set(every_customer(stripe_client, a)) for a in before} == before
    alice = platform.customers["alice"]
    for account in (platform.bookshop, platform.coffee):
        copy = every_customer(stripe_client, account)[platform.copies["alice", account].id]
        assert copy.metadata.to_dict() == {
            "reconcile_owner": "imported",
            "reconcile_key": "alice",
            "reconcile_platform_customer": alice.id,
            "reconcile_source": alice.default_source,
        }
    assert every_customer(stripe_client, None)[alice.id].metadata.to_dict() == {
        "reconcile_owner": "imported",
        "reconcile_key": "alice",
    }
    walk_in = every_customer(stripe_client, platform.bookshop)[platform.walk_in.id]
    assert walk_in.metadata.to_dict() == {}

    again = reconcile("plan", out, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_import_after_adoption_describes_the_same_platform_and_plans_no_changes(
    reconcile: Reconcile, platform: Platform, tmp_path: Path
) -> None:
    first = tmp_path / "imported.yaml"
    imported(reconcile, first)
    assert reconcile("apply", first, "--adopt-by", "fingerprint", "--auto-approve").exit_code == 0

    second = tmp_path / "again.yaml"
    result = imported(reconcile, second)

    assert yaml.safe_load(second.read_text()) == yaml.safe_load(first.read_text())
    assert "already ours" in second.read_text()
    assert lines(result.stderr)[-1] == f"Next: reconcile plan {second}"
    assert reconcile("plan", second, "--detailed-exitcode").exit_code == 0


def test_test_cards_shared_by_many_customers_are_told_apart_by_email(
    reconcile: Reconcile, stripe_client: stripe.StripeClient, sandbox: Any, tmp_path: Path
) -> None:
    # Every tok_visa card has one fingerprint: by card, each copy would match both customers.
    platform = make_platform(
        stripe_client,
        cards={"alice": "tok_visa", "dave": "tok_visa"},
        shares={"alice": ["bookshop"], "dave": ["bookshop", "coffee"]},
    )
    out = tmp_path / "imported.yaml"
    result = imported(reconcile, out)
    assert lines(result.stderr)[-1] == f"Next: reconcile plan {out} --adopt-by email"

    by_card = reconcile("plan", out, "--adopt-by", "fingerprint")
    assert by_card.exit_code == 1  # ambiguous: conflicts, never a guess
    assert "2 unowned customers match by card fingerprint" in by_card.stdout

    sandbox.reset_stats()
    assert reconcile("apply", out, "--adopt-by", "email", "--auto-approve").exit_code == 0
    assert writes(sandbox.stats()) == {"POST /v1/customers/{customer}": 5}
    assert set(every_customer(stripe_client, platform.bookshop)) == {
        platform.copies["alice", platform.bookshop].id,
        platform.copies["dave", platform.bookshop].id,
        platform.walk_in.id,
    }
    assert reconcile("plan", out, "--detailed-exitcode").exit_code == 0


def test_an_adopted_copy_whose_fields_differ_is_updated_by_the_next_plan(
    reconcile: Reconcile, platform: Platform, stripe_client: stripe.StripeClient, tmp_path: Path
) -> None:
    copy = platform.copies["bob", platform.coffee]
    stripe_client.v1.customers.update(copy.id, {"name": "Bobby"}, on(platform.coffee))
    out = tmp_path / "imported.yaml"
    imported(reconcile, out)
    assert reconcile("apply", out, "--adopt-by", "fingerprint", "--auto-approve").exit_code == 0

    planned = reconcile("plan", out, "--format", "json", "--detailed-exitcode")

    assert planned.exit_code == 2
    (action,) = json.loads(planned.stdout)["actions"]
    assert (action["action"], action["object_id"], action["changes"]) == (
        "update_share",
        copy.id,
        {"name": ["Bobby", "Bob"]},
    )


def test_import_of_named_accounts_reads_only_those_and_keeps_their_aliases(
    reconcile: Reconcile, platform: Platform, sandbox: Any, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    sandbox.reset_stats()
    imported(reconcile, out, "--account", f"books={platform.bookshop}", "--owner", "acme")

    desired = config.load(out)
    assert (desired.owner, dict(desired.accounts)) == ("acme", {"books": platform.bookshop})
    assert [(c.key, [s.alias for s in c.shares]) for c in desired.customers] == [("alice", ["books"])]
    assert "GET /v1/accounts" not in sandbox.stats()["requests"]


def test_import_prints_the_file_when_no_out_is_given(reconcile: Reconcile, platform: Platform) -> None:
    result = reconcile("import")

    assert result.exit_code == 0, result.stderr
    assert config.parse(result.stdout).customers[0].key == "alice"
    assert lines(result.stderr)[-1] == "Next: reconcile plan FILE --adopt-by fingerprint"


def test_import_keeps_the_details_a_seller_set_differently_as_that_account_s_overrides(
    reconcile: Reconcile, platform: Platform, stripe_client: stripe.StripeClient, tmp_path: Path
) -> None:
    alice = platform.customers["alice"]
    platform_details = {
        "address": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
        "preferred_locales": ["en"],
        "invoice_settings": {"footer": "Thank you"},
    }
    stripe_client.v1.customers.update(alice.id, platform_details)
    # The coffee shop set its own city, locales, tax status and shipping; the bookshop left its copy bare.
    coffee_copy = platform.copies["alice", platform.coffee]
    seller_details = {
        "address": {"line1": "1 Main St", "city": "Shelbyville", "country": "US"},
        "preferred_locales": ["fr", "en"],
        "tax_exempt": "exempt",
        "shipping": {"name": "Alice at work", "address": {"line1": "2 Office Rd", "country": "US"}},
        "invoice_settings": {"footer": "Thank you"},  # the same as the platform's: not written
    }
    stripe_client.v1.customers.update(coffee_copy.id, seller_details, on(platform.coffee))
    out = tmp_path / "imported.yaml"

    imported(reconcile, out)

    accounts = yaml.safe_load(out.read_text())["customers"]["alice"]["accounts"]
    assert accounts == [
        "bookshop",
        {
            "account": "coffee",
            "address": {"line1": "1 Main St", "city": "Shelbyville", "country": "US"},
            "shipping": {"name": "Alice at work", "address": {"line1": "2 Office Rd", "country": "US"}},
            "preferred_locales": ["fr", "en"],
            "tax_exempt": "exempt",
        },
    ]
    assert reconcile("apply", out, "--adopt-by", "fingerprint", "--auto-approve").exit_code == 0
    assert reconcile("plan", out, "--detailed-exitcode").exit_code == 0
    # Declaring the address on the customer now fills in the bare copy and keeps the seller's.
    declared = "  alice:\n    address: {line1: 1 Main St, city: Springfield, country: US}"
    out.write_text(out.read_text().replace("  alice:", declared, 1))
    planned = reconcile("plan", out, "--format", "json")
    changes = {a["account"]: a["changes"] for a in json.loads(planned.stdout)["actions"]}
    assert changes == {
        "bookshop": {
            "address.line1": [None, "1 Main St"],
            "address.city": [None, "Springfield"],
            "address.country": [None, "US"],
        }
    }
