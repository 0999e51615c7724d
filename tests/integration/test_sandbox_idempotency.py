"""Sandbox: Idempotency-Key on POST, as Stripe keeps and replays answers."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
import stripe

from reconcile.sandbox import Sandbox
from tests.conftest import RawRequest


def create(client: stripe.StripeClient, key: str, account: str | None = None, **params: str) -> stripe.Customer:
    return client.v1.customers.create(params, {"idempotency_key": key, "stripe_account": account})


def test_same_key_replays_the_stored_answer(stripe_client: stripe.StripeClient) -> None:
    first = create(stripe_client, "create-alice", email="alice@example.com")
    again = create(stripe_client, "create-alice", email="alice@example.com")
    assert again.to_dict() == first.to_dict()
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(stripe_client.v1.customers.list().data) == 1


def test_same_key_with_other_parameters_is_an_idempotency_error(stripe_client: stripe.StripeClient) -> None:
    create(stripe_client, "create-alice", email="alice@example.com")
    with pytest.raises(stripe.IdempotencyError) as refused:
        create(stripe_client, "create-alice", email="bob@example.com")
    assert refused.value.http_status == 400
    assert refused.value.json_body == {
        "error": {
            "type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters they were first "
            "used with. Try using a key other than 'create-alice' if you meant to execute a different request.",
        }
    }


def test_same_key_on_another_endpoint_is_an_idempotency_error(raw: RawRequest) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    assert raw("POST", "/v1/customers", body="", headers=headers).status == 200
    answer = raw("POST", "/v1/accounts", body="", headers=headers)
    assert (answer.status, answer.error["type"]) == (400, "idempotency_error")


def test_keys_are_scoped_per_account(stripe_client: stripe.StripeClient, connected_account: str) -> None:
    on_platform = create(stripe_client, "same-key", email="a@example.com")
    on_account = create(stripe_client, "same-key", connected_account, email="a@example.com")
    assert on_platform.id != on_account.id
    assert "Idempotent-Replayed" not in on_account.last_response.headers


def test_errors_of_the_endpoint_are_stored_and_replayed(stripe_client: stripe.StripeClient) -> None:
    for attempt in range(2):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            create(stripe_client, "bad-token", source="tok_missing")
        assert refused.value.code == "resource_missing"
        replayed = (refused.value.headers or {}).get("Idempotent-Replayed")
        assert replayed == (None if attempt == 0 else "true")


def test_parameter_validation_errors_are_not_stored(raw: RawRequest) -> None:
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert raw("POST", "/v1/customers", body="emali=a%40example.com", headers=headers).status == 400
    fixed = raw("POST", "/v1/customers", body="email=a%40example.com", headers=headers)
    assert fixed.status == 200
    assert "Idempotent-Replayed" not in fixed.headers


def test_answers_are_kept_for_24_hours(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    first = create(stripe_client, "old-key", email="a@example.com")
    with sqlite3.connect(sandbox.db_path) as db:
        db.execute("UPDATE idempotency SET created = created - 24 * 3600 - 1")
    later = create(stripe_client, "old-key", email="b@example.com")
    assert later.id != first.id
    assert "Idempotent-Replayed" not in later.last_response.headers


def wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never held")


def test_concurrent_request_with_a_key_in_flight_gets_409(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    sandbox.configure(latency_ms=1000)  # keeps the first request in flight while the second arrives
    results: list[stripe.Customer] = []
    first = threading.Thread(target=lambda: results.append(create(stripe_client, "slow-key", email="a@example.com")))
    first.start()
    wait_until(lambda: sandbox.stats()["idempotency"]["in_flight"] == 1)
    with pytest.raises(stripe.APIError) as conflict:
        create(stripe_client, "slow-key", email="a@example.com")
    first.join()
    assert conflict.value.http_status == 409
    assert conflict.value.json_body["error"]["code"] == "idempotency_key_in_use"
    assert conflict.value.json_body["error"]["message"].startswith(
        "There is currently another in-progress request using this Idempotent Key"
    )
    sandbox.configure(latency_ms=0)
    assert create(stripe_client, "slow-key", email="a@example.com").id == results[0].id


def test_lost_response_is_replayed_as_the_success_it_was_and_a_failed_write_as_its_500(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.configure(fail_rate=1.0, fault_seed=7)  # every request fails; half of the POSTs after committing
    keys = [f"key-{n}" for n in range(16)]
    for key in keys:
        with pytest.raises(stripe.APIError) as failed:
            create(stripe_client, key, email=f"{key}@example.com")
        assert failed.value.http_status == 500
    sandbox.configure(fail_rate=0.0)
    created = {customer.email: customer.id for customer in stripe_client.v1.customers.list({"limit": 100}).data}
    assert 0 < len(created) < len(keys)  # some writes were committed before their 500, some never ran
    for key in keys:
        email = f"{key}@example.com"
        if email in created:
            assert create(stripe_client, key, email=email).id == created[email]
        else:
            with pytest.raises(stripe.APIError) as replayed:
                create(stripe_client, key, email=email)
            assert replayed.value.http_status == 500
            assert (replayed.value.headers or {}).get("Idempotent-Replayed") == "true"
    assert len(stripe_client.v1.customers.list({"limit": 100}).data) == len(created)


def test_key_longer_than_255_characters_is_refused(raw: RawRequest) -> None:
    answer = raw("POST", "/v1/customers", body="", headers={"Idempotency-Key": "k" * 256})
    assert answer.status == 400
