"""Sandbox: Stripe's error bodies and statuses for bad parameters, unknown ids and unknown URLs."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import RawRequest


def test_unknown_parameter_is_parameter_unknown(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"email": "a@example.com", "foo": "bar"})
    assert refused.value.http_status == 400
    assert refused.value.json_body == {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_unknown",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
            "message": "Received unknown parameter: foo",
            "param": "foo",
        }
    }


def test_unknown_nested_parameter_is_named_in_bracket_notation(raw: RawRequest) -> None:
    answer = raw("POST", "/v1/customers", body="invoice_settings[bogus]=1")
    assert answer.status == 400
    assert answer.error["message"] == "Received unknown parameter: invoice_settings[bogus]"
    assert answer.error["param"] == "invoice_settings[bogus]"


def test_several_unknown_parameters_are_listed_together(raw: RawRequest) -> None:
    answer = raw("POST", "/v1/customers", body="foo=1&bar=2")
    assert answer.error["message"] == "Received unknown parameters: foo, bar"


def test_missing_required_parameter_is_parameter_missing(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.payment_sources.create(customer.id, {})
    assert refused.value.code == "parameter_missing"
    assert refused.value.param == "source"
    assert refused.value.user_message == "Missing required param: source."


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("limit=abc", "limit", "Invalid integer: abc"),
        ("limit=0", "limit", "This value must be greater than or equal to 1."),
        ("limit=101", "limit", "This value must be less than or equal to 100."),
        ("created[after]=1", "created[after]", "Received unknown parameter: created[after]"),
    ],
)
def test_invalid_list_parameters_get_400(raw: RawRequest, query: str, param: str, message: str) -> None:
    answer = raw("GET", f"/v1/customers?{query}")
    assert answer.status == 400
    assert (answer.error["param"], answer.error["message"]) == (param, message)


def test_invalid_enum_value_names_the_choices(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"tax_exempt": "sometimes"})
    assert refused.value.param == "tax_exempt"
    assert refused.value.user_message == "Invalid tax_exempt: must be one of exempt, none, or reverse"


def test_malformed_email_is_email_invalid(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"email": "not-an-email"})
    assert (refused.value.code, refused.value.param) == ("email_invalid", "email")
    assert refused.value.user_message == "Invalid email address: not-an-email"


def test_too_long_string_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"phone": "+1" + "5" * 19})
    assert refused.value.param == "phone"
    assert refused.value.user_message.endswith("must be at most 20 characters")


def test_unknown_id_in_the_path_is_a_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.retrieve("cus_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.json_body == {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such customer: 'cus_doesnotexist'",
            "param": "id",
        }
    }


def test_unknown_id_in_a_parameter_is_a_400_naming_it(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.create({"source": "tok_doesnotexist"})
    assert missing.value.http_status == 400
    assert (missing.value.code, missing.value.param) == ("resource_missing", "source")
    assert missing.value.user_message == "No such token: 'tok_doesnotexist'"


def test_unknown_path_is_an_unrecognized_request_url(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/foo")
    assert answer.status == 404
    assert answer.body == {
        "error": {
            "type": "invalid_request_error",
            "message": "Unrecognized request URL (GET: /v1/foo). Please see https://stripe.com/docs or we can "
            "help at https://support.stripe.com/.",
        }
    }


def test_unknown_method_on_a_known_path_is_unrecognized_too(raw: RawRequest) -> None:
    answer = raw("PUT", "/v1/customers", body="email=a%40example.com")
    assert answer.status == 404
    assert answer.error["message"].startswith("Unrecognized request URL (PUT: /v1/customers).")


def test_documented_but_not_emulated_parameter_is_refused_not_ignored(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"coupon": "SUMMER"})
    assert refused.value.param == "coupon"
    assert "does not emulate" in (refused.value.user_message or "")


def test_expanding_a_field_that_is_not_expandable_is_refused(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.retrieve(customer.id, {"expand": ["email"]})
    assert refused.value.user_message == "This property cannot be expanded (email)."


def test_expanding_more_than_four_levels_is_refused(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/customers?expand[]=data.default_source.customer.default_source.customer")
    assert answer.status == 400
    assert answer.error["message"] == "You cannot expand more than 4 levels of a property."


def test_a_hash_where_a_string_is_expected_is_refused(raw: RawRequest) -> None:
    answer = raw("POST", "/v1/customers", body="email[a]=b")
    assert answer.status == 400
    assert answer.error["param"] == "email"


def test_customer_search_is_refused_not_taken_for_a_customer_id(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/customers/search?query=email%3A%27a%40example.com%27")
    assert answer.status == 400
    assert "does not emulate customer search" in answer.error["message"]
