"""Sandbox: an Event for every change to customers, cards and PaymentMethods, read back through /v1/events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox
from tests.conftest import RawRequest


def events(client: stripe.StripeClient, account: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every event of the platform (or of a connected account), oldest first, as plain dicts."""
    found = client.v1.events.list(params, {"stripe_account": account}).auto_paging_iter()
    return [event.to_dict() for event in found][::-1]


def types(client: stripe.StripeClient, account: str | None = None, **params: Any) -> list[str]:
    return [event["type"] for event in events(client, account, **params)]


def test_creating_a_customer_with_a_card_records_customer_then_source_created(
    stripe_client: stripe.StripeClient,
) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"})
    created, source_created = events(stripe_client)
    assert created["type"] == "customer.created"
    assert created["data"] == {"object": alice.to_dict()}
    assert source_created["type"] == "customer.source.created"
    assert source_created["data"]["object"]["id"] == alice.default_source
    assert source_created["data"]["object"]["customer"] == alice.id


def test_an_event_has_stripes_shape(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.customers.create({"email": "alice@example.com"}, {"idempotency_key": "make-alice"})
    (event,) = events(stripe_client)
    assert event["id"].startswith("evt_")
    assert len(event["id"]) == len("evt_1NnmXEGPxmnHQRkJO3bak93X")
    assert event["object"] == "event"
    assert event["api_version"] == "2026-10-28.endive"
    assert isinstance(event["created"], int)
    assert event["livemode"] is False
    assert event["pending_webhooks"] == 0
    assert event["request"]["idempotency_key"] == "make-alice"
    assert event["request"]["id"].startswith("req_")
    assert "account" not in event  # only connected accounts' events name their account


def test_the_event_names_the_request_that_caused_it(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    (event,) = events(stripe_client)
    assert event["request"]["id"] == alice.last_response.request_id


def test_an_update_records_customer_updated_with_previous_attributes(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com", "metadata": {"tier": "gold"}})
    stripe_client.v1.customers.update(
        alice.id, {"email": "liddell@example.com", "metadata": {"tier": "silver", "since": "2024"}}
    )
    updated = events(stripe_client)[-1]
    assert updated["type"] == "customer.updated"
    assert updated["data"]["object"]["email"] == "liddell@example.com"
    # Only what changed, with the values before; a metadata key that is new was null.
    assert updated["data"]["previous_attributes"] == {
        "email": "alice@example.com",
        "metadata": {"tier": "gold", "since": None},
    }


def test_an_update_that_changes_nothing_records_nothing(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    stripe_client.v1.customers.update(alice.id, {"email": "alice@example.com"})
    assert types(stripe_client) == ["customer.created"]


def test_replacing_the_default_card_records_source_created_source_deleted_and_customer_updated(
    stripe_client: stripe.StripeClient,
) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"})
    replaced = stripe_client.v1.customers.update(alice.id, {"source": "tok_mastercard"})
    new, old, customer = events(stripe_client)[2:]
    assert (new["type"], new["data"]["object"]["id"]) == ("customer.source.created", replaced.default_source)
    assert (old["type"], old["data"]["object"]["id"]) == ("customer.source.deleted", alice.default_source)
    assert customer["type"] == "customer.updated"
    assert customer["data"]["previous_attributes"] == {"default_source": alice.default_source}


def test_card_changes_record_customer_source_events(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    card = stripe_client.v1.customers.payment_sources.create(alice.id, {"source": "tok_amex"})
    stripe_client.v1.customers.payment_sources.update(alice.id, card.id, {"exp_month": 3, "name": "A. Liddell"})
    stripe_client.v1.customers.payment_sources.delete(alice.id, card.id)
    recorded = events(stripe_client)
    assert [event["type"] for event in recorded] == [
        "customer.created",
        "customer.source.created",
        "customer.updated",  # its first card became its default source
        "customer.source.updated",
        "customer.source.deleted",
        "customer.updated",  # and no longer is
    ]
    assert recorded[2]["data"]["previous_attributes"] == {"default_source": None}
    previous = recorded[3]["data"]["previous_attributes"]
    assert previous.keys() == {"exp_month", "name"}
    assert previous["name"] is None


def test_payment_method_attach_update_and_detach_are_recorded(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    payment_method = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    stripe_client.v1.payment_methods.attach(payment_method.id, {"customer": alice.id})
    stripe_client.v1.payment_methods.update(payment_method.id, {"metadata": {"nickname": "work"}})
    stripe_client.v1.payment_methods.detach(payment_method.id)
    recorded = events(stripe_client)
    # Stripe has no event for making an unattached PaymentMethod.
    assert [event["type"] for event in recorded] == [
        "customer.created",
        "payment_method.attached",
        "payment_method.updated",
        "payment_method.detached",
    ]
    assert recorded[1]["data"]["object"]["customer"] == alice.id
    assert recorded[2]["data"]["previous_attributes"] == {"metadata": {"nickname": None}}
    assert recorded[3]["data"]["object"]["customer"] is None
    assert "previous_attributes" not in recorded[3]["data"]


def test_detaching_a_card_source_through_the_payment_methods_api_deletes_it(
    stripe_client: stripe.StripeClient,
) -> None:
    alice = stripe_client.v1.customers.create({"source": "tok_visa"})
    stripe_client.v1.payment_methods.detach(str(alice.default_source))
    deleted, updated = events(stripe_client)[2:]
    assert (deleted["type"], deleted["data"]["object"]["id"]) == ("customer.source.deleted", alice.default_source)
    assert (updated["type"], updated["data"]["previous_attributes"]) == (
        "customer.updated",
        {"default_source": alice.default_source},
    )


def test_a_customer_created_with_a_payment_method_records_the_attachment(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.customers.create({"email": "alice@example.com", "payment_method": "pm_card_visa"})
    assert types(stripe_client) == ["customer.created", "payment_method.attached"]


def test_deleting_a_customer_records_what_went_with_it(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"})
    stripe_client.v1.payment_methods.attach("pm_card_mastercard", {"customer": alice.id})
    stripe_client.v1.customers.delete(alice.id)
    deleted = events(stripe_client)[3:]
    assert [event["type"] for event in deleted] == [
        "customer.deleted",
        "customer.source.deleted",
        "payment_method.detached",
    ]
    assert deleted[0]["data"]["object"]["id"] == alice.id
    assert deleted[0]["data"]["object"]["email"] == "alice@example.com"  # the whole customer, as it was


def test_tokens_and_unattached_payment_methods_record_nothing(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    alice = stripe_client.v1.customers.create({"source": "tok_visa"})
    stripe_client.v1.tokens.create({"customer": alice.id}, {"stripe_account": connected_account})
    stripe_client.v1.payment_methods.create(
        {"customer": alice.id, "payment_method": str(alice.default_source)}, {"stripe_account": connected_account}
    )
    assert events(stripe_client, connected_account) == []


def test_connected_accounts_events_name_the_account_and_are_listed_with_its_header(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"})
    token = stripe_client.v1.tokens.create({"customer": alice.id}, {"stripe_account": connected_account})
    copy = stripe_client.v1.customers.create({"source": token.id}, {"stripe_account": connected_account})
    on_account = events(stripe_client, connected_account)
    assert [event["type"] for event in on_account] == ["customer.created", "customer.source.created"]
    assert {event["account"] for event in on_account} == {connected_account}
    assert on_account[0]["data"]["object"]["id"] == copy.id
    # The platform sees only its own events, and the account only its own.
    assert types(stripe_client) == ["customer.created", "customer.source.created"]
    assert {event["data"]["object"]["id"] for event in events(stripe_client)} == {alice.id, alice.default_source}


def test_an_event_is_retrieved_only_with_its_accounts_header(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    stripe_client.v1.customers.create({}, {"stripe_account": connected_account})
    (event,) = events(stripe_client, connected_account)
    found = stripe_client.v1.events.retrieve(event["id"], options={"stripe_account": connected_account})
    assert found.to_dict() == event
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.events.retrieve(event["id"])
    assert missing.value.http_status == 404
    assert missing.value.user_message == f"No such event: '{event['id']}'"
    assert missing.value.param == "id"


def test_events_of_one_mode_are_invisible_to_the_other(tmp_path: Path) -> None:
    keys = ("sk_test_sandbox", "sk_live_sandbox")
    with running_sandbox(tmp_path / "modes.sqlite3", api_keys=keys) as sandbox:
        test = stripe.StripeClient(keys[0], base_addresses={"api": sandbox.url}, max_network_retries=0)
        live = stripe.StripeClient(keys[1], base_addresses={"api": sandbox.url}, max_network_retries=0)
        live.v1.customers.create({"email": "alice@example.com"})
        assert types(test) == []
        (event,) = events(live)
        assert event["livemode"] is True


def test_a_replayed_idempotent_request_records_no_second_event(stripe_client: stripe.StripeClient) -> None:
    options = {"idempotency_key": "make-alice"}
    stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"}, options)
    again = stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"}, options)
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert types(stripe_client) == ["customer.created", "customer.source.created"]


def test_a_refused_request_records_nothing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_nothing"})
    assert types(stripe_client) == []


def test_a_write_lost_to_a_fault_after_commit_is_still_recorded(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.configure(fail_rate=1.0, fault_seed=1)
    for _ in range(8):  # some faults fall before the write, some after it
        with pytest.raises(stripe.APIError):
            stripe_client.v1.customers.create({"email": "alice@example.com"})
    sandbox.configure(fail_rate=0)
    written = len(stripe_client.v1.customers.list({"limit": 100}).data)
    assert 0 < written < 8
    assert types(stripe_client) == ["customer.created"] * written


def test_events_are_listed_newest_first_in_pages(stripe_client: stripe.StripeClient) -> None:
    made = [stripe_client.v1.customers.create({"name": f"c{index}"}).id for index in range(5)]
    first = stripe_client.v1.events.list({"limit": 2})
    assert [event.data.object.id for event in first.data] == made[:2:-1]
    assert first.has_more is True
    assert first.url == "/v1/events"
    second = stripe_client.v1.events.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [event.data.object.id for event in second.data] == made[2:0:-1]
    before = stripe_client.v1.events.list({"limit": 2, "ending_before": second.data[0].id})
    assert [event.id for event in before.data] == [event.id for event in first.data]
    assert len(events(stripe_client)) == 5


def test_events_filter_by_type_with_wildcard_and_by_types(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"source": "tok_visa"})
    stripe_client.v1.customers.update(alice.id, {"name": "Alice"})
    stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": alice.id})
    assert types(stripe_client, type="customer.updated") == ["customer.updated"]
    assert types(stripe_client, type="customer.*") == [
        "customer.created",
        "customer.source.created",
        "customer.updated",
    ]
    assert types(stripe_client, type="*.created") == ["customer.created", "customer.source.created"]
    assert types(stripe_client, types=["payment_method.attached", "customer.created"]) == [
        "customer.created",
        "payment_method.attached",
    ]


def test_type_and_types_together_are_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.events.list({"type": "customer.created", "types": ["customer.updated"]})
    assert refused.value.param == "types"


def test_more_than_twenty_types_are_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.events.list({"types": [f"customer.t{index}" for index in range(21)]})
    assert refused.value.param == "types"


def test_events_filter_by_created(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.customers.create()
    (event,) = events(stripe_client)
    assert len(events(stripe_client, created={"gte": event["created"]})) == 1
    assert events(stripe_client, created={"gt": event["created"]}) == []
    assert len(events(stripe_client, created=event["created"])) == 1


def test_a_cursor_that_is_not_an_event_of_the_list_is_refused(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    stripe_client.v1.customers.create({}, {"stripe_account": connected_account})
    (elsewhere,) = events(stripe_client, connected_account)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.events.list({"starting_after": elsewhere["id"]})
    assert refused.value.http_status == 400
    assert refused.value.user_message == f"No such event: '{elsewhere['id']}'"


def test_events_expand_only_data_and_request(stripe_client: stripe.StripeClient, raw: RawRequest) -> None:
    stripe_client.v1.customers.create()
    assert raw("GET", "/v1/events?expand[]=data.data&expand[]=data.request").status == 200
    refused = raw("GET", "/v1/events?expand[]=data.type")
    assert refused.status == 400
    assert refused.error["message"] == "This property cannot be expanded (type)."


def test_seeding_records_events_with_no_request(tmp_path: Path, write_file: Callable[[str, str], Path]) -> None:
    seed = write_file("customers:\n  - email: bob@example.com\n    source: tok_visa\n", "seed.yaml")
    with running_sandbox(tmp_path / "seeded.sqlite3", seed=seed) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url}, max_network_retries=0)
        recorded = events(client)
    assert [event["type"] for event in recorded] == ["customer.created", "customer.source.created"]
    assert {(event["request"]["id"], event["request"]["idempotency_key"]) for event in recorded} == {(None, None)}
