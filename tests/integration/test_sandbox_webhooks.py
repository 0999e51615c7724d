"""Sandbox: events delivered to webhook endpoints, signed as Stripe signs them, retried on failure."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile.sandbox import DeliveryPolicy, Sandbox, running_sandbox
from tests.support import WAIT, Receiver

FAST = DeliveryPolicy(retry_base_ms=20, retry_for_s=30, timeout_s=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(port: int = 0) -> Receiver:
        made.append(Receiver(port))
        return made[-1]

    yield make
    for running in made:
        running.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox that retries failed deliveries after 20 ms, 40 ms, 80 ms, …"""
    with running_sandbox(tmp_path / "sandbox.sqlite3", webhooks=FAST) as running:
        yield running


def endpoint(client: stripe.StripeClient, url: str, *events: str, connect: bool = False) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create({"url": url, "enabled_events": list(events or ["*"]), "connect": connect})


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_delivery_is_verified_by_the_official_sdk(stripe_client: stripe.StripeClient, receiver: Receiver) -> None:
    hook = endpoint(stripe_client, receiver.url)
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    (delivery,) = receiver.wait_for(1)
    event = stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], hook.secret)
    assert event.type == "customer.created"
    assert event.data.object.id == alice.id
    wait_until(lambda: stripe_client.v1.events.retrieve(event.id).pending_webhooks == 0)
    stored = stripe_client.v1.events.retrieve(event.id).to_dict()
    assert {**event.to_dict(), "pending_webhooks": 0} == stored  # as sent, before it was marked delivered
    assert delivery.path == "/webhooks"
    assert delivery.headers["Content-Type"] == "application/json; charset=utf-8"
    assert delivery.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def test_the_signature_is_t_and_v1_over_the_bytes_sent(stripe_client: stripe.StripeClient, receiver: Receiver) -> None:
    hook = endpoint(stripe_client, receiver.url)
    stripe_client.v1.customers.create()
    (delivery,) = receiver.wait_for(1)
    timestamp, signature = delivery.headers["Stripe-Signature"].split(",")
    assert timestamp.startswith("t=")
    assert abs(int(timestamp[2:]) - time.time()) < 60
    assert signature.startswith("v1=")
    assert len(signature) == len("v1=") + 64
    # The body is pretty-printed: verifying a re-encoding of the parsed event would fail.
    assert delivery.body.startswith(b'{\n  "id": "evt_')
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(json.dumps(delivery.event), delivery.headers["Stripe-Signature"], hook.secret)


def test_a_delivery_does_not_verify_with_another_endpoints_secret(
    stripe_client: stripe.StripeClient, receiver: Receiver
) -> None:
    endpoint(stripe_client, receiver.url, connect=True)
    other = endpoint(stripe_client, "http://127.0.0.1:9/unused", "customer.deleted")
    platform = endpoint(stripe_client, receiver.url)
    stripe_client.v1.customers.create()
    (delivery,) = receiver.wait_for(1)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], other.secret)
    stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], platform.secret)


def test_connected_accounts_events_go_only_to_connect_endpoints(
    stripe_client: stripe.StripeClient, make_receiver: Callable[..., Receiver], connected_account: str
) -> None:
    platform_receiver, connect_receiver = make_receiver(), make_receiver()
    platform_hook = endpoint(stripe_client, platform_receiver.url)
    connect_hook = endpoint(stripe_client, connect_receiver.url, connect=True)
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    copy = stripe_client.v1.customers.create({"email": "alice@example.com"}, {"stripe_account": connected_account})
    (platform_event,) = platform_receiver.events(1)
    (connect_delivery,) = connect_receiver.wait_for(1)
    connect_event = stripe.Webhook.construct_event(
        connect_delivery.body, connect_delivery.headers["Stripe-Signature"], connect_hook.secret
    )
    assert (platform_event["data"]["object"]["id"], "account" in platform_event) == (alice.id, False)
    assert (connect_event.data.object.id, connect_event.account) == (copy.id, connected_account)
    stripe_client.v1.customers.update(alice.id, {"name": "Alice"})  # one more platform event, to be sure
    platform_receiver.wait_for(2)
    assert len(connect_receiver.received) == 1
    assert platform_hook.secret != connect_hook.secret


