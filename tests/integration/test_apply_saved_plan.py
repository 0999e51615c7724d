"""apply PLAN.json: the reviewed plan is applied only while every action's precondition still holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import stripe

from tests.support import BOOKSHOP, Reconcile, lines, operations


def test_saved_plan_is_applied_as_planned(
    reconcile: Reconcile, marketplace: Path, tmp_path: Path, stripe_client: stripe.StripeClient
) -> None:
    saved = tmp_path / "plan.json"
    assert reconcile("plan", marketplace, "--out", saved).exit_code == 0
    digest = json.loads(saved.read_text())["digest"]

    result = reconcile("apply", saved, "--auto-approve", "--expect-digest", digest)

    assert result.exit_code == 0, result.stderr
    assert "Apply complete: 7 done, 0 failed, 0 skipped" in result.stdout
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0
    assert len(stripe_client.v1.customers.list({}, {"stripe_account": BOOKSHOP}).data) == 1


def test_saved_plan_that_was_already_applied_is_stale(
    reconcile: Reconcile, marketplace: Path, tmp_path: Path, sandbox: Any
) -> None:
    saved = tmp_path / "plan.json"
    assert reconcile("plan", marketplace, "--out", saved).exit_code == 0
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    sandbox.reset_stats()

    result = reconcile("apply", saved, "--auto-approve")

    assert result.exit_code == 1
    assert "stale: create_customer:alice: a platform customer now exists for it (cus_" in result.stderr
    assert "stale: share:alice@bookshop: a copy now exists on the account (cus_" in result.stderr
    assert lines(result.stderr)[-1] == (
        f"error: {saved}: the plan is stale: 5 actions no longer match live state; nothing was applied; make a new plan"
    )
    assert operations(sandbox.stats(), "POST") == 0


def test_saved_plan_is_stale_when_a_copy_changed_after_review(
    reconcile: Reconcile, marketplace: Path, tmp_path: Path, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    (copy,) = stripe_client.v1.customers.list({}, {"stripe_account": BOOKSHOP}).data
    stripe_client.v1.customers.update(copy.id, {"email": "mallory@example.com"}, {"stripe_account": BOOKSHOP})
    saved = tmp_path / "plan.json"
    assert reconcile("plan", marketplace, "--out", saved).exit_code == 0  # update_share: mallory -> alice
    stripe_client.v1.customers.update(copy.id, {"email": "eve@example.com"}, {"stripe_account": BOOKSHOP})
    sandbox.reset_stats()

    result = reconcile("apply", saved, "--auto-approve")

    assert result.exit_code == 1
    assert lines(result.stderr)[0] == (
        'stale: update_share:alice@bookshop: email is now "eve@example.com", the plan expected "mallory@example.com"'
    )
    assert operations(sandbox.stats(), "POST") == 0
    assert stripe_client.v1.customers.retrieve(copy.id, {}, {"stripe_account": BOOKSHOP}).email == "eve@example.com"


def test_saved_plan_refuses_options_that_shape_a_plan(reconcile: Reconcile, marketplace: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert reconcile("plan", marketplace, "--out", saved).exit_code == 0
    result = reconcile("apply", saved, "--auto-approve", "--prune", "--account", "coffee")
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        "error: --account, --prune shape a plan when it is made: give them to plan --out, not apply"
    ]


def test_redacted_or_foreign_json_is_not_a_plan(reconcile: Reconcile, marketplace: Path, tmp_path: Path) -> None:
    redacted = tmp_path / "redacted.json"
    redacted.write_text(reconcile("plan", marketplace, "--format", "json", "--redact").stdout)
    result = reconcile("apply", redacted, "--auto-approve")
    assert result.exit_code == 1
    (line,) = lines(result.stderr)
    assert line.startswith(f"error: {redacted}: not a plan written by reconcile plan --out (a redacted plan")

    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}')
    result = reconcile("apply", other, "--auto-approve")
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"error: {other}: not a plan written by reconcile plan --out "
        "(plan format_version None is not supported (expected 1))"
    ]
