"""Sandbox: card PaymentMethods (create, retrieve, update, attach, detach, list) and cloning onto an account."""

from __future__ import annotations

import pytest
import stripe


def on(account: str) -> stripe.RequestOptions:
    return {"stripe_account": account}


def card_of(payment_method: stripe.PaymentMethod) -> tuple[object, ...]:
    card = payment_method.card
    assert card is not None
    return (card.brand, card.last4, card.exp_month, card.exp_year, card.fingerprint, card.funding, card.country)


def test_payment_method_is_made_from_a_card_token(stripe_client: stripe.StripeClient) -> None:
    made = stripe_client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_mastercard"}, "billing_details": {"name": "Alice"}}
    )
    assert made.id.startswith("pm_")
    assert len(made.id) == 27
    assert (made.type, made.customer, made.billing_details.name) == ("card", None, "Alice")
    assert made.card is not None
    assert (made.card.brand, made.card.last4) == ("mastercard", "4444")
    assert stripe_client.v1.payment_methods.retrieve(made.id).to_dict() == made.to_dict()


def test_payment_method_needs_a_type_and_a_card_token(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_type:
        stripe_client.v1.payment_methods.create({"card": {"token": "tok_visa"}})
    assert no_type.value.user_message == "Missing required param: type."
    with pytest.raises(stripe.InvalidRequestError) as no_card:
        stripe_client.v1.payment_methods.create({"type": "card"})
    assert no_card.value.param == "card"


def test_payment_method_metadata_and_billing_details_are_updated(stripe_client: stripe.StripeClient) -> None:
    made = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    updated = stripe_client.v1.payment_methods.update(
        made.id, {"metadata": {"a": "1"}, "billing_details": {"email": "a@example.com"}, "card": {"exp_year": 2040}}
    )
    assert updated.metadata.to_dict() == {"a": "1"}
    assert updated.billing_details.email == "a@example.com"
    assert updated.card is not None
    assert updated.card.exp_year == 2040


def test_attach_and_detach(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    made = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    attached = stripe_client.v1.payment_methods.attach(made.id, {"customer": customer.id})
    assert attached.customer == customer.id
    stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": made.id}})
    detached = stripe_client.v1.payment_methods.detach(made.id)
    assert detached.customer is None
    assert stripe_client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None


def test_detached_payment_method_cannot_be_attached_again(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    made = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    stripe_client.v1.payment_methods.detach(made.id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.attach(made.id, {"customer": customer.id})
    assert "may not be used again" in (refused.value.user_message or "")


def test_payment_method_of_one_customer_cannot_be_attached_to_another(stripe_client: stripe.StripeClient) -> None:
    first, second = stripe_client.v1.customers.create(), stripe_client.v1.customers.create()
    made = stripe_client.v1.payment_methods.attach("pm_card_amex", {"customer": first.id})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.attach(made.id, {"customer": second.id})
    assert refused.value.user_message == "The payment method you provided has already been attached to a customer."


def test_detach_of_an_unattached_payment_method_is_refused(stripe_client: stripe.StripeClient) -> None:
    made = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.detach(made.id)
    assert "not attached to a customer" in (refused.value.user_message or "")


def test_attach_needs_a_customer_that_exists(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.payment_methods.attach("pm_card_visa", {})
    assert missing.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": "cus_nobody"})
    assert (unknown.value.http_status, unknown.value.param) == (400, "customer")


def test_test_payment_method_ids_make_a_new_payment_method_each_time(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    first = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = stripe_client.v1.payment_methods.attach("pm_card_visa_debit", {"customer": customer.id})
    assert first.id != second.id
    assert first.id.startswith("pm_")
    assert second.card is not None
    assert second.card.funding == "debit"


def test_customer_payment_methods_are_listed_both_ways(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_amex"})
    first = stripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = stripe_client.v1.payment_methods.attach("pm_card_mastercard", {"customer": customer.id})
    expected = [second.id, first.id, customer.default_source]  # cards are listed too, as Stripe does
    by_customer = stripe_client.v1.customers.payment_methods.list(customer.id)
    by_query = stripe_client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [pm.id for pm in by_customer.data] == expected
    assert [pm.id for pm in by_query.data] == expected
    assert by_customer.url == f"/v1/customers/{customer.id}/payment_methods"
    page = stripe_client.v1.customers.payment_methods.list(customer.id, {"limit": 1, "starting_after": second.id})
    assert ([pm.id for pm in page.data], page.has_more) == ([first.id], True)
    assert stripe_client.v1.payment_methods.list({"customer": customer.id, "type": "sepa_debit"}).data == []


def test_listing_payment_methods_of_an_unknown_customer_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as path:
        stripe_client.v1.customers.payment_methods.list("cus_nobody")
    assert path.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as query:
        stripe_client.v1.payment_methods.list({"customer": "cus_nobody"})
    assert (query.value.http_status, query.value.param) == (400, "customer")


def test_card_source_is_seen_through_the_payment_methods_api(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    seen = stripe_client.v1.payment_methods.retrieve(str(customer.default_source))
    assert (seen.id, seen.object, seen.type, seen.customer) == (
        customer.default_source,
        "payment_method",
        "card",
        customer.id,
    )


def test_clone_gives_the_connected_account_a_payment_method_with_the_same_card(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    customer = stripe_client.v1.customers.create({"payment_method": "pm_card_visa"})
    original = stripe_client.v1.customers.payment_methods.list(customer.id).data[0]
    clone = stripe_client.v1.payment_methods.create(
        {"customer": customer.id, "payment_method": original.id}, on(connected_account)
    )
    assert clone.id != original.id
    assert clone.customer is None
    assert card_of(clone) == card_of(original)
    assert stripe_client.v1.payment_methods.retrieve(clone.id, options=on(connected_account)).id == clone.id
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_methods.retrieve(clone.id)  # it lives on the connected account only
    copy = stripe_client.v1.customers.create(
        {"payment_method": clone.id, "invoice_settings": {"default_payment_method": clone.id}}, on(connected_account)
    )
    assert copy.invoice_settings.default_payment_method == clone.id


def test_clone_of_a_card_source(stripe_client: stripe.StripeClient, connected_account: str) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_mastercard"})
    clone = stripe_client.v1.payment_methods.create(
        {"customer": customer.id, "payment_method": str(customer.default_source)}, on(connected_account)
    )
    assert clone.id.startswith("pm_")
    assert clone.card is not None
    assert (clone.card.brand, clone.card.last4) == ("mastercard", "4444")


def test_clone_needs_the_stripe_account_header(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"payment_method": "pm_card_visa"})
    original = stripe_client.v1.customers.payment_methods.list(customer.id).data[0]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.create({"customer": customer.id, "payment_method": original.id})
    assert "Stripe-Account" in (refused.value.user_message or "")


def test_clone_refuses_a_payment_method_of_another_customer(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    owner = stripe_client.v1.customers.create({"payment_method": "pm_card_visa"})
    other = stripe_client.v1.customers.create()
    original = stripe_client.v1.customers.payment_methods.list(owner.id).data[0]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.create(
            {"customer": other.id, "payment_method": original.id}, on(connected_account)
        )
    assert refused.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.payment_methods.create(
            {"customer": owner.id, "payment_method": "pm_unknown"}, on(connected_account)
        )
    assert (missing.value.code, missing.value.user_message) == (
        "resource_missing",
        "No such PaymentMethod: 'pm_unknown'",
    )


def test_retrieving_a_test_payment_method_id_makes_a_payment_method(stripe_client: stripe.StripeClient) -> None:
    made = stripe_client.v1.payment_methods.retrieve("pm_card_amex")
    assert made.id.startswith("pm_")
    assert made.id != "pm_card_amex"
    assert made.card is not None
    assert (made.card.brand, made.card.last4) == ("amex", "0005")
