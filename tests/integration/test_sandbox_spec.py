"""Sandbox: a session over every endpoint and error, through spec-proxy, with no answer outside the spec."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from reconcile.sandbox import Sandbox
from reconcile.sandbox.routes import ROUTES


class Session:
    """Runs the session's requests and remembers, by request id, the ones that are wrong on purpose."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.deliberate: dict[str, tuple[str, str | None]] = {}  # request id -> (kind, where) the proxy must say

    def fails(
        self, call: Callable[[], object], status: int, breaks: tuple[str, str | None] | None = None
    ) -> stripe.StripeError:
        with pytest.raises(stripe.StripeError) as error:
            call()
        assert error.value.http_status == status, error.value
        if breaks is not None:
            self.deliberate[str(error.value.request_id)] = breaks
        return error.value

    def plain(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: str | None = None,
        breaks: tuple[str, str | None] | None = None,
    ) -> int:
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if breaks is not None:
            self.deliberate[str(response.getheader("Request-Id"))] = breaks
        return response.status


def session(api: stripe.StripeClient, run: Session, sandbox: Sandbox, account: str) -> None:
    on = {"stripe_account": account}
    key = {"Authorization": "Bearer sk_test_sandbox"}
    fails, plain = run.fails, run.plain

    # accounts
    api.v1.accounts.retrieve_current()
    api.v1.accounts.retrieve_current(options=on)
    made = api.v1.accounts.create({"type": "custom", "email": "shop@example.com", "business_profile": {"name": "S"}})
    api.v1.accounts.list({"limit": 2, "expand": ["data.settings"]})
    api.v1.accounts.retrieve(made.id)
    api.v1.accounts.update(made.id, {"metadata": {"a": "b"}})
    api.v1.accounts.delete(made.id)
    fails(lambda: api.v1.accounts.retrieve(made.id), 403)
    fails(lambda: api.v1.customers.list(options={"stripe_account": "acct_1NotConnected"}), 403)

    # customers
    alice = api.v1.customers.create(
        {"email": "alice@example.com", "name": "Alice", "phone": "+15555550100", "metadata": {"tier": "gold"}}
        | {"source": "tok_visa", "address": {"city": "Paris"}, "preferred_locales": ["fr"]}
    )
    bob = api.v1.customers.create({"email": "bob@example.com", "payment_method": "pm_card_mastercard"})
    api.v1.customers.retrieve(alice.id, {"expand": ["default_source", "sources", "subscriptions", "tax_ids"]})
    api.v1.customers.update(alice.id, {"metadata": {"tier": "", "n": "1"}, "description": "", "balance": 5})
    api.v1.customers.update(alice.id, {"metadata": ""})
    api.v1.customers.list({"limit": 1, "email": "alice@example.com", "created": {"gte": alice.created}})
    api.v1.customers.list({"expand": ["data.default_source", "data.sources"]})
    api.v1.customers.list({"ending_before": alice.id})
    api.v1.customers.list({"starting_after": bob.id})
    fails(lambda: api.v1.customers.retrieve("cus_nobody"), 404)
    fails(lambda: api.v1.customers.create({"foo": "bar"}), 400, ("invalid_request", "foo"))
    fails(lambda: api.v1.customers.create({"tax_exempt": "sometimes"}), 400, ("invalid_request", "tax_exempt"))
    fails(lambda: api.v1.customers.create({"email": "not-an-email"}), 400)
    fails(lambda: api.v1.customers.create({"coupon": "X"}), 400)
    fails(lambda: api.v1.customers.create({"metadata": {"k" * 41: "v"}}), 400)
    fails(lambda: api.v1.customers.retrieve(alice.id, {"expand": ["email"]}), 400, ("invalid_request", "expand"))
    assert plain("GET", "/v1/customers?limit=abc", key, breaks=("invalid_request", "limit")) == 400
    assert plain("GET", "/v1/customers?limit=101", key) == 400
    assert plain("GET", "/v1/customers/search?query=email%3A%27alice%40example.com%27", key) == 400
    gone = api.v1.customers.create()
    api.v1.customers.delete(gone.id)
    api.v1.customers.retrieve(gone.id)
    fails(lambda: api.v1.customers.update(gone.id, {"name": "x"}), 404)

    # sources
    card = api.v1.customers.payment_sources.create(alice.id, {"source": "tok_amex", "metadata": {"a": "b"}})
    api.v1.customers.payment_sources.list(alice.id, {"object": "card", "limit": 5})
    api.v1.customers.payment_sources.retrieve(alice.id, card.id)
    api.v1.customers.payment_sources.update(alice.id, card.id, {"name": "A", "exp_month": 3})
    api.v1.customers.payment_sources.delete(alice.id, card.id)
    fails(lambda: api.v1.customers.payment_sources.retrieve(alice.id, card.id), 404)
    fails(lambda: api.v1.customers.payment_sources.create(alice.id, {}), 400)

    # tokens
    token = api.v1.tokens.create({"customer": alice.id}, on)
    api.v1.tokens.retrieve(token.id, options=on)
    copy = api.v1.customers.create({"email": "alice@example.com", "source": token.id}, on)
    fails(lambda: api.v1.customers.create({"source": token.id}, on), 400)
    fails(lambda: api.v1.tokens.create({"customer": alice.id}), 400)
    fails(lambda: api.v1.tokens.create({"customer": "cus_nobody"}, on), 400)
    bare = api.v1.customers.create()
    fails(lambda: api.v1.tokens.create({"customer": bare.id}, on), 400)
    fails(lambda: api.v1.tokens.retrieve("tok_nothing"), 404)
    api.v1.customers.update(copy.id, {"source": "tok_visa"}, on)

    # payment methods
    pm = api.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}, "metadata": {"a": "b"}})
    api.v1.payment_methods.retrieve(pm.id)
    api.v1.payment_methods.update(pm.id, {"billing_details": {"name": "Alice"}, "card": {"exp_year": 2040}})
    api.v1.payment_methods.attach(pm.id, {"customer": alice.id})
    api.v1.customers.update(alice.id, {"invoice_settings": {"default_payment_method": pm.id}})
    api.v1.customers.retrieve(alice.id, {"expand": ["invoice_settings.default_payment_method"]})
    api.v1.payment_methods.list({"customer": alice.id, "type": "card", "expand": ["data.customer"]})
    api.v1.customers.payment_methods.list(alice.id, {"limit": 2})
    api.v1.payment_methods.retrieve(str(alice.default_source), {"expand": ["customer"]})
    clone = api.v1.payment_methods.create({"customer": alice.id, "payment_method": pm.id}, on)
    api.v1.customers.create({"payment_method": clone.id}, on)
    api.v1.payment_methods.list(options=on)
    api.v1.payment_methods.detach(pm.id)
    fails(lambda: api.v1.payment_methods.attach(pm.id, {"customer": alice.id}), 400)
    fails(lambda: api.v1.payment_methods.attach(pm.id, {}), 400, ("invalid_request", "customer"))
    fails(lambda: api.v1.payment_methods.create({"customer": alice.id, "payment_method": pm.id}), 400)
    fails(lambda: api.v1.payment_methods.retrieve("pm_nothing"), 404)

    # webhook endpoints (deliveries to these URLs fail: nothing listens on port 9, the discard port)
    hook = api.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/hook", "enabled_events": ["customer.created", "customer.updated"]}
        | {"description": "watch", "metadata": {"a": "b"}, "api_version": "2023-08-16"}
    )
    connect_hook = api.v1.webhook_endpoints.create(
        {"url": "http://localhost:9/connect", "enabled_events": ["*"], "connect": True}
    )
    api.v1.webhook_endpoints.list({"limit": 1})
    api.v1.webhook_endpoints.list({"starting_after": connect_hook.id})
    api.v1.webhook_endpoints.retrieve(hook.id)
    api.v1.webhook_endpoints.update(hook.id, {"enabled_events": ["*"], "description": "", "metadata": {"a": ""}})
    api.v1.webhook_endpoints.update(hook.id, {"disabled": True, "url": "http://127.0.0.1:9/other"})
    api.v1.webhook_endpoints.delete(connect_hook.id)
    fails(lambda: api.v1.webhook_endpoints.retrieve(connect_hook.id), 404)
    fails(lambda: api.v1.webhook_endpoints.list(options=on), 403)
    fails(lambda: api.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/", "enabled_events": ["*"]}, on), 403)
    bad_type = {"url": "http://127.0.0.1:9/", "enabled_events": ["customer.update"]}
    fails(lambda: api.v1.webhook_endpoints.create(bad_type), 400)
    no_events = {"url": "http://127.0.0.1:9/"}
    fails(lambda: api.v1.webhook_endpoints.create(no_events), 400, ("invalid_request", "enabled_events"))

    # events (of everything above: on the platform, and on the account with its header)
    api.v1.events.list({"limit": 3, "type": "customer.*", "created": {"gte": alice.created}})
    api.v1.events.list({"types": ["customer.created", "payment_method.attached"], "delivery_success": False})
    api.v1.events.list({"expand": ["data.request"], "ending_before": api.v1.events.list().data[-1].id})
    on_account = api.v1.events.list({"limit": 100}, on)
    api.v1.events.retrieve(on_account.data[0].id, {"expand": ["data"]}, on)
    fails(lambda: api.v1.events.retrieve(on_account.data[0].id), 404)
    fails(lambda: api.v1.events.list({"type": "customer.created", "types": ["customer.updated"]}), 400)

    # auth and unknown URLs
    assert plain("GET", "/v1/customers", {}) == 401
    assert plain("GET", "/v1/customers", {"Authorization": "Bearer sk_test_wrong"}) == 401
    assert plain("GET", "/v1/foo", key, breaks=("unknown_operation", None)) == 404
    assert plain("PUT", "/v1/customers", key, "email=a%40example.com", ("unknown_operation", None)) == 404

    # idempotency
    api.v1.customers.create({"email": "i@example.com"}, {"idempotency_key": "session-key"})
    api.v1.customers.create({"email": "i@example.com"}, {"idempotency_key": "session-key"})
    fails(lambda: api.v1.customers.create({"email": "j@example.com"}, {"idempotency_key": "session-key"}), 400)
    sandbox.configure(latency_ms=500)
    slow = threading.Thread(target=lambda: api.v1.customers.create({}, {"idempotency_key": "slow-key"}))
    slow.start()
    while sandbox.stats()["idempotency"]["in_flight"] == 0:
        time.sleep(0.01)
    fails(lambda: api.v1.customers.create({}, {"idempotency_key": "slow-key"}), 409)
    slow.join()
    sandbox.configure(latency_ms=0)

    # rate limit and faults
    sandbox.configure(rate_limit=0.001)
    api.v1.customers.list()
    fails(lambda: api.v1.customers.list(), 429)
    sandbox.configure(rate_limit=0, fail_rate=1.0)
    fails(lambda: api.v1.customers.list(), 500)
    fails(lambda: api.v1.customers.create({"email": "f@example.com"}), 500)
    sandbox.configure(fail_rate=0)


def read_report(report: Path) -> list[dict[str, Any]]:
    for _ in range(200):  # the proxy writes a line right after it answered
        if report.exists():
            break
        time.sleep(0.01)
    return [json.loads(line) for line in report.read_text().splitlines()]


def test_every_answer_of_a_full_session_passes_the_spec(
    proxy: tuple[str, Path], sandbox: Sandbox, make_account: Callable[..., str]
) -> None:
    url, report = proxy
    api = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": url}, max_network_retries=0)
    run = Session(url)
    session(api, run, sandbox, make_account("acct_1SpecSession0000"))
    time.sleep(0.2)  # let the proxy append its last line
    exchanges = read_report(report)
    assert len(run.deliberate) == 8
    assert run.deliberate.keys() <= {entry.get("request_id") for entry in exchanges}
    for entry in exchanges:
        expected = run.deliberate.get(entry.get("request_id", ""))
        found = [(violation["kind"], violation.get("at")) for violation in entry["violations"]]
        # Zero violations, except on the requests that are wrong on purpose: exactly the one expected there.
        assert found == ([expected] if expected else []), entry
        assert "checker_error" not in entry, entry
    answered = {(entry["method"], entry["template"]) for entry in exchanges}
    assert {(route.method, route.template) for route in ROUTES} <= answered
    assert {entry["status"] for entry in exchanges} == {200, 400, 401, 403, 404, 409, 429, 500}
