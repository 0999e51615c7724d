"""Sandbox: API-key authentication (Bearer and Basic), Stripe's 401s, livemode by key, Request-Id."""

from __future__ import annotations

import base64
import logging

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox
from tests.conftest import RawRequest

NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)


def client(sandbox: Sandbox, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": sandbox.url}, max_network_retries=0)


def test_bearer_key_is_accepted(stripe_client: stripe.StripeClient) -> None:
    assert stripe_client.v1.customers.list().object == "list"


def test_basic_auth_with_the_key_as_user_name_is_accepted(raw: RawRequest, api_key: str) -> None:
    token = base64.b64encode(f"{api_key}:".encode()).decode()
    answer = raw("GET", "/v1/customers", key=None, headers={"Authorization": f"Basic {token}"})
    assert answer.status == 200
    assert answer.body["object"] == "list"


def test_missing_key_gets_stripes_401(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/customers", key=None)
    assert answer.status == 401
    assert answer.body == {"error": {"type": "invalid_request_error", "message": NO_KEY_MESSAGE}}
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="Stripe"'


def test_unknown_key_gets_401_with_the_key_masked(sandbox: Sandbox) -> None:
    key = "sk_test_notakeyofthissandbox1234"
    with pytest.raises(stripe.AuthenticationError) as refused:
        client(sandbox, key).v1.customers.list()
    assert refused.value.http_status == 401
    message = refused.value.json_body["error"]["message"]
    assert message == "Invalid API Key provided: sk_test_" + "*" * 20 + "1234"
    assert key not in str(refused.value.http_body)


def test_api_keys_can_be_several_and_replace_the_default() -> None:
    with running_sandbox(api_keys=("sk_test_first", "rk_test_second")) as sandbox:
        assert client(sandbox, "sk_test_first").v1.customers.list().data == []
        assert client(sandbox, "rk_test_second").v1.customers.list().data == []
        with pytest.raises(stripe.AuthenticationError):
            client(sandbox, "sk_test_sandbox").v1.customers.list()


@pytest.mark.parametrize("live_key", ["sk_live_platformkey", "rk_live_restricted"])
def test_live_keys_see_live_objects_and_test_keys_test_objects(live_key: str) -> None:
    with running_sandbox(api_keys=("sk_test_platformkey", live_key)) as sandbox:
        live, test = client(sandbox, live_key), client(sandbox, "sk_test_platformkey")
        live_customer = live.v1.customers.create({"email": "live@example.com"})
        test_customer = test.v1.customers.create({"email": "test@example.com"})
        assert live_customer.livemode is True
        assert test_customer.livemode is False
        assert [c.id for c in live.v1.customers.list().data] == [live_customer.id]
        assert [c.id for c in test.v1.customers.list().data] == [test_customer.id]
        with pytest.raises(stripe.InvalidRequestError) as missing:
            test.v1.customers.retrieve(live_customer.id)
        assert missing.value.http_status == 404
        assert missing.value.user_message == (
            f"No such customer: '{live_customer.id}'; a similar object exists in live mode, "
            "but a test mode key was used to make this request."
        )


def test_every_answer_carries_a_request_id(raw: RawRequest) -> None:
    answers = [raw("GET", "/v1/customers"), raw("GET", "/v1/customers", key=None), raw("GET", "/v1/nothing")]
    ids = [answer.headers["Request-Id"] for answer in answers]
    assert all(request_id.startswith("req_") and len(request_id) == 18 for request_id in ids)
    assert len(set(ids)) == 3


def test_the_sdk_sees_the_request_id_of_an_error(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.customers.retrieve("cus_missing")
    assert (missing.value.request_id or "").startswith("req_")


def test_the_key_is_never_logged(sandbox: Sandbox, caplog: pytest.LogCaptureFixture, raw: RawRequest) -> None:
    key = "sk_test_secretvalue9876"
    caplog.set_level(logging.DEBUG)
    raw("GET", "/v1/customers", key=key)
    raw("POST", "/v1/customers", key=key, body="email=x%40example.com")
    raw("GET", "/v1/customers", key=key, headers={"Stripe-Account": "acct_unknown"})
    assert key not in caplog.text
    assert key not in str(sandbox.stats())


def test_answers_carry_the_stripe_version_asked_for(raw: RawRequest) -> None:
    assert (
        raw("GET", "/v1/customers", headers={"Stripe-Version": "2024-06-20"}).headers["Stripe-Version"] == "2024-06-20"
    )
    assert raw("GET", "/v1/customers").headers["Stripe-Version"] == "2026-10-28.endive"
