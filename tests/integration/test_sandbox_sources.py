"""Sandbox: a customer's card sources, and card fingerprints."""

from __future__ import annotations

import pytest
import stripe


def test_added_card_becomes_default_only_when_there_is_none(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    first = stripe_client.v1.customers.payment_sources.create(customer.id, {"source": "tok_visa"})
    second = stripe_client.v1.customers.payment_sources.create(
        customer.id, {"source": "tok_mastercard", "metadata": {"label": "work"}}
    )
    assert stripe_client.v1.customers.retrieve(customer.id).default_source == first.id
    assert second.metadata.to_dict() == {"label": "work"}
    listed = stripe_client.v1.customers.payment_sources.list(customer.id)
    assert [card.id for card in listed.data] == [second.id, first.id]
    assert listed.url == f"/v1/customers/{customer.id}/sources"


def test_sources_list_filters_by_object_and_pages(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    cards = [
        stripe_client.v1.customers.payment_sources.create(customer.id, {"source": "tok_visa"}).id for _ in range(3)
    ]
    page = stripe_client.v1.customers.payment_sources.list(customer.id, {"limit": 2, "object": "card"})
    assert ([card.id for card in page.data], page.has_more) == ([cards[2], cards[1]], True)
    assert stripe_client.v1.customers.payment_sources.list(customer.id, {"object": "bank_account"}).data == []


def test_card_is_retrieved_updated_and_deleted(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    card_id = str(customer.default_source)
    card = stripe_client.v1.customers.payment_sources.retrieve(customer.id, card_id)
    assert card.id == card_id
    updated = stripe_client.v1.customers.payment_sources.update(
        customer.id, card_id, {"name": "Alice L", "exp_month": 1, "metadata": {"a": "b"}}
    )
    assert (updated.name, updated.exp_month, updated.metadata.to_dict()) == ("Alice L", 1, {"a": "b"})
    deleted = stripe_client.v1.customers.payment_sources.delete(customer.id, card_id)
    assert deleted.to_dict() == {"id": card_id, "object": "card", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.payment_sources.retrieve(customer.id, card_id)
    assert (missing.value.http_status, missing.value.user_message) == (404, f"No such source: '{card_id}'")


def test_deleting_the_default_card_makes_the_newest_other_card_default(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    older = stripe_client.v1.customers.payment_sources.create(customer.id, {"source": "tok_amex"})
    newer = stripe_client.v1.customers.payment_sources.create(customer.id, {"source": "tok_mastercard"})
    stripe_client.v1.customers.payment_sources.delete(customer.id, str(customer.default_source))
    assert stripe_client.v1.customers.retrieve(customer.id).default_source == newer.id
    stripe_client.v1.customers.payment_sources.delete(customer.id, newer.id)
    stripe_client.v1.customers.payment_sources.delete(customer.id, older.id)
    assert stripe_client.v1.customers.retrieve(customer.id).default_source is None


def test_a_card_of_another_customer_is_not_found(stripe_client: stripe.StripeClient) -> None:
    owner = stripe_client.v1.customers.create({"source": "tok_visa"})
    other = stripe_client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.payment_sources.delete(other.id, str(owner.default_source))
    assert missing.value.http_status == 404


def test_sources_of_an_unknown_customer_are_a_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.payment_sources.list("cus_nobody")
    assert missing.value.user_message == "No such customer: 'cus_nobody'"


def test_fingerprint_is_per_card_number(stripe_client: stripe.StripeClient) -> None:
    def fingerprint(token: str) -> str:
        customer = stripe_client.v1.customers.create({"source": token, "expand": ["default_source"]})
        return str(customer.default_source.fingerprint)

    visa = fingerprint("tok_visa")
    assert len(visa) == 16
    assert fingerprint("tok_visa") == visa
    assert fingerprint("tok_mastercard") != visa
