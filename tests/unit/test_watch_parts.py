"""watch's pure parts: reading events, the managed index, coalescing, and its option values."""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.errors import ReconcileError
from reconcile.model import Customer, CustomerSpec, DesiredState, Fields, Mode, ObservedState, Strategy, frozen_map
from reconcile.watch.events import MalformedEvent, read_event
from reconcile.watch.inbox import Inbox
from reconcile.watch.index import ManagedIndex
from reconcile.watch.options import parse_duration, parse_listen
from reconcile.watch.signature import BadSignature, parse_secrets, verify
from tests.integration.watching import sign

SHOP = "acct_1Shop"


def event(kind: str, obj: dict[str, Any], *, account: str | None = None, key: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "evt_1",
        "object": "event",
        "type": kind,
        "created": 1_700_000_000,
        "data": {"object": obj},
        "request": {"id": "req_1", "idempotency_key": key},
    }
    if account:
        data["account"] = account
    return data


def customer(cid: str, **metadata: str) -> Customer:
    return Customer(id=cid, fields=Fields(metadata=frozen_map(metadata)))


def test_a_customer_event_names_the_customer_and_its_metadata() -> None:
    touch = read_event(event("customer.updated", {"id": "cus_1", "metadata": {"a": "b"}}, account=SHOP, key="k"))
    assert (touch.customer, touch.account, dict(touch.metadata or {}), touch.idempotency_key) == (
        "cus_1",
        SHOP,
        {"a": "b"},
        "k",
    )
    assert not touch.deleted


def test_a_card_event_names_the_customer_it_belongs_to() -> None:
    touch = read_event(event("customer.source.created", {"id": "card_1", "object": "card", "customer": "cus_2"}))
    assert (touch.customer, touch.metadata) == ("cus_2", None)


def test_a_detached_payment_method_names_its_previous_customer() -> None:
    data = event("payment_method.detached", {"id": "pm_1", "customer": None})
    data["data"]["previous_attributes"] = {"customer": "cus_3"}
    assert read_event(data).customer == "cus_3"


@pytest.mark.parametrize(
    "body", [[], {"object": "event"}, {"id": "evt_1", "object": "charge"}, {"id": "x", "object": "event"}]
)
def test_what_is_not_an_event_is_refused(body: object) -> None:
    with pytest.raises(MalformedEvent):
        read_event(body)


def desired(**customers: str | None) -> DesiredState:
    return DesiredState(
        owner="acme",
        mode=Mode.TEST,
        strategy=Strategy.TOKEN,
        accounts={"shop": SHOP},
        customers=tuple(CustomerSpec(key=key, id=cid) for key, cid in customers.items()),
    )


def index_of(*, platform: tuple[Customer, ...], copies: tuple[Customer, ...]) -> ManagedIndex:
    file = desired(alice=None, bob="cus_adopted")
    return ManagedIndex.observed(file, ObservedState(platform=platform, accounts={SHOP: copies}), {"shop": SHOP})


def test_the_index_knows_our_customers_copies_and_other_owners_copies_of_ours() -> None:
    index = index_of(
        platform=(customer("cus_alice", reconcile_owner="acme", reconcile_key="alice"), customer("cus_adopted")),
        copies=(
            customer("cus_copy", reconcile_owner="acme", reconcile_key="alice"),
            customer("cus_theirs", reconcile_owner="other", reconcile_platform_customer="cus_alice"),
            customer("cus_stranger"),
        ),
    )
    assert index.places("alice") == {(None, "cus_alice"), (SHOP, "cus_copy"), (SHOP, "cus_theirs")}
    assert index.places("bob") == {(None, "cus_adopted")}
    assert index.copies_held() == {"shop": 1}  # another owner's copy is not ours to count


def test_an_event_is_ours_by_id_or_by_ownership_metadata_else_unmanaged() -> None:
    index = index_of(platform=(customer("cus_alice", reconcile_owner="acme", reconcile_key="alice"),), copies=())
    by_id = read_event(event("customer.source.created", {"id": "card_1", "customer": "cus_alice"}))
    new_copy = read_event(
        event(
            "customer.created",
            {"id": "cus_new", "metadata": {"reconcile_owner": "acme", "reconcile_key": "alice"}},
            account=SHOP,
        )
    )
    stranger = read_event(event("customer.updated", {"id": "cus_x", "metadata": {}}, account=SHOP))
    elsewhere = read_event(event("customer.created", {"id": "cus_y", "metadata": {}}, account="acct_1Elsewhere"))
    assert [index.key_of(t) for t in (by_id, new_copy, stranger, elsewhere)] == ["alice", "alice", None, None]
    index.learn(new_copy, "alice")
    assert (SHOP, "cus_new") in index.places("alice")
    deleted = read_event(event("customer.deleted", {"id": "cus_new", "metadata": {}}, account=SHOP))
    index.learn(deleted, "alice")
    assert (SHOP, "cus_new") not in index.places("alice")


def test_the_inbox_drops_duplicates_and_coalesces_a_customer_over_its_window() -> None:
    now = [100.0]
    inbox = Inbox(window=1.0, clock=lambda: now[0])
    assert inbox.first_sight("evt_1")
    assert not inbox.first_sight("evt_1")
    inbox.put("alice", created=50)
    now[0] = 100.5
    inbox.put("alice", created=49)
    assert inbox.take(timeout=0) == {}
    inbox.put("bob", created=51)
    now[0] = 101.0
    taken = inbox.take(timeout=0)
    assert (taken["alice"].events, taken["alice"].first_created) == (2, 49)
    assert set(taken) == {"alice", "bob"}  # bob's window has not passed, but a burst is planned whole
    assert inbox.take(timeout=0) == {}


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--resync") == seconds


@pytest.mark.parametrize("text", ["", "0", "1x", "h", "-5"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ReconcileError, match="--resync"):
        parse_duration(text, "--resync")


def test_listen_addresses() -> None:
    assert parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen(":9000") == ("0.0.0.0", 9000)
    with pytest.raises(ReconcileError, match="HOST:PORT"):
        parse_listen("8080")


def test_a_signature_of_any_configured_secret_is_accepted() -> None:
    body = b'{"id": "evt_1"}'
    secrets = parse_secrets(" whsec_platform , whsec_connect,")
    assert secrets == ("whsec_platform", "whsec_connect")
    verify(body, sign(body, "whsec_connect"), secrets)
    with pytest.raises(BadSignature):
        verify(body, sign(body, "whsec_other"), secrets)
    with pytest.raises(BadSignature):
        verify(body + b" ", sign(body, "whsec_platform"), secrets)
