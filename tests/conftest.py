"""Fixtures shared by every test folder: a fresh sandbox per test and clients pointed at it.

- `api_key`: the key every sandbox accepts by default ("sk_test_sandbox").
- `sandbox`: a `Sandbox` (reconcile.sandbox.server) over a fresh SQLite file in `tmp_path`, serving on a
  free loopback port for the duration of one test. `.url`, `.db_path`, `.add_account(id)`, `.stats()`,
  `.reset_stats()`, `.configure(...)`; start-up takes a few milliseconds.
- `stripe_client`: the official `stripe.StripeClient` talking to that sandbox, with no retries.
- `connected_account`: one connected account id on that sandbox; `make_account(id=None)` makes more.
- `proxy`: `spec-proxy` (tests/spec) in front of the sandbox: `(url, report_path)`; every exchange through
  it is checked against Stripe's published OpenAPI spec. `strict_proxy` also reports response fields the
  spec does not list (`--strict-response-fields`).
- `raw`: plain HTTP to the sandbox, for what the SDK hides (headers, Basic auth, malformed requests):
  `raw("GET", "/v1/customers?limit=1", key=..., body="a=b", headers={...})` -> `RawResponse`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox

API_KEY = "sk_test_sandbox"

# A suite started in the background by a non-interactive shell inherits SIGINT ignored, and so would every
# process it starts: the tests that stop a server with SIGINT, as Ctrl-C does, would wait for it for ever.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The reliability suite (minutes of CPU: racing processes) runs in CI, or when asked for with -m."""
    if os.environ.get("CI") or "reliability" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="reliability suite: run it with `pytest -m reliability` (CI always runs it)")
    for item in items:
        if "reliability" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def api_key() -> str:
    """The API key the sandbox accepts by default."""
    return API_KEY


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox for this test, persisted in tmp_path/sandbox.sqlite3."""
    with running_sandbox(tmp_path / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture
def stripe_client(sandbox: Sandbox, api_key: str) -> stripe.StripeClient:
    """The official SDK pointed at the sandbox; retries off so tests see every answer."""
    return stripe.StripeClient(api_key, base_addresses={"api": sandbox.url}, max_network_retries=0)


@pytest.fixture
def make_account(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> Callable[..., str]:
    """Make a connected account: through the API (`POST /v1/accounts`), or with exactly the id given."""

    def make(account_id: str | None = None) -> str:
        if account_id is not None:
            sandbox.add_account(account_id)
            return account_id
        return stripe_client.v1.accounts.create({"type": "standard"}).id

    return make


@pytest.fixture
def connected_account(make_account: Callable[..., str]) -> str:
    """One connected account on the sandbox."""
    return make_account()


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer: status, headers (names as sent) and the decoded JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        """The `error` hash of an error body."""
        error: dict[str, Any] = self.body["error"]
        return error


RawRequest = Callable[..., RawResponse]


@pytest.fixture
def raw(sandbox: Sandbox, api_key: str) -> RawRequest:
    """Send one plain HTTP request to the sandbox (`key=None` sends no Authorization header)."""
    address = urlsplit(sandbox.url)

    def request(
        method: str,
        path: str,
        *,
        key: str | None = api_key,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        sent = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        sent.update(headers or {})
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            return RawResponse(response.status, dict(response.getheaders()), json.loads(payload) if payload else None)
        finally:
            connection.close()

    return request


SPEC_PROXY = Path(__file__).resolve().parent / "spec" / "spec-proxy"


@contextmanager
def _spec_proxy(sandbox: Sandbox, report: Path, *flags: str) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(SPEC_PROXY),
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            sandbox.url,
            "--report",
            str(report),
            "--ignore",
            "/_sandbox/",
            *flags,
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    started = process.stderr.readline()
    found = re.search(r"listening on 127\.0\.0\.1:(\d+)", started)
    assert found, started
    try:
        yield f"http://127.0.0.1:{found.group(1)}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


@pytest.fixture
def proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """spec-proxy in front of the sandbox: its URL and its report file."""
    report = tmp_path / "report.jsonl"
    with _spec_proxy(sandbox, report) as url:
        yield url, report


@pytest.fixture
def strict_proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """spec-proxy with --strict-response-fields: a response field the spec does not list is a violation too."""
    report = tmp_path / "strict-report.jsonl"
    with _spec_proxy(sandbox, report, "--strict-response-fields") as url:
        yield url, report
