"""The session drives a whole run without the CLI: a gateway with no pacing, options of the test's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconcile import config, session
from reconcile.errors import ReconcileError
from reconcile.gateway import Gateway
from reconcile.retry import RetryPolicy

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter=lambda: 0.0)


@pytest.fixture
def gateway(sandbox: Any, api_key: str) -> Gateway:
    return Gateway(api_key, api_base=sandbox.url)  # max_rps 0: no pacing


def test_plan_approve_apply_converges_and_the_next_plan_is_empty(marketplace: Path, gateway: Gateway) -> None:
    desired = config.load(marketplace)
    first = session.plan(desired, gateway)
    assert [a.id for a in first.actions][:2] == ["create_customer:alice", "attach_source:alice"]

    session.approve(first, expect_digest=f"sha256:{first.digest}")
    report = session.apply(first, gateway, session.ApplyOptions(concurrency=4, policy=NO_SLEEP))

    assert report.complete, report.to_json()
    assert not session.plan(desired, gateway).has_changes


def test_plan_options_narrow_the_run_to_the_accounts_named(marketplace: Path, gateway: Gateway) -> None:
    desired = config.load(marketplace)
    narrowed = session.plan(desired, gateway, session.PlanOptions(accounts=["bookshop"]))
    assert {a.account for a in narrowed.actions} == {None, "bookshop"}
    assert narrowed.accounts == {"bookshop": desired.accounts["bookshop"]}


def test_a_saved_plan_is_stale_once_applied(marketplace: Path, gateway: Gateway) -> None:
    saved = session.plan(config.load(marketplace), gateway)
    assert session.recheck(saved, gateway) == []
    assert session.apply(saved, gateway, session.ApplyOptions(policy=NO_SLEEP)).complete

    stale = session.recheck(saved, gateway)

    assert any(line.startswith("create_customer:alice: a platform customer now exists") for line in stale)
    assert any(line.startswith("share:bob@coffee: a copy now exists on the account") for line in stale)


def test_approve_refuses_a_plan_that_is_not_the_approved_one(marketplace: Path, gateway: Gateway) -> None:
    planned = session.plan(config.load(marketplace), gateway)
    with pytest.raises(ReconcileError, match="nothing was applied"):
        session.approve(planned, expect_digest="sha256:0000")
