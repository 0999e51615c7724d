"""reconcile watch: events from the sandbox, over HTTP, keep live state equal to the file."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile import config
from reconcile.gateway import Gateway
from reconcile.sandbox import DeliveryPolicy, Sandbox, running_sandbox
from reconcile.watch.loop import Watcher, WatchSettings
from reconcile.watch.poll import Poller
from tests.integration.watching import Watch, sign, wait_until, watching
from tests.support import BOOKSHOP, COFFEE, MARKETPLACE

FAST = DeliveryPolicy(retry_base_ms=20, retry_for_s=30, timeout_s=5)


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    with running_sandbox(tmp_path / "sandbox.sqlite3", webhooks=FAST, accounts=[BOOKSHOP, COFFEE]) as running:
        yield running


@pytest.fixture
def marketplace(tmp_path: Path) -> Path:
    path = tmp_path / "stripe.yaml"
    path.write_text(MARKETPLACE, encoding="utf-8")
    return path


@pytest.fixture
def watch(sandbox: Sandbox, stripe_client: stripe.StripeClient, marketplace: Path, api_key: str) -> Any:
    with watching(sandbox, stripe_client, marketplace, api_key) as running:
        yield running


def ours(client: stripe.StripeClient, account: str | None, key: str) -> list[Any]:
    """The customers carrying ``key`` of owner acme on ``account`` (None: the platform)."""
    options: Any = {"stripe_account": account} if account else {}
    found = client.v1.customers.list({"limit": 100, "expand": ["data.default_source"]}, options)
    wanted = {("reconcile_owner", "acme"), ("reconcile_key", key)}
    return [c for c in found.data if c.metadata.to_dict().items() >= wanted]


def test_the_startup_resync_shares_every_declared_customer(watch: Watch, stripe_client: stripe.StripeClient) -> None:
    (alice,) = ours(stripe_client, None, "alice")
    for account in (BOOKSHOP, COFFEE):
        (copy,) = ours(stripe_client, account, "alice")
        assert copy.metadata["reconcile_platform_customer"] == alice.id
    assert len(ours(stripe_client, COFFEE, "bob")) == 1
    assert ours(stripe_client, BOOKSHOP, "bob") == []
    assert watch.metric("reconcile_watch_reconciles_total", trigger="resync", outcome="applied") == 1


def test_a_platform_card_change_reaches_every_copy(watch: Watch, stripe_client: stripe.StripeClient) -> None:
    (alice,) = ours(stripe_client, None, "alice")
    changed = stripe_client.v1.customers.update(alice.id, {"source": "tok_mastercard"})
    new_source = changed.default_source

    def copies_hold_the_new_card() -> bool:
        copies = [ours(stripe_client, account, "alice") for account in (BOOKSHOP, COFFEE)]
        return all(
            len(found) == 1
            and found[0].metadata["reconcile_source"] == new_source
            and found[0].default_source.brand == "MasterCard"
            for found in copies
        )

    wait_until(copies_hold_the_new_card, what="every copy to hold the new card")
    assert watch.metric("reconcile_watch_lag_seconds_count") >= 1


def test_a_copy_edited_on_an_account_is_repaired(watch: Watch, stripe_client: stripe.StripeClient) -> None:
    (copy,) = ours(stripe_client, BOOKSHOP, "alice")
    stripe_client.v1.customers.update(
        copy.id, {"name": "Mallory", "metadata": {"tier": "bronze"}}, {"stripe_account": BOOKSHOP}
    )

    def repaired() -> bool:
        (now,) = ours(stripe_client, BOOKSHOP, "alice")
        return now.name == "Alice Liddell" and now.metadata["tier"] == "gold"

    wait_until(repaired, what="the copy to be repaired")
    assert watch.metric("reconcile_watch_events_total", type="customer.updated", outcome="queued") >= 1


def test_a_copy_deleted_on_an_account_is_shared_again(watch: Watch, stripe_client: stripe.StripeClient) -> None:
    (copy,) = ours(stripe_client, COFFEE, "bob")
    stripe_client.v1.customers.delete(copy.id, options={"stripe_account": COFFEE})
    wait_until(lambda: len(ours(stripe_client, COFFEE, "bob")) == 1, what="a new copy")
    (again,) = ours(stripe_client, COFFEE, "bob")
    assert again.id != copy.id
    assert again.email == "bob@example.com"
    assert again.default_source is not None


def last_event(client: stripe.StripeClient, kind: str, account: str | None = None) -> dict[str, Any]:
    options: Any = {"stripe_account": account} if account else {}
    (event,) = client.v1.events.list({"type": kind, "limit": 1}, options).data
    result: dict[str, Any] = event.to_dict()
    return result


def test_a_duplicate_event_is_received_once(watch: Watch, stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    (copy,) = ours(stripe_client, BOOKSHOP, "alice")
    stripe_client.v1.customers.update(copy.id, {"name": "Mallory"}, {"stripe_account": BOOKSHOP})
    wait_until(lambda: ours(stripe_client, BOOKSHOP, "alice")[0].name == "Alice Liddell", what="the repair")
    listed = stripe_client.v1.events.list({"type": "customer.updated", "limit": 10}, {"stripe_account": BOOKSHOP})
    # The seller's edit, which the sandbox delivered already: Stripe may deliver an event twice.
    event = next(e.to_dict() for e in listed.data if e.data.object.name == "Mallory")
    sandbox.reset_stats()
    status, answer = watch.deliver(event, watch.secrets[1])
    assert (status, answer) == (200, {"received": True, "outcome": "duplicate"})
    assert sandbox.stats()["total"] == 0


def test_an_event_arriving_after_newer_ones_changes_nothing(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, marketplace: Path, api_key: str, reconcile: Any
) -> None:
    assert reconcile("apply", marketplace, "--auto-approve").exit_code == 0
    (alice,) = ours(stripe_client, None, "alice")
    first = stripe_client.v1.customers.update(alice.id, {"source": "tok_amex"}).default_source
    # Made before any webhook endpoint existed, so never delivered: it reaches watch only at the end,
    # after a newer change, as a delivery retried late would.
    older = next(
        event
        for event in (e.to_dict() for e in stripe_client.v1.events.list({"type": "customer.updated"}).data)
        if event["data"]["object"]["default_source"] == first
    )
    with watching(sandbox, stripe_client, marketplace, api_key) as watch:
        second = stripe_client.v1.customers.update(alice.id, {"source": "tok_discover"}).default_source

        def on_the_second_card() -> bool:
            copies = [ours(stripe_client, account, "alice")[0] for account in (BOOKSHOP, COFFEE)]
            return all(copy.metadata["reconcile_source"] == second for copy in copies)

        wait_until(on_the_second_card, what="the second card on every copy")
        sandbox.reset_stats()
        in_step = watch.metric("reconcile_watch_reconciles_total", trigger="event", outcome="in_step")
        assert watch.deliver(older)[1]["outcome"] == "queued"  # not seen before: read again
        wait_until(
            lambda: watch.metric("reconcile_watch_reconciles_total", trigger="event", outcome="in_step") > in_step
        )
        assert on_the_second_card()
        assert [op for op in sandbox.stats()["requests"] if not op.startswith("GET ")] == []  # reads only


def test_a_badly_signed_event_is_refused(watch: Watch, stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    event = last_event(stripe_client, "customer.created")
    body = b'{"id": "evt_forged", "object": "event"}'
    sandbox.reset_stats()
    assert watch.post(body, "t=1,v1=" + "0" * 64)[0] == 400
    assert watch.post(body, None)[0] == 400
    old = sign(body, watch.secrets[0], timestamp=1_000_000_000)
    assert watch.post(body, old)[0] == 400  # signed with the secret, but long ago: a replay
    assert watch.post(body, sign(body, "whsec_someoneelse"))[0] == 400
    assert watch.metric("reconcile_watch_events_total", type="unknown", outcome="bad_signature") == 4
    assert sandbox.stats()["total"] == 0
    assert event["type"] == "customer.created"


def test_an_event_for_an_unmanaged_customer_makes_no_api_call(
    watch: Watch, stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.reset_stats()
    stranger = stripe_client.v1.customers.create({"email": "carol@example.com", "source": "tok_visa"})
    stripe_client.v1.customers.update(stranger.id, {"name": "Carol"})
    seller = stripe_client.v1.customers.create({"email": "dave@example.com"}, {"stripe_account": BOOKSHOP})
    wait_until(
        lambda: watch.metric("reconcile_watch_events_total", outcome="unmanaged") >= 4,
        what="the four events to be received",
    )
    assert sandbox.stats()["requests"] == {"POST /v1/customers": 2, "POST /v1/customers/{customer}": 1}
    assert seller.id


def test_a_conflicted_customer_is_reported_and_left_alone(
    watch: Watch, stripe_client: stripe.StripeClient, caplog: pytest.LogCaptureFixture
) -> None:
    (alice,) = ours(stripe_client, None, "alice")
    theirs = {"reconcile_owner": "other", "reconcile_platform_customer": alice.id}
    foreign = stripe_client.v1.customers.create(
        {"email": "a@example.com", "metadata": theirs}, {"stripe_account": BOOKSHOP}
    )
    wait_until(lambda: watch.metric("reconcile_watch_reconciles_total", trigger="event", outcome="held") >= 1)
    (copy,) = ours(stripe_client, COFFEE, "alice")
    stripe_client.v1.customers.update(copy.id, {"name": "Mallory"}, {"stripe_account": COFFEE})
    wait_until(lambda: watch.metric("reconcile_watch_reconciles_total", trigger="event", outcome="held") >= 2)
    assert ours(stripe_client, COFFEE, "alice")[0].name == "Mallory"  # alice is not touched while in conflict
    assert f"copy {foreign.id} of {alice.id} is owned by 'other'" in caplog.text
    stripe_client.v1.customers.delete(foreign.id, options={"stripe_account": BOOKSHOP})
    wait_until(lambda: ours(stripe_client, COFFEE, "alice")[0].name == "Alice Liddell", what="the repair")


def test_an_unsafe_plan_is_reported_and_not_applied(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, tmp_path: Path, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    people = "".join(
        f"  c{n}:\n    email: c{n}@example.com\n    payment: {{source: tok_visa}}\n    accounts: [bookshop]\n"
        for n in range(10)
    )
    file = tmp_path / "ten.yaml"
    file.write_text(f"version: 1\nowner: acme\nmode: test\naccounts:\n  bookshop: {BOOKSHOP}\ncustomers:\n{people}")
    with watching(sandbox, stripe_client, file, api_key, window=1.0) as watch:
        copies = [ours(stripe_client, BOOKSHOP, f"c{n}")[0] for n in range(4)]
        for copy in copies:  # 4 of the 10 copies at once: more than the 30% one plan may change
            stripe_client.v1.customers.update(copy.id, {"email": "mallory@example.com"}, {"stripe_account": BOOKSHOP})
        wait_until(lambda: watch.metric("reconcile_watch_reconciles_total", trigger="event", outcome="held") >= 1)
        assert [ours(stripe_client, BOOKSHOP, f"c{n}")[0].email for n in range(4)] == ["mallory@example.com"] * 4
        assert "not applying an unsafe plan (would update or unshare 4 of the 10 copies on 'bookshop'" in caplog.text


def test_a_concurrent_apply_of_the_same_file_converges(
    watch: Watch,
    stripe_client: stripe.StripeClient,
    marketplace: Path,
    reconcile: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reconcile.watch")
    (alice,) = ours(stripe_client, None, "alice")
    marketplace.write_text(MARKETPLACE.replace("tier: gold", "tier: platinum"), encoding="utf-8")
    new_source = stripe_client.v1.customers.update(alice.id, {"source": "tok_visa_debit"}).default_source
    applied = reconcile("apply", marketplace, "--auto-approve")  # while watch reloads and rotates the cards
    assert applied.exit_code == 0, applied.output
    wait_until(lambda: reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0, what="no changes left")
    for account in (BOOKSHOP, COFFEE):
        (copy,) = ours(stripe_client, account, "alice")  # one copy each: neither process made a second
        assert (copy.metadata["tier"], copy.metadata["reconcile_source"]) == ("platinum", new_source)
        cards = stripe_client.v1.customers.payment_sources.list(
            copy.id, {"limit": 10}, {"stripe_account": account}
        ).data
        assert [card.id for card in cards] == [copy.default_source.id]  # and one card
    wait_until(lambda: "reloaded" in caplog.text, what="watch to see the file change")
    wait_until(lambda: reconcile("plan", marketplace, "--detailed-exitcode").exit_code == 0, what="no changes left")


def test_healthz_says_ok_once_synced_and_metrics_are_prometheus_text(watch: Watch) -> None:
    assert watch.get("/healthz") == (200, '{"status": "ok"}\n')
    status, text = watch.get("/metrics")
    assert status == 200
    assert "# TYPE reconcile_watch_events_total counter" in text
    assert watch.metric("reconcile_watch_api_requests_total", method="GET") >= 3  # the start-up resync's lists
    assert watch.metric("reconcile_watch_actions_total", kind="share", outcome="done") == 3
    assert watch.metric("reconcile_watch_last_resync_timestamp_seconds") > 0
    assert watch.get("/nothing")[0] == 404


def test_healthz_is_503_until_the_first_resync(marketplace: Path, api_key: str) -> None:
    watcher = Watcher(
        config.load(marketplace), Gateway(api_key), WatchSettings(), load=lambda: config.load(marketplace)
    )
    assert watcher.health() == (False, "starting: the first resync has not finished")


def test_every_request_watch_makes_passes_the_spec(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, marketplace: Path, api_key: str, proxy: tuple[str, Path]
) -> None:
    url, report = proxy
    with watching(sandbox, stripe_client, marketplace, api_key, api_base=url) as watch:
        (alice,) = ours(stripe_client, None, "alice")
        new_source = stripe_client.v1.customers.update(alice.id, {"source": "tok_mastercard"}).default_source
        (copy,) = ours(stripe_client, COFFEE, "bob")
        stripe_client.v1.customers.update(copy.id, {"phone": "+15555550199"}, {"stripe_account": COFFEE})
        wait_until(lambda: ours(stripe_client, COFFEE, "bob")[0].phone == "+15555550100", what="the repair")
        wait_until(
            lambda: all(
                ours(stripe_client, a, "alice")[0].metadata["reconcile_source"] == new_source
                for a in (BOOKSHOP, COFFEE)
            )
        )
        poller = Poller(watch.gateway, watch.watcher, interval=60)
        poller.prime()
        stripe_client.v1.customers.update(alice.id, {"name": "Alice"})
        poller.poll()
    exchanges = [json.loads(line) for line in report.read_text().splitlines()]
    assert {f"{e['method']} {e['template']}" for e in exchanges} == {
        "GET /v1/customers",
        "GET /v1/customers/{customer}",
        "GET /v1/events",
        "POST /v1/customers",
        "POST /v1/tokens",
        "POST /v1/customers/{customer}",
    }
    assert [e for e in exchanges if e["violations"]] == []
