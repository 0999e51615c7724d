"""Running ``watch`` in-process against a sandbox that delivers its events to it, for the watch tests."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stripe

from reconcile import config
from reconcile.gateway import Gateway
from reconcile.retry import RetryPolicy
from reconcile.sandbox import Sandbox
from reconcile.watch.loop import Watcher, WatchSettings
from reconcile.watch.server import WatchServer

WAIT = 15.0  # seconds a test waits for what should happen within one


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for ``body``, as Stripe makes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


@dataclass
class Watch:
    """A running watcher: its URL, secrets, and readers of what it reports."""

    watcher: Watcher
    gateway: Gateway
    url: str
    secrets: tuple[str, ...]

    def post(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        """POST a webhook delivery to /webhook."""
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        connection.request("POST", "/webhook", body=body, headers=headers)
        answer = connection.getresponse()
        data = json.loads(answer.read() or b"{}")
        connection.close()
        return answer.status, data

    def deliver(self, event: dict[str, Any], secret: str | None = None) -> tuple[int, dict[str, Any]]:
        """Deliver ``event`` signed with ``secret`` (the platform endpoint's by default)."""
        body = json.dumps(event, indent=2).encode()
        return self.post(body, sign(body, secret or self.secrets[0]))

    def get(self, path: str) -> tuple[int, str]:
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path)
        answer = connection.getresponse()
        text = answer.read().decode()
        connection.close()
        return answer.status, text

    def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics (0 when absent)."""
        return sum_samples(self.get("/metrics")[1], name, labels)


def sum_samples(text: str, name: str, labels: dict[str, str]) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if part)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(value)
    return total


def endpoints(client: stripe.StripeClient, url: str) -> tuple[str, str]:
    """A platform endpoint and a Connect endpoint delivering every event to ``url``: their two secrets."""
    platform = client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"]})
    connect = client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["*"], "connect": True})
    assert platform.secret
    assert connect.secret
    return platform.secret, connect.secret


@contextmanager
def watching(
    sandbox: Sandbox,
    client: stripe.StripeClient,
    file: Path,
    api_key: str,
    *,
    api_base: str | None = None,
    **settings: Any,
) -> Iterator[Watch]:
    """``reconcile watch FILE`` in threads of this process, receiving the sandbox's webhooks; synced at start.

    ``api_base``: where its API requests go, when not straight to the sandbox (spec-proxy).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = endpoints(client, f"{url}/webhook")
    gateway = Gateway(api_key, api_base=api_base or sandbox.url)
    defaults: dict[str, Any] = {"window": 0.05, "concurrency": 4, "policy": RetryPolicy(base_delay=0.01)}
    watcher = Watcher(
        config.load(file),
        gateway,
        WatchSettings(**(defaults | settings)),
        load=lambda: config.load(file),
        source=file,
    )
    server = WatchServer(("127.0.0.1", port), watcher, secrets)
    server.start()
    loop = threading.Thread(target=watcher.run, name="watch-loop", daemon=True)
    loop.start()
    try:
        assert watcher.synced.wait(WAIT), "the start-up resync did not finish"
        yield Watch(watcher, gateway, url, secrets)
    finally:
        watcher.stop()
        loop.join(WAIT)
        server.shutdown()
        server.server_close()
