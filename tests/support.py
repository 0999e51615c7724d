"""Shared test data, fixtures that drive the CLI against a sandbox, readers of its stats, and a webhook receiver."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from reconcile.cli import app

BOOKSHOP = "acct_1BookshopAAAAAAAA"
COFFEE = "acct_1CoffeeBBBBBBBBBB"

MARKETPLACE = f"""\
version: 1
owner: acme
mode: test
accounts:
  bookshop: {BOOKSHOP}
  coffee: {COFFEE}
customers:
  alice:
    email: alice@example.com
    name: Alice Liddell
    metadata: {{tier: gold}}
    payment: {{source: tok_visa}}
    accounts: ["*"]
  bob:
    email: bob@example.com
    name: Bob Builder
    phone: "+15555550100"
    payment: {{source: tok_mastercard}}
    accounts: [coffee]
"""

# Runs the `reconcile` CLI in-process: reconcile("plan", path, "--format", "json").
Reconcile = Callable[..., Result]


def writes(stats: dict[str, Any]) -> dict[str, int]:
    """Non-GET requests by operation, from the sandbox's /_sandbox/stats."""
    return {op: n for op, n in stats["requests"].items() if not op.startswith("GET ")}


def operations(stats: dict[str, Any], prefix: str = "") -> int:
    return sum(n for op, n in stats["requests"].items() if op.startswith(prefix))


def lines(text: str) -> Sequence[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- fixtures (imported by the conftest of each test folder that drives the CLI) --


@pytest.fixture
def accounts(sandbox: Any) -> dict[str, str]:
    """The two connected accounts of MARKETPLACE, connected to the sandbox's platform."""
    for account_id in (BOOKSHOP, COFFEE):
        sandbox.add_account(account_id)
    return {"bookshop": BOOKSHOP, "coffee": COFFEE}


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "stripe.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def marketplace(write_file: Callable[[str, str], Path], accounts: dict[str, str]) -> Path:
    return write_file(MARKETPLACE, "stripe.yaml")


@pytest.fixture
def reconcile(sandbox: Any, api_key: str) -> Reconcile:
    """Run the CLI in-process against the sandbox, with the key in STRIPE_API_KEY."""
    runner = CliRunner()

    def run(*args: str | Path, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
        environment: dict[str, str | None] = {
            "STRIPE_API_KEY": api_key,
            "STRIPE_API_BASE": sandbox.url,
            "NO_COLOR": "1",
        }
        environment.update(env or {})
        return runner.invoke(app, [str(a) for a in args], env=environment, input=input)

    return run


# ---------------------------------------------------------------------- webhooks

WAIT = 10.0  # seconds a test waits for deliveries that should come at once


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver got it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


class Receiver:
    """A webhook receiver on a loopback port: keeps every delivery; answers the statuses it is told to, then 200."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    receiver.received.append(Received(time.time(), self.path, dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Received]:
        """The first `count` deliveries, once they came."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return self.received[:count]

    def events(self, count: int) -> list[dict[str, Any]]:
        return [delivery.event for delivery in self.wait_for(count)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
