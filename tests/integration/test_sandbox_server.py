"""Sandbox: persistence across restarts, concurrent requests, and the `serve` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import stripe

from reconcile.sandbox import running_sandbox
from tests.support import Receiver


def client(url: str, key: str = "sk_test_sandbox") -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    with running_sandbox(db, accounts=["acct_1Shop"]) as sandbox:
        platform = sandbox.platform_account_id
        first = client(sandbox.url)
        customer = first.v1.customers.create({"email": "a@example.com", "source": "tok_visa"}, {"idempotency_key": "k"})
        copy = first.v1.customers.create({"email": "a@example.com"}, {"stripe_account": "acct_1Shop"})
    with running_sandbox(db) as sandbox:
        again = client(sandbox.url)
        assert sandbox.platform_account_id == platform
        assert again.v1.customers.retrieve(customer.id).to_dict() == customer.to_dict()
        assert [c.id for c in again.v1.customers.list(options={"stripe_account": "acct_1Shop"}).data] == [copy.id]
        replay = again.v1.customers.create({"email": "a@example.com", "source": "tok_visa"}, {"idempotency_key": "k"})
        assert replay.id == customer.id


def test_memory_database_works(stripe_client: stripe.StripeClient) -> None:
    with running_sandbox(":memory:") as sandbox:
        assert sandbox.db_path == ":memory:"
        assert client(sandbox.url).v1.customers.create().id.startswith("cus_")


def test_concurrent_writes_are_all_kept(stripe_client: stripe.StripeClient) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(10):
                customer = stripe_client.v1.customers.create({"email": f"w{worker}-{n}@example.com"})
                stripe_client.v1.customers.update(customer.id, {"metadata": {"n": str(n)}})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = list(stripe_client.v1.customers.list({"limit": 100}).auto_paging_iter())
    assert len(listed) == 80
    assert len({customer.id for customer in listed}) == 80
    assert all(customer.metadata.to_dict() for customer in listed)


def start(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile.sandbox", "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_serves_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    process, line = start("--api-key", "sk_test_one", "--api-key", "sk_test_two", cwd=tmp_path)
    try:
        assert line.startswith("reconcile sandbox listening on http://127.0.0.1:")
        url = line.split()[4]
        assert client(url, "sk_test_one").v1.customers.list().data == []
        request = urllib.request.Request(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_test_two"})
        with urllib.request.urlopen(request) as answer:
            assert json.load(answer)["object"] == "list"
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "sk_test_one" not in line + stderr
    assert "sk_test_two" not in line + stderr
    assert (tmp_path / ".reconcile" / "sandbox.sqlite3").exists()  # the default --db


def test_serve_refuses_an_unreadable_seed(tmp_path: Path) -> None:
    bad = tmp_path / "seed.yaml"
    bad.write_text("accounts: [not_an_account]\n")
    process = subprocess.run(
        [sys.executable, "-m", "reconcile.sandbox", "serve", "--port", "0", "--db", ":memory:", "--seed", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 1
    assert "'not_an_account' is not an account id" in process.stderr


def test_serve_delivers_webhooks_with_the_retry_schedule_it_is_given(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.statuses = [500]
    process, line = start("--db", ":memory:", "--webhook-retry-base-ms", "20", "--webhook-retry-for", "5", cwd=tmp_path)
    try:
        api = client(line.split()[4])
        hook = api.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
        api.v1.customers.create({"email": "a@example.com"})
        failed, retried = receiver.wait_for(2)  # a minute apart with the default schedule; 20 ms here
        assert retried.at - failed.at < 5
        event = stripe.Webhook.construct_event(retried.body, retried.headers["Stripe-Signature"], hook.secret)
        assert event.type == "customer.created"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
        receiver.close()
    assert process.returncode == 0
