"""A failure mid-apply loses nothing: faults, rate limits and concurrent runs end in one copy per pair."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile import config, session
from reconcile.executor import Applier
from reconcile.gateway import Gateway
from reconcile.planner import plan
from reconcile.report import ApplyReport
from reconcile.retry import RetryPolicy
from tests.support import BOOKSHOP, COFFEE, Reconcile

FAST_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05)


def owned(client: stripe.StripeClient, account: str | None = None) -> Counter[str]:
    """How many customers of owner 'acme' carry each reconcile_key."""
    options: Any = {"stripe_account": account} if account else {}
    keys: Counter[str] = Counter()
    for customer in client.v1.customers.list({"limit": 100}, options).auto_paging_iter():
        metadata = customer.metadata.to_dict() if customer.metadata else {}
        if metadata.get("reconcile_owner") == "acme":
            keys[metadata["reconcile_key"]] += 1
    return keys


def assert_converged(client: stripe.StripeClient) -> None:
    assert owned(client) == {"alice": 1, "bob": 1}
    assert owned(client, BOOKSHOP) == {"alice": 1}
    assert owned(client, COFFEE) == {"alice": 1, "bob": 1}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_apply_under_server_errors_finishes_on_rerun_without_duplicates(
    seed: int,
    reconcile: Reconcile,
    marketplace: Path,
    sandbox: Any,
    stripe_client: stripe.StripeClient,
    tmp_path: Path,
) -> None:
    # A third of all requests fail with a 500; half of the failed writes commit first (lost responses).
    sandbox.configure(fail_rate=0.33, fault_seed=seed)
    report_path = tmp_path / "report.json"
    for _attempt in range(10):
        result = reconcile("apply", marketplace, "--auto-approve", "--report", report_path)
        if result.exit_code == 0:
            break
        assert result.exit_code == 1
        assert "Traceback" not in result.stderr
        if report_path.exists():
            report = json.loads(report_path.read_text())
            for action in report["actions"]:
                assert action["outcome"] in ("done", "failed", "skipped")
                if action["outcome"] == "failed":
                    assert action["error"]
    else:
        pytest.fail("apply did not finish in 10 runs")
    assert sandbox.stats()["faults"] > 0

    sandbox.configure(fail_rate=0)
    assert reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0
    assert_converged(stripe_client)


def test_rate_limited_apply_backs_off_and_completes(
    reconcile: Reconcile, marketplace: Path, sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    sandbox.configure(rate_limit=4)
    result = reconcile("apply", marketplace, "--auto-approve", "--max-rps", "200")
    assert result.exit_code == 0, result.stderr
    assert sandbox.stats()["rate_limited"] > 0
    sandbox.configure(rate_limit=0)  # the checking client below does not retry
    assert_converged(stripe_client)


def test_concurrent_applies_of_the_same_plan_converge_on_one_copy_per_pair(
    marketplace: Path, sandbox: Any, api_key: str, stripe_client: stripe.StripeClient
) -> None:
    desired = config.load(marketplace)
    gateways = [Gateway(api_key, api_base=sandbox.url) for _ in range(3)]
    # Every run plans before any applies, so all of them intend to create everything.
    plans = [plan(desired, session.observe_for(desired, gateway)) for gateway in gateways]
    assert len({p.digest for p in plans}) == 1
    reports: list[ApplyReport] = []

    def run(gateway: Gateway, todo: Any) -> None:
        reports.append(Applier(gateway, owner="acme", concurrency=4, policy=FAST_RETRIES).apply(todo))

    threads = [threading.Thread(target=run, args=pair) for pair in zip(gateways, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(report.complete for report in reports), [r.to_json() for r in reports]
    assert_converged(stripe_client)
