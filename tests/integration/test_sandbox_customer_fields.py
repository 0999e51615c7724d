"""Sandbox: a customer's address, shipping, preferred locales, tax status and invoice settings, over HTTP.

Stripe's form encoding throughout (the SDK sends `address[city]=…`, `preferred_locales[0]=…`,
`invoice_settings[custom_fields][0][name]=…`); an empty string clears, as docs/sandbox.md describes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import stripe

DETAILS: dict[str, Any] = {
    "address": {"line1": "1 Rue de Rivoli", "line2": "Apt 4", "city": "Paris", "postal_code": "75001"}
    | {"country": "FR", "state": "IDF"},
    "shipping": {"name": "Alice Liddell", "phone": "+33100000000", "address": {"line1": "2 Quai", "city": "Lyon"}},
    "preferred_locales": ["fr-FR", "en"],
    "tax_exempt": "reverse",
    "invoice_settings": {"footer": "Merci", "custom_fields": [{"name": "VAT", "value": "FR123"}]},
}
EMPTY_ADDRESS = dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))


def details(customer: stripe.Customer) -> dict[str, Any]:
    """The detail fields of a customer as plain data."""
    data = json.loads(json.dumps(customer.to_dict(), default=lambda nested: nested.to_dict()))
    return {name: data[name] for name in ("address", "shipping", "preferred_locales", "tax_exempt", "invoice_settings")}


def expected_details() -> dict[str, Any]:
    return {
        "address": DETAILS["address"],
        "shipping": {
            "name": "Alice Liddell",
            "phone": "+33100000000",
            "address": EMPTY_ADDRESS | {"line1": "2 Quai", "city": "Lyon"},
        },
        "preferred_locales": ["fr-FR", "en"],
        "tax_exempt": "reverse",
        "invoice_settings": {
            "custom_fields": [{"name": "VAT", "value": "FR123"}],
            "default_payment_method": None,
            "footer": "Merci",
            "rendering_options": None,
        },
    }


def test_new_customer_has_stripes_empty_details(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    assert details(customer) == {
        "address": None,
        "shipping": None,
        "preferred_locales": [],
        "tax_exempt": "none",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
    }


def test_details_are_stored_returned_and_listed(stripe_client: stripe.StripeClient) -> None:
    created = stripe_client.v1.customers.create({"email": "alice@example.com", **DETAILS})
    assert details(created) == expected_details()
    assert details(stripe_client.v1.customers.retrieve(created.id)) == expected_details()
    (listed,) = stripe_client.v1.customers.list({"email": "alice@example.com"}).data
    assert details(listed) == expected_details()


def test_details_live_on_a_connected_account_and_in_its_lists(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    on = {"stripe_account": connected_account}
    copy = stripe_client.v1.customers.create(DETAILS, on)
    assert details(stripe_client.v1.customers.retrieve(copy.id, options=on)) == expected_details()
    assert [details(c) for c in stripe_client.v1.customers.list(options=on).data] == [expected_details()]
    assert stripe_client.v1.customers.list().data == []  # the platform does not see the account's customer
    changed = stripe_client.v1.customers.update(copy.id, {"address": {"city": "Nice"}, "tax_exempt": "exempt"}, on)
    assert (changed.address and changed.address.city, changed.tax_exempt) == ("Nice", "exempt")


def test_address_is_merged_field_by_field_and_an_empty_field_clears_only_that_field(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create({"address": DETAILS["address"]})
    moved = stripe_client.v1.customers.update(customer.id, {"address": {"city": "Lyon", "line2": ""}})
    assert details(moved)["address"] == DETAILS["address"] | {"city": "Lyon", "line2": None}


def test_address_is_cleared_whole_with_an_empty_string(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"address": DETAILS["address"]})
    assert stripe_client.v1.customers.update(customer.id, {"address": ""}).address is None
    again = stripe_client.v1.customers.update(customer.id, {"address": {"country": "GB"}})
    assert details(again)["address"] == EMPTY_ADDRESS | {"country": "GB"}


def test_shipping_is_replaced_whole_and_cleared_with_an_empty_string(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"shipping": DETAILS["shipping"]})
    replaced = stripe_client.v1.customers.update(
        customer.id, {"shipping": {"name": "Bob", "address": {"country": "GB"}}}
    )
    assert details(replaced)["shipping"] == {"name": "Bob", "phone": None, "address": EMPTY_ADDRESS | {"country": "GB"}}
    assert stripe_client.v1.customers.update(customer.id, {"shipping": ""}).shipping is None


@pytest.mark.parametrize(
    ("shipping", "param"),
    [
        ({"address": {"line1": "2 Quai"}}, "shipping[name]"),
        ({"name": "", "address": {"line1": "2 Quai"}}, "shipping[name]"),
        ({"name": "Bob"}, "shipping[address]"),
    ],
)
def test_shipping_needs_a_name_and_an_address(
    stripe_client: stripe.StripeClient, shipping: dict[str, Any], param: str
) -> None:
    customer = stripe_client.v1.customers.create({"shipping": DETAILS["shipping"]})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(customer.id, {"shipping": shipping})
    assert refused.value.http_status == 400
    assert refused.value.code == "parameter_missing"
    assert (refused.value.param, refused.value.user_message) == (param, f"Missing required param: {param}.")
    assert details(stripe_client.v1.customers.retrieve(customer.id)) == details(customer)  # nothing written


def test_preferred_locales_are_replaced_in_order_and_cleared(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"preferred_locales": ["fr", "en"]})
    reordered = stripe_client.v1.customers.update(customer.id, {"preferred_locales": ["en", "de", "fr"]})
    assert reordered.preferred_locales == ["en", "de", "fr"]
    assert stripe_client.v1.customers.update(customer.id, {"preferred_locales": ""}).preferred_locales == []


def test_tax_exempt_takes_stripes_values_and_an_empty_string_means_none(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"tax_exempt": "exempt"})
    assert customer.tax_exempt == "exempt"
    assert stripe_client.v1.customers.update(customer.id, {"tax_exempt": "reverse"}).tax_exempt == "reverse"
    assert stripe_client.v1.customers.update(customer.id, {"tax_exempt": ""}).tax_exempt == "none"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(customer.id, {"tax_exempt": "sometimes"})
    assert (refused.value.param, refused.value.user_message) == (
        "tax_exempt",
        "Invalid tax_exempt: must be one of exempt, none, or reverse",
    )


def test_invoice_settings_are_changed_one_setting_at_a_time(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({**DETAILS, "payment_method": "pm_card_visa"})
    card = stripe_client.v1.customers.payment_methods.list(customer.id).data[0].id
    stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": card}})
    footer = stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"footer": "Thanks"}})
    assert details(footer)["invoice_settings"] == {
        "custom_fields": [{"name": "VAT", "value": "FR123"}],
        "default_payment_method": card,
        "footer": "Thanks",
        "rendering_options": None,
    }
    fields = [{"name": "PO", "value": "42"}, {"name": "VAT", "value": "FR999"}]
    replaced = stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"custom_fields": fields}})
    assert details(replaced)["invoice_settings"]["custom_fields"] == fields
    assert details(replaced)["invoice_settings"]["footer"] == "Thanks"


def test_footer_and_custom_fields_are_cleared_with_empty_strings(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(DETAILS)
    cleared = stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"footer": "", "custom_fields": ""}})
    assert details(cleared)["invoice_settings"] == {
        "custom_fields": None,
        "default_payment_method": None,
        "footer": None,
        "rendering_options": None,
    }


def test_custom_fields_at_stripes_limits_are_kept(stripe_client: stripe.StripeClient) -> None:
    fields = [{"name": f"{index}".ljust(40, "n"), "value": "v" * 140} for index in range(4)]
    customer = stripe_client.v1.customers.create({"invoice_settings": {"custom_fields": fields}})
    assert details(customer)["invoice_settings"]["custom_fields"] == fields


@pytest.mark.parametrize(
    ("custom_fields", "param", "message"),
    [
        (
            [{"name": "n", "value": "v"}] * 5,
            "invoice_settings[custom_fields]",
            "You may pass at most 4 items in invoice_settings[custom_fields]; you passed 5.",
        ),
        (
            [{"name": "n" * 41, "value": "v"}],
            "invoice_settings[custom_fields][0][name]",
            f"Invalid string: {'n' * 40}...; must be at most 40 characters",
        ),
        (
            [{"name": "PO", "value": "42"}, {"name": "n", "value": "v" * 141}],
            "invoice_settings[custom_fields][1][value]",
            f"Invalid string: {'v' * 40}...; must be at most 140 characters",
        ),
        (
            [{"name": "PO"}],
            "invoice_settings[custom_fields][0][value]",
            "Missing required param: invoice_settings[custom_fields][0][value].",
        ),
    ],
)
def test_custom_fields_beyond_stripes_limits_are_refused(
    stripe_client: stripe.StripeClient, custom_fields: list[dict[str, str]], param: str, message: str
) -> None:
    customer = stripe_client.v1.customers.create(DETAILS)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.update(customer.id, {"invoice_settings": {"custom_fields": custom_fields}})
    assert refused.value.http_status == 400
    assert (refused.value.param, refused.value.user_message) == (param, message)
    assert details(stripe_client.v1.customers.retrieve(customer.id)) == expected_details()


def test_customer_updated_event_names_the_previous_address_fields(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"address": DETAILS["address"]})
    stripe_client.v1.customers.update(customer.id, {"address": {"city": "Lyon"}, "preferred_locales": ["de"]})
    (event,) = stripe_client.v1.events.list({"type": "customer.updated"}).data
    assert event.data.to_dict()["previous_attributes"] == {"address": {"city": "Paris"}, "preferred_locales": []}


def test_details_pass_the_spec_in_strict_response_mode(strict_proxy: tuple[str, Path], connected_account: str) -> None:
    url, report = strict_proxy
    api = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": url}, max_network_retries=0)
    on = {"stripe_account": connected_account}
    # Custom fields within the extract's limits: it is of 2023-08-16, when names and values took 30 characters.
    customer = api.v1.customers.create(DETAILS)
    api.v1.customers.update(customer.id, {"address": {"city": "Lyon", "line2": ""}, "tax_exempt": "exempt"})
    api.v1.customers.update(customer.id, {"shipping": {"name": "Bob", "address": {"country": "GB"}}})
    api.v1.customers.update(customer.id, {"invoice_settings": {"footer": "", "custom_fields": ""}})
    api.v1.customers.update(customer.id, {"address": "", "shipping": "", "preferred_locales": "", "tax_exempt": ""})
    api.v1.customers.list({"limit": 3})
    copy = api.v1.customers.create(DETAILS, on)
    api.v1.customers.retrieve(copy.id, options=on)
    api.v1.customers.list(options=on)
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.customers.update(customer.id, {"shipping": {"name": "Bob"}})
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.customers.update(customer.id, {"invoice_settings": {"custom_fields": [{"name": "n", "value": "v"}] * 5}})
    time.sleep(0.2)  # the proxy writes its line right after it answered
    exchanges = [json.loads(line) for line in report.read_text().splitlines()]
    assert [entry["status"] for entry in exchanges] == [200] * 9 + [400] * 2
    found = [[(violation["kind"], violation["at"]) for violation in entry["violations"]] for entry in exchanges]
    # The one request wrong on purpose in a way the spec can tell: both refuse a shipping without an address.
    assert found == [[]] * 9 + [[("invalid_request", "shipping[address]")], []]