def test_a_live_connect_endpoint_also_gets_connected_accounts_test_events(
    tmp_path: Path, receiver: Receiver, connected_account: str
) -> None:
    keys = ("sk_test_sandbox", "sk_live_sandbox")
    with running_sandbox(tmp_path / "modes.sqlite3", api_keys=keys, accounts=[connected_account]) as sandbox:
        test, live = (stripe.StripeClient(key, base_addresses={"api": sandbox.url}) for key in keys)
        endpoint(live, receiver.url, connect=True)
        endpoint(live, "http://127.0.0.1:9/platform-live-only")  # an account endpoint: live events only
        test.v1.customers.create({}, {"stripe_account": connected_account})
        test.v1.customers.create()
        (event,) = receiver.events(1)
        assert (event["livemode"], event["account"]) == (False, connected_account)
        assert test.v1.events.list().data[0].pending_webhooks == 0


def test_only_the_enabled_events_are_delivered(stripe_client: stripe.StripeClient, receiver: Receiver) -> None:
    endpoint(stripe_client, receiver.url, "customer.deleted", "payment_method.attached")
    alice = stripe_client.v1.customers.create({"source": "tok_visa"})
    stripe_client.v1.customers.update(alice.id, {"name": "Alice"})
    stripe_client.v1.customers.delete(alice.id)
    assert [event["type"] for event in receiver.events(1)] == ["customer.deleted"]
    assert stripe_client.v1.events.list({"type": "customer.created"}).data[0].pending_webhooks == 0


def test_a_disabled_endpoint_receives_nothing_until_enabled_again(
    stripe_client: stripe.StripeClient, receiver: Receiver
) -> None:
    hook = endpoint(stripe_client, receiver.url)
    stripe_client.v1.webhook_endpoints.update(hook.id, {"disabled": True})
    stripe_client.v1.customers.create({"name": "missed"})
    stripe_client.v1.webhook_endpoints.update(hook.id, {"disabled": False})
    stripe_client.v1.customers.create({"name": "heard"})
    (event,) = receiver.events(1)
    assert event["data"]["object"]["name"] == "heard"
    time.sleep(0.2)
    assert len(receiver.received) == 1


def test_events_reach_one_endpoint_in_the_order_they_happened(
    stripe_client: stripe.StripeClient, receiver: Receiver
) -> None:
    endpoint(stripe_client, receiver.url, "customer.created")
    made = [stripe_client.v1.customers.create({"name": f"c{index}"}).id for index in range(20)]
    assert [event["data"]["object"]["id"] for event in receiver.events(20)] == made


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers_2xx(
    stripe_client: stripe.StripeClient, receiver: Receiver
) -> None:
    hook = endpoint(stripe_client, receiver.url)
    receiver.statuses = [500, 503, 302]  # a redirect is a failure too
    stripe_client.v1.customers.create()
    attempts = receiver.wait_for(4)
    ids = {attempt.event["id"] for attempt in attempts}
    assert len(ids) == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert [gap >= least for gap, least in zip(gaps, [0.02, 0.04, 0.08], strict=True)] == [True] * 3  # doubling
    # Each attempt is signed afresh, and each verifies.
    for attempt in attempts:
        stripe.Webhook.construct_event(attempt.body, attempt.headers["Stripe-Signature"], hook.secret)
    (event_id,) = ids
    wait_until(lambda: stripe_client.v1.events.retrieve(event_id).pending_webhooks == 0)
    time.sleep(0.2)
    assert len(receiver.received) == 4  # nothing after the 200


def test_pending_webhooks_counts_the_endpoints_yet_to_get_the_event(
    stripe_client: stripe.StripeClient, make_receiver: Callable[..., Receiver]
) -> None:
    good, failing = make_receiver(), make_receiver()
    failing.statuses = [500] * 1000
    endpoint(stripe_client, good.url)
    endpoint(stripe_client, failing.url)
    stripe_client.v1.customers.create()
    (event,) = good.events(1)
    assert event["pending_webhooks"] == 2  # as sent: nobody had it yet
    failing.wait_for(2)
    assert stripe_client.v1.events.retrieve(event["id"]).pending_webhooks == 1
    undelivered = stripe_client.v1.events.list({"delivery_success": False}).data
    assert [listed.id for listed in undelivered] == [event["id"]]
    assert stripe_client.v1.events.list({"delivery_success": True}).data == []


def test_a_receiver_that_cannot_be_reached_is_retried_until_it_is_up(
    stripe_client: stripe.StripeClient, make_receiver: Callable[..., Receiver]
) -> None:
    port = free_port()
    hook = endpoint(stripe_client, f"http://127.0.0.1:{port}/webhooks")
    stripe_client.v1.customers.create()
    time.sleep(0.3)  # several refused connections (20, 40, 80, 160 ms apart)
    late = make_receiver(port)
    (delivery,) = late.wait_for(1)
    stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], hook.secret)


