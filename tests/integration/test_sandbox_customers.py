"""Sandbox: customers (CRUD, lists, filters, expansions, metadata, sources and PaymentMethods on them)."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import RawRequest


def ids(customers: list[stripe.Customer]) -> list[str]:
    return [customer.id for customer in customers]


def test_customer_is_created_with_stripes_shape(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(
        {"email": "alice@example.com", "name": "Alice", "phone": "+15555550100", "description": "Shared"}
    )
    assert customer.id.startswith("cus_")
    assert len(customer.id) == 18
    assert (customer.email, customer.name, customer.phone, customer.description) == (
        "alice@example.com",
        "Alice",
        "+15555550100",
        "Shared",
    )
    assert customer.livemode is False
    assert customer.default_source is None
    assert customer.invoice_settings.default_payment_method is None
    assert "sources" not in customer  # current API versions leave sources out unless expanded


def test_customer_is_retrieved_updated_and_fields_unset_with_empty_strings(
    stripe_client: stripe.StripeClient,
) -> None:
    created = stripe_client.v1.customers.create({"email": "a@example.com", "description": "first"})
    updated = stripe_client.v1.customers.update(created.id, {"name": "Alice", "description": ""})
    assert (updated.name, updated.description, updated.email) == ("Alice", None, "a@example.com")
    assert stripe_client.v1.customers.retrieve(created.id).to_dict() == updated.to_dict()


def test_deleted_customer_is_a_stub_absent_from_lists_and_gone_for_updates(
    stripe_client: stripe.StripeClient,
) -> None:
    kept = stripe_client.v1.customers.create({"email": "kept@example.com"})
    gone = stripe_client.v1.customers.create({"email": "gone@example.com"})
    assert stripe_client.v1.customers.delete(gone.id).to_dict() == {
        "id": gone.id,
        "object": "customer",
        "deleted": True,
    }
    assert stripe_client.v1.customers.retrieve(gone.id).to_dict() == {
        "id": gone.id,
        "object": "customer",
        "deleted": True,
    }
    assert ids(stripe_client.v1.customers.list().data) == [kept.id]
    for attempt in (
        lambda: stripe_client.v1.customers.update(gone.id, {"name": "x"}),
        lambda: stripe_client.v1.customers.delete(gone.id),
    ):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            attempt()
        assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
        assert missing.value.user_message == f"No such customer: '{gone.id}'"


def test_list_is_newest_first_ten_by_default_and_pages_both_ways(stripe_client: stripe.StripeClient) -> None:
    made = [stripe_client.v1.customers.create({"email": f"c{n}@example.com"}).id for n in range(12)]
    newest_first = made[::-1]
    first = stripe_client.v1.customers.list()
    assert (ids(first.data), first.has_more, first.url) == (newest_first[:10], True, "/v1/customers")
    after = stripe_client.v1.customers.list({"limit": 5, "starting_after": newest_first[4]})
    assert (ids(after.data), after.has_more) == (newest_first[5:10], True)
    before = stripe_client.v1.customers.list({"limit": 3, "ending_before": newest_first[6]})
    assert (ids(before.data), before.has_more) == (newest_first[3:6], True)
    last = stripe_client.v1.customers.list({"limit": 100, "starting_after": newest_first[9]})
    assert (ids(last.data), last.has_more) == (newest_first[10:], False)
    assert [c.id for c in stripe_client.v1.customers.list({"limit": 5}).auto_paging_iter()] == newest_first


def test_list_cursor_must_be_a_customer_of_the_account(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.list({"starting_after": "cus_nowhere"})
    assert (missing.value.http_status, missing.value.param) == (400, None)
    assert missing.value.user_message == "No such customer: 'cus_nowhere'"


def test_list_filters_by_exact_email(stripe_client: stripe.StripeClient) -> None:
    alice = stripe_client.v1.customers.create({"email": "alice@example.com"})
    stripe_client.v1.customers.create({"email": "bob@example.com"})
    stripe_client.v1.customers.create({"email": "Alice@example.com"})
    assert ids(stripe_client.v1.customers.list({"email": "alice@example.com"}).data) == [alice.id]


def test_list_filters_by_creation_time(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    at = customer.created
    cases = {
        "gte": [customer.id],
        "lte": [customer.id],
        "gt": [],
        "lt": [],
    }
    for bound, expected in cases.items():
        listed = stripe_client.v1.customers.list({"created": {bound: at}})
        assert ids(listed.data) == expected, bound
    assert ids(stripe_client.v1.customers.list({"created": at}).data) == [customer.id]


def test_sources_and_default_source_are_expanded_on_request(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    expanded = stripe_client.v1.customers.retrieve(customer.id, {"expand": ["sources", "default_source"]})
    assert expanded.default_source.id == customer.default_source
    assert expanded.sources.url == f"/v1/customers/{customer.id}/sources"
    assert [card.id for card in expanded.sources.data] == [customer.default_source]


def test_lists_expand_data_default_source_and_data_sources(stripe_client: stripe.StripeClient) -> None:
    with_card = stripe_client.v1.customers.create({"source": "tok_mastercard"})
    without = stripe_client.v1.customers.create()
    listed = stripe_client.v1.customers.list({"expand": ["data.default_source", "data.sources"]})
    by_id = {customer.id: customer for customer in listed.data}
    assert by_id[with_card.id].default_source.brand == "MasterCard"
    assert len(by_id[with_card.id].sources.data) == 1
    assert by_id[without.id].default_source is None
    assert by_id[without.id].sources.data == []


def test_metadata_merges_on_update_and_empty_values_unset(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})
    merged = stripe_client.v1.customers.update(customer.id, {"metadata": {"b": "3", "c": "4"}})
    assert merged.metadata.to_dict() == {"a": "1", "b": "3", "c": "4"}
    unset = stripe_client.v1.customers.update(customer.id, {"metadata": {"a": ""}})
    assert unset.metadata.to_dict() == {"b": "3", "c": "4"}
    cleared = stripe_client.v1.customers.update(customer.id, {"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_metadata_limits_are_stripes(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"metadata": {f"k{n}": "v" for n in range(50)}})
    cases = [
        ({"one_more": "v"}, "Metadata can have up to 50 keys, but you've set 51."),
        ({"k" * 41: "v"}, "Invalid key: " + "k" * 41 + " must be a string under 40 characters"),
        ({"k0": "v" * 501}, "must be a string under 500 characters"),
    ]
    for metadata, message in cases:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.customers.update(customer.id, {"metadata": metadata})
        assert refused.value.param == "metadata"
        assert message in (refused.value.user_message or "")
    assert len(stripe_client.v1.customers.retrieve(customer.id).metadata.to_dict()) == 50


@pytest.mark.parametrize(
    ("token", "brand", "last4", "funding"),
    [
        ("tok_visa", "Visa", "4242", "credit"),
        ("tok_mastercard", "MasterCard", "4444", "credit"),
        ("tok_amex", "American Express", "0005", "credit"),
        ("tok_visa_debit", "Visa", "5556", "debit"),
    ],
)
def test_test_token_source_becomes_the_default_card(
    stripe_client: stripe.StripeClient, token: str, brand: str, last4: str, funding: str
) -> None:
    customer = stripe_client.v1.customers.create({"source": token})
    card = stripe_client.v1.customers.payment_sources.retrieve(customer.id, str(customer.default_source))
    assert (card.object, card.brand, card.last4, card.funding, card.customer) == (
        "card",
        brand,
        last4,
        funding,
        customer.id,
    )


def test_source_on_update_replaces_the_default_source(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    old = customer.default_source
    updated = stripe_client.v1.customers.update(customer.id, {"source": "tok_mastercard"})
    assert updated.default_source not in (None, old)
    cards = stripe_client.v1.customers.payment_sources.list(customer.id).data
    assert [card.id for card in cards] == [updated.default_source]  # the old default was deleted


def test_default_source_must_be_a_source_of_the_customer(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"source": "tok_visa"})
    other = stripe_client.v1.customers.create({"source": "tok_visa"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(customer.id, {"default_source": str(other.default_source)})
    assert (refused.value.code, refused.value.param) == ("resource_missing", "default_source")


def test_payment_method_and_invoice_default_on_create(stripe_client: stripe.StripeClient) -> None:
    payment_method = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    customer = stripe_client.v1.customers.create(
        {"payment_method": payment_method.id, "invoice_settings": {"default_payment_method": payment_method.id}}
    )
    assert customer.invoice_settings.default_payment_method == payment_method.id
    assert stripe_client.v1.payment_methods.retrieve(payment_method.id).customer == customer.id


def test_invoice_default_payment_method_must_be_attached(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    loose = stripe_client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": loose.id}})
    assert refused.value.param == "invoice_settings[default_payment_method]"
    assert refused.value.user_message == (
        f"The customer does not have a payment method with the ID {loose.id}. "
        "The payment method must be attached to the customer."
    )


def test_invoice_default_payment_method_is_expanded_and_unset(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"payment_method": "pm_card_visa"})
    attached = stripe_client.v1.customers.payment_methods.list(customer.id).data[0]
    stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": attached.id}})
    expanded = stripe_client.v1.customers.retrieve(customer.id, {"expand": ["invoice_settings.default_payment_method"]})
    assert expanded.invoice_settings.default_payment_method.card.brand == "visa"
    unset = stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": ""}})
    assert unset.invoice_settings.default_payment_method is None


def test_address_and_shipping_are_stored_as_stripe_shapes_them(raw: RawRequest) -> None:
    answer = raw(
        "POST",
        "/v1/customers",
        body="address[city]=Paris&shipping[name]=Alice&shipping[address][line1]=1+Rue&preferred_locales[]=fr",
    )
    assert answer.status == 200
    assert answer.body["address"] == {
        "city": "Paris",
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    assert answer.body["shipping"]["name"] == "Alice"
    assert answer.body["shipping"]["address"]["line1"] == "1 Rue"
    assert answer.body["preferred_locales"] == ["fr"]
