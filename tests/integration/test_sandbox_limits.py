"""Sandbox: the per-account rate limit, injected faults, latency and `/_sandbox/stats`."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox
from tests.conftest import RawRequest

TESTMODE_LIMITED = (
    "Testmode request rate limit exceeded, the rate limits in testmode are lower than livemode. You can learn "
    "more about rate limits here https://stripe.com/docs/rate-limits."
)


def test_rate_limit_answers_stripes_429(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit=0.001)  # one request, then a refill every 1000 s
    stripe_client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as limited:
        stripe_client.v1.customers.list()
    assert limited.value.http_status == 429
    assert limited.value.json_body == {
        "error": {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
            "message": TESTMODE_LIMITED,
        }
    }
    assert sandbox.stats()["rate_limited"] == 1


def test_rate_limit_is_per_account(
    stripe_client: stripe.StripeClient, sandbox: Sandbox, make_account: Callable[..., str]
) -> None:
    first, second = make_account(), make_account()
    sandbox.configure(rate_limit=0.001)
    stripe_client.v1.customers.list(options={"stripe_account": first})
    with pytest.raises(stripe.RateLimitError):
        stripe_client.v1.customers.list(options={"stripe_account": first})
    assert stripe_client.v1.customers.list(options={"stripe_account": second}).data == []
    assert stripe_client.v1.customers.list().data == []


def test_rate_limit_off_lets_bursts_through(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    for _ in range(50):
        stripe_client.v1.customers.list()
    assert sandbox.stats()["rate_limited"] == 0


def test_rate_limit_allows_a_burst_of_one_second(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit=5)
    statuses = []
    for _ in range(20):
        try:
            stripe_client.v1.customers.list()
            statuses.append(200)
        except stripe.RateLimitError:
            statuses.append(429)
    assert statuses[:5] == [200] * 5  # the bucket holds one second of requests
    assert 429 in statuses


def test_fail_rate_one_answers_500_api_error_to_everything(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.configure(fail_rate=1.0)
    with pytest.raises(stripe.APIError) as failed:
        stripe_client.v1.customers.list()
    assert failed.value.http_status == 500
    assert failed.value.json_body == {"error": {"type": "api_error", "message": "An unknown error occurred"}}
    assert sandbox.stats()["faults"] == 1


def statuses_with_seed(seed: int) -> list[int]:
    with running_sandbox(fail_rate=0.5, fault_seed=seed) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url}, max_network_retries=0)
        statuses = []
        for n in range(24):
            try:
                client.v1.customers.create({"email": f"c{n}@example.com"}) if n % 2 else client.v1.customers.list()
                statuses.append(200)
            except stripe.APIError as error:
                statuses.append(error.http_status or 0)
        return statuses


def test_fault_seed_makes_faults_reproducible() -> None:
    first = statuses_with_seed(42)
    assert first == statuses_with_seed(42)
    assert 200 in first
    assert 500 in first
    assert first != statuses_with_seed(43)


def test_stats_count_operations_by_account_and_status(
    stripe_client: stripe.StripeClient, sandbox: Sandbox, connected_account: str, raw: RawRequest
) -> None:
    sandbox.reset_stats()
    customer = stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_client.v1.customers.update(customer.id, {"name": "A"})
    stripe_client.v1.customers.list(options={"stripe_account": connected_account})
    raw("GET", "/v1/customers", key=None)
    raw("GET", "/v1/nowhere")
    stats = sandbox.stats()
    assert stats["total"] == 5
    assert stats["requests"] == {
        "GET (unrecognized)": 1,
        "GET /v1/customers": 2,
        "POST /v1/customers": 1,
        "POST /v1/customers/{customer}": 1,
    }
    assert stats["by_account"] == {
        "platform": {"GET (unrecognized)": 1, "POST /v1/customers": 1, "POST /v1/customers/{customer}": 1},
        connected_account: {"GET /v1/customers": 1},
    }
    assert stats["by_status"] == {"200": 3, "401": 1, "404": 1}
    assert stats["unauthorized"] == 1


def test_stats_endpoints_need_the_api_key_and_reset(raw: RawRequest, stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.customers.list()
    assert raw("GET", "/_sandbox/stats", key=None).status == 401
    assert raw("GET", "/_sandbox/stats", key="sk_test_wrong").status == 401
    stats = raw("GET", "/_sandbox/stats")
    assert (stats.status, stats.body["requests"]) == (200, {"GET /v1/customers": 1})
    reset = raw("POST", "/_sandbox/stats/reset", body="")
    assert (reset.status, reset.body["total"], reset.body["requests"]) == (200, 0, {})
    assert raw("GET", "/_sandbox/stats").body["total"] == 0  # admin requests are not counted


def test_sandbox_accounts_endpoint_connects_an_account_with_a_given_id(
    raw: RawRequest, stripe_client: stripe.StripeClient
) -> None:
    answer = raw("POST", "/_sandbox/accounts", body="id=acct_1GivenId0000")
    assert (answer.status, answer.body["id"]) == (200, "acct_1GivenId0000")
    assert stripe_client.v1.customers.list(options={"stripe_account": "acct_1GivenId0000"}).data == []
    assert raw("POST", "/_sandbox/accounts", body="id=cus_wrong").status == 400


def test_latency_delays_every_answer(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    sandbox.configure(latency_ms=150)
    started = time.monotonic()
    stripe_client.v1.customers.list()
    stripe_client.v1.customers.create({"email": "slow@example.com"})
    # A lower bound only: a busy machine can make it slower, never faster.
    assert time.monotonic() - started >= 0.3
