"""Sandbox: /v1/webhook_endpoints, the platform's endpoints, as Stripe keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe

from reconcile.sandbox import running_sandbox
from tests.conftest import RawRequest

RECEIVER = "http://127.0.0.1:9/webhooks"


def make(client: stripe.StripeClient, **params: object) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create({"url": RECEIVER, "enabled_events": ["*"], **params})


def test_the_create_answers_the_secret_and_later_reads_never_do(stripe_client: stripe.StripeClient) -> None:
    made = make(stripe_client, description="reconcile watch", metadata={"team": "payments"})
    assert made.id.startswith("we_")
    assert made.secret.startswith("whsec_")
    assert len(made.secret) == len("whsec_") + 32
    found = stripe_client.v1.webhook_endpoints.retrieve(made.id)
    assert "secret" not in found
    assert {key: value for key, value in made.to_dict().items() if key != "secret"} == found.to_dict()
    listed = stripe_client.v1.webhook_endpoints.list().data
    assert [endpoint.to_dict() for endpoint in listed] == [found.to_dict()]


def test_an_endpoint_has_stripes_shape(stripe_client: stripe.StripeClient) -> None:
    made = make(stripe_client, enabled_events=["customer.updated", "customer.deleted"], api_version="2023-08-16")
    shown = made.to_dict()
    del shown["id"], shown["created"], shown["secret"]
    assert shown == {
        "object": "webhook_endpoint",
        "api_version": "2023-08-16",
        "application": None,
        "description": None,
        "enabled_events": ["customer.updated", "customer.deleted"],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": RECEIVER,
    }


def test_each_endpoint_has_its_own_secret(stripe_client: stripe.StripeClient) -> None:
    assert make(stripe_client).secret != make(stripe_client, connect=True).secret


def test_an_update_changes_url_events_description_metadata_and_status(stripe_client: stripe.StripeClient) -> None:
    made = make(stripe_client, description="old", metadata={"a": "1"})
    updated = stripe_client.v1.webhook_endpoints.update(
        made.id,
        {
            "url": "http://localhost:8080/hook",
            "enabled_events": ["payment_method.attached"],
            "description": "",
            "metadata": {"a": "", "b": "2"},
            "disabled": True,
        },
    )
    assert (updated.url, updated.enabled_events) == ("http://localhost:8080/hook", ["payment_method.attached"])
    assert (updated.description, updated.metadata.to_dict(), updated.status) == (None, {"b": "2"}, "disabled")
    assert "secret" not in updated
    assert stripe_client.v1.webhook_endpoints.update(made.id, {"disabled": False}).status == "enabled"


def test_a_deleted_endpoint_is_gone(stripe_client: stripe.StripeClient) -> None:
    made = make(stripe_client)
    deleted = stripe_client.v1.webhook_endpoints.delete(made.id)
    assert deleted.to_dict() == {"id": made.id, "object": "webhook_endpoint", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.webhook_endpoints.retrieve(made.id)
    assert missing.value.http_status == 404
    assert (missing.value.code, missing.value.param) == ("resource_missing", "id")
    assert missing.value.user_message == f"No such webhook endpoint: '{made.id}'"
    assert stripe_client.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.webhook_endpoints.update(made.id, {"disabled": True})


def test_endpoints_are_listed_newest_first_in_pages(stripe_client: stripe.StripeClient) -> None:
    made = [make(stripe_client).id for _ in range(3)]
    first = stripe_client.v1.webhook_endpoints.list({"limit": 2})
    assert ([endpoint.id for endpoint in first.data], first.has_more) == ([made[2], made[1]], True)
    rest = stripe_client.v1.webhook_endpoints.list({"limit": 2, "starting_after": made[1]})
    assert ([endpoint.id for endpoint in rest.data], rest.has_more) == ([made[0]], False)
    assert [endpoint.id for endpoint in stripe_client.v1.webhook_endpoints.list().auto_paging_iter()] == made[::-1]


def test_endpoints_belong_to_the_platform_not_to_connected_accounts(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    made = make(stripe_client)
    on_account = {"stripe_account": connected_account}
    with pytest.raises(stripe.PermissionError) as refused:
        stripe_client.v1.webhook_endpoints.create({"url": RECEIVER, "enabled_events": ["*"]}, on_account)
    assert refused.value.http_status == 403
    assert refused.value.user_message == (
        f"This application does not have the required permissions for this endpoint on account "
        f"'{connected_account}'. The required permissions are not available for use by Connect applications."
    )
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.webhook_endpoints.retrieve(made.id, options=on_account)
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.webhook_endpoints.list(options=on_account)


def test_url_and_enabled_events_are_required(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_url:
        stripe_client.v1.webhook_endpoints.create({"enabled_events": ["*"]})
    assert (no_url.value.code, no_url.value.param) == ("parameter_missing", "url")
    with pytest.raises(stripe.InvalidRequestError) as no_events:
        stripe_client.v1.webhook_endpoints.create({"url": RECEIVER})
    assert (no_events.value.code, no_events.value.param) == ("parameter_missing", "enabled_events")


def test_an_unknown_event_type_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.webhook_endpoints.create({"url": RECEIVER, "enabled_events": ["*", "customer.update"]})
    assert refused.value.param == "enabled_events[1]"
    assert "'customer.update' is not an event type" in str(refused.value.user_message)
    assert stripe_client.v1.webhook_endpoints.list().data == []


def test_a_url_that_is_not_http_is_refused(stripe_client: stripe.StripeClient) -> None:
    for url in ("ftp://example.com/hook", "example.com/hook", "http:///hook"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
        assert refused.value.param == "url"


def test_any_http_url_is_accepted_even_one_the_sandbox_will_not_deliver_to(
    stripe_client: stripe.StripeClient,
) -> None:
    # As on Stripe; deliveries to other machines are refused when they are due (see test_sandbox_webhooks.py).
    assert make(stripe_client, url="https://example.com/stripe").url == "https://example.com/stripe"


def test_connect_and_disabled_must_be_booleans(raw: RawRequest) -> None:
    answer = raw("POST", "/v1/webhook_endpoints", body="url=http%3A%2F%2F127.0.0.1%2F&enabled_events[]=*&connect=yes")
    assert answer.status == 400
    assert (answer.error["param"], answer.error["message"]) == ("connect", "Invalid boolean: yes")


def test_a_malformed_api_version_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        make(stripe_client, api_version="latest")
    assert refused.value.param == "api_version"


def test_endpoints_of_one_mode_are_invisible_to_the_other(tmp_path: Path) -> None:
    keys = ("sk_test_sandbox", "sk_live_sandbox")
    with running_sandbox(tmp_path / "modes.sqlite3", api_keys=keys) as sandbox:
        test, live = (stripe.StripeClient(key, base_addresses={"api": sandbox.url}) for key in keys)
        made = make(live)
        assert made.livemode is True
        assert test.v1.webhook_endpoints.list().data == []
        with pytest.raises(stripe.InvalidRequestError):
            test.v1.webhook_endpoints.retrieve(made.id)