def test_a_delivery_is_given_up_after_the_retry_window(tmp_path: Path, receiver: Receiver) -> None:
    policy = DeliveryPolicy(retry_base_ms=20, retry_for_s=0.1)
    with running_sandbox(tmp_path / "window.sqlite3", webhooks=policy) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url})
        receiver.statuses = [500] * 1000
        endpoint(client, receiver.url)
        client.v1.customers.create()
        event = client.v1.events.list().data[0]
        # Attempts at 0, 20 and 60 ms; the next would come at 140 ms, after the 100 ms window: it is not made.
        wait_until(lambda: set(sandbox.app.store.database.delivery_states(event.id).values()) == {"failed"})
        attempts = len(receiver.received)
        assert 1 <= attempts <= 3
        time.sleep(0.3)
        assert len(receiver.received) == attempts
        event = client.v1.events.retrieve(event.id)
        assert event.pending_webhooks == 1  # never delivered
        assert [listed.id for listed in client.v1.events.list({"delivery_success": False}).data] == [event.id]


def test_deleting_an_endpoint_stops_its_retries(stripe_client: stripe.StripeClient, receiver: Receiver) -> None:
    receiver.statuses = [500] * 1000
    hook = endpoint(stripe_client, receiver.url)
    stripe_client.v1.customers.create()
    receiver.wait_for(1)
    stripe_client.v1.webhook_endpoints.delete(hook.id)
    attempts = len(receiver.received)
    assert stripe_client.v1.events.list().data[0].pending_webhooks == 0
    time.sleep(0.3)
    assert len(receiver.received) <= attempts + 1  # at most the attempt that was under way


def test_deliveries_wait_in_the_database_across_a_restart(
    tmp_path: Path, make_receiver: Callable[..., Receiver]
) -> None:
    port, database = free_port(), tmp_path / "restart.sqlite3"
    slow = DeliveryPolicy(retry_base_ms=60_000)
    with running_sandbox(database, webhooks=slow) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url})
        hook = endpoint(client, f"http://127.0.0.1:{port}/webhooks")
        alice = client.v1.customers.create()
        wait_until(lambda: sandbox.app.store.database.next_due() is not None)
    receiver = make_receiver(port)
    with running_sandbox(database, webhooks=slow) as sandbox:
        # The retry is due a minute after the first attempt; move it to now, as if the minute had passed.
        with sandbox.app.store.database.transaction() as db:
            db.execute("UPDATE deliveries SET next_attempt = 0")
        sandbox.app.deliverer.wake()
        (delivery,) = receiver.wait_for(1)
    event = stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], hook.secret)
    assert event.data.object.id == alice.id


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/webhooks",
        "https://hooks.example.org:8443/stripe",
        "http://10.1.2.3/webhooks",
        "http://[2001:db8::1]/webhooks",
        "http://127.0.0.1.nip.io/webhooks",
    ],
)
def test_a_url_off_this_machine_is_refused_with_a_logged_reason_and_never_contacted(
    stripe_client: stripe.StripeClient, url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every name lookup and every connection starts with getaddrinfo: note those of the delivery worker.
    contacted: list[object] = []
    lookup = socket.getaddrinfo

    def noted(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "sandbox-webhooks":
            contacted.append(args)
        return lookup(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", noted)
    caplog.set_level(logging.WARNING, logger="reconcile.sandbox.webhooks")
    hook = endpoint(stripe_client, url)
    stripe_client.v1.customers.create()

    def refusals() -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name == "reconcile.sandbox.webhooks"]

    wait_until(lambda: bool(refusals()))
    (message,) = refusals()
    assert hook.id in message
    assert url in message
    assert "not a loopback address" in message
    assert "the sandbox only sends to this machine" in message
    assert contacted == []
    event = stripe_client.v1.events.list().data[0]
    assert event.pending_webhooks == 1  # refused: not delivered, and not retried
    time.sleep(0.1)
    assert len(refusals()) == 1


def test_localhost_is_delivered_to(stripe_client: stripe.StripeClient, receiver: Receiver) -> None:
    endpoint(stripe_client, receiver.url.replace("127.0.0.1", "localhost"))
    stripe_client.v1.customers.create()
    receiver.wait_for(1)
