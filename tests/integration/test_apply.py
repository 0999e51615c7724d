"""The core loop against the sandbox over real HTTP, checked with the official stripe SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import stripe

from tests.support import BOOKSHOP, COFFEE, Reconcile, operations, writes


def customers(client: stripe.StripeClient, account: str | None = None) -> list[Any]:
    options: Any = {"stripe_account": account} if account else {}
    page = client.v1.customers.list({"limit": 100, "expand": ["data.default_source"]}, options)
    return list(page.data)


def by_key(items: list[Any]) -> dict[str, Any]:
    return {c.metadata["reconcile_key"]: c for c in items if c.metadata and "reconcile_key" in c.metadata}


def test_first_apply_makes_exactly_what_the_plan_listed(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient, tmp_path: Path
) -> None:
    planned = reconcile("plan", marketplace, "--format", "json")
    assert planned.exit_code == 0, planned.stderr
    actions = {(a["action"], a["customer_key"], a["account"]) for a in json.loads(planned.stdout)["actions"]}
    assert actions == {
        ("create_customer", "alice", None),
        ("attach_source", "alice", None),
        ("share", "alice", "bookshop"),
        ("share", "alice", "coffee"),
        ("create_customer", "bob", None),
        ("attach_source", "bob", None),
        ("share", "bob", "coffee"),
    }

    applied = reconcile("apply", marketplace, "--auto-approve", "--report", tmp_path / "report.json")
    assert applied.exit_code == 0, applied.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is True
    assert {(a["action"], a["customer_key"], a["account"]) for a in report["actions"]} == actions
    assert all(a["outcome"] == "done" for a in report["actions"])

    platform = by_key(customers(stripe_client))
    assert set(platform) == {"alice", "bob"}
    alice = platform["alice"]
    assert (alice.email, alice.name, alice.metadata["tier"]) == ("alice@example.com", "Alice Liddell", "gold")
    assert alice.metadata["reconcile_owner"] == "acme"
    assert platform["bob"].phone == "+15555550100"

    expected_copies = {BOOKSHOP: {"alice"}, COFFEE: {"alice", "bob"}}
    for account, keys in expected_copies.items():
        copies = customers(stripe_client, account)
        assert sorted(c.metadata["reconcile_key"] for c in copies) == sorted(keys)  # one copy per pair
        for copy in copies:
            origin = platform[copy.metadata["reconcile_key"]]
            assert copy.metadata.to_dict() == {
                **({"tier": "gold"} if "tier" in origin.metadata else {}),
                "reconcile_owner": "acme",
                "reconcile_key": copy.metadata["reconcile_key"],
                "reconcile_platform_customer": origin.id,
                "reconcile_source": origin.default_source.id,
            }
            assert (copy.email, copy.name, copy.phone) == (origin.email, origin.name, origin.phone)
            card, platform_card = copy.default_source, origin.default_source
            assert card.id != platform_card.id
            assert (card.last4, card.fingerprint, card.brand) == (
                platform_card.last4,
                platform_card.fingerprint,
                platform_card.brand,
            )


def test_second_plan_says_no_changes(reconcile: Reconcile, marketplace: Path) -> None:
    before = reconcile("plan", marketplace, "--detailed-exitcode")
    assert before.exit_code == 2, before.stderr
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0

    after = reconcile("plan", marketplace, "--detailed-exitcode")

    assert after.exit_code == 0, after.stderr
    assert "No changes." in after.stdout
    again = reconcile("apply", marketplace, "--auto-approve")
    assert again.exit_code == 0
    assert "No changes." in again.stdout


def test_copy_edited_through_the_sdk_is_found_and_fixed(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient, sandbox: Any
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    copy = by_key(customers(stripe_client, COFFEE))["alice"]
    stripe_client.v1.customers.update(
        copy.id,
        {"email": "mallory@example.com", "metadata": {"tier": "", "note": "edited by hand"}},
        {"stripe_account": COFFEE},
    )

    planned = reconcile("plan", marketplace, "--format", "json", "--detailed-exitcode")
    assert planned.exit_code == 2
    (action,) = json.loads(planned.stdout)["actions"]
    assert (action["action"], action["customer_key"], action["account"]) == ("update_share", "alice", "coffee")
    assert action["changes"] == {
        "email": ["mallory@example.com", "alice@example.com"],
        "metadata.note": ["edited by hand", None],
        "metadata.tier": [None, "gold"],
    }

    sandbox.reset_stats()
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    assert writes(sandbox.stats()) == {"POST /v1/customers/{customer}": 1}

    fixed = stripe_client.v1.customers.retrieve(copy.id, {}, {"stripe_account": COFFEE})
    assert fixed.email == "alice@example.com"
    assert fixed.metadata.to_dict() == {**copy.metadata.to_dict(), "tier": "gold"}
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0


def test_copy_deleted_by_hand_is_made_again(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    copy = by_key(customers(stripe_client, BOOKSHOP))["alice"]
    stripe_client.v1.customers.delete(copy.id, None, {"stripe_account": BOOKSHOP})

    # Same intent as the first apply, so the first idempotency key replays the deleted copy:
    # the tool must notice and move on to the next key.
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0

    remade = by_key(customers(stripe_client, BOOKSHOP))["alice"]
    assert remade.id != copy.id
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0


def test_api_calls_are_the_minimum(reconcile: Reconcile, marketplace: Path, sandbox: Any) -> None:
    sandbox.reset_stats()
    assert reconcile("plan", marketplace).exit_code == 0
    # One list page on the platform and one per account; nothing per customer.
    assert sandbox.stats()["requests"] == {"GET /v1/customers": 3}

    sandbox.reset_stats()
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    # Observe again (3 pages); 1 create per platform customer (its test card rides along);
    # 2 writes per share (token, then customer).
    assert sandbox.stats()["requests"] == {
        "GET /v1/customers": 3,
        "POST /v1/customers": 2 + 3,
        "POST /v1/tokens": 3,
    }


def test_observing_many_customers_costs_one_list_call_per_page(
    reconcile: Reconcile, write_file: Any, accounts: dict[str, str], sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    entries = "".join(
        f"  c{i:03}:\n    email: c{i}@example.com\n    payment: {{source: tok_visa}}\n    accounts: [bookshop]\n"
        for i in range(150)
    )
    path = write_file(
        f"version: 1\nowner: acme\nmode: test\naccounts:\n  bookshop: {BOOKSHOP}\n  coffee: {COFFEE}\n"
        f"customers:\n{entries}"
    )
    assert reconcile("apply", path, "--auto-approve", "--max-rps", "1000").exit_code == 0
    sandbox.reset_stats()

    result = reconcile("plan", path, "--detailed-exitcode")

    assert result.exit_code == 0, result.stdout + result.stderr
    # 150 platform customers and 150 copies: 2 pages each; coffee holds none: 1 page.
    assert sandbox.stats()["requests"] == {"GET /v1/customers": 5}
    assert operations(sandbox.stats(), "POST") == 0


def test_copy_held_by_another_owner_is_a_conflict_left_untouched(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    copy = by_key(customers(stripe_client, BOOKSHOP))["alice"]
    stripe_client.v1.customers.update(
        copy.id,
        {"email": "other@example.com", "metadata": {"reconcile_owner": "someone-else"}},
        {"stripe_account": BOOKSHOP},
    )

    planned = reconcile("plan", marketplace)
    assert planned.exit_code == 1
    assert "! conflict alice @ bookshop" in planned.stdout
    assert "owned by 'someone-else'" in planned.stdout
    assert planned.stderr.strip() == (
        "error: 1 conflict needs attention (the '!' lines); conflicting objects are never touched"
    )

    applied = reconcile("apply", marketplace, "--auto-approve", "--prune")
    assert applied.exit_code == 1
    assert "No changes." in applied.stdout
    untouched = stripe_client.v1.customers.retrieve(copy.id, {}, {"stripe_account": BOOKSHOP})
    assert untouched.email == "other@example.com"
    assert untouched.metadata["reconcile_owner"] == "someone-else"
    assert [c.id for c in customers(stripe_client, BOOKSHOP)] == [copy.id]  # no second copy either


def test_drift_that_keeps_coming_back_is_fixed_every_time_at_one_call(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient, sandbox: Any
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    copy = by_key(customers(stripe_client, COFFEE))["bob"]
    for _ in range(12):  # a scheduled apply against a system that keeps editing the copy
        stripe_client.v1.customers.update(copy.id, {"email": "crm@example.com"}, {"stripe_account": COFFEE})
        sandbox.reset_stats()
        assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
        assert writes(sandbox.stats()) == {"POST /v1/customers/{customer}": 1}
        assert stripe_client.v1.customers.retrieve(copy.id, {}, {"stripe_account": COFFEE}).email == "bob@example.com"


def test_copy_deleted_again_and_again_is_made_again_every_time(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient, sandbox: Any
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    for deletion in range(1, 13):
        copy = by_key(customers(stripe_client, COFFEE))["bob"]
        stripe_client.v1.customers.delete(copy.id, None, {"stripe_account": COFFEE})
        sandbox.reset_stats()
        assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
        # Each earlier copy's key replays (checked with one read) before a fresh key makes the new one.
        requests = sandbox.stats()["requests"]
        assert requests["POST /v1/customers"] == deletion + 1
        assert requests["GET /v1/customers/{customer}"] == deletion
    assert sorted(by_key(customers(stripe_client, COFFEE))) == ["alice", "bob"]


def test_a_second_copy_made_by_hand_fails_the_drift_check_and_apply_removes_it(
    reconcile: Reconcile, marketplace: Path, stripe_client: stripe.StripeClient, sandbox: Any
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    original = by_key(customers(stripe_client, COFFEE))["bob"]
    # Someone re-runs the old curl script: a second customer with the same fields and ownership metadata.
    token = stripe_client.v1.tokens.create(
        {"customer": original.metadata["reconcile_platform_customer"]}, {"stripe_account": COFFEE}
    )
    fields = {name: original[name] for name in ("email", "name", "phone")}
    second = stripe_client.v1.customers.create(
        {**fields, "source": token.id, "metadata": original.metadata.to_dict()}, {"stripe_account": COFFEE}
    )

    planned = reconcile("plan", marketplace, "--format", "json", "--detailed-exitcode")
    assert planned.exit_code == 2  # without --prune: a duplicate is a change, not a warning
    (action,) = json.loads(planned.stdout)["actions"]
    assert action["action"] == "unshare"
    # Both hold a card; the older is kept (made in the same second: the smaller id).
    assert {action["object_id"], action["duplicate_of"]} == {original.id, second.id}
    text = reconcile("plan", marketplace).stdout
    assert f"({COFFEE}, {action['object_id']}): duplicate of {action['duplicate_of']}" in text

    sandbox.reset_stats()
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    assert writes(sandbox.stats()) == {"DELETE /v1/customers/{customer}": 1}
    left = [c.id for c in customers(stripe_client, COFFEE) if c.metadata.to_dict().get("reconcile_key") == "bob"]
    assert left == [action["duplicate_of"]]
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0
