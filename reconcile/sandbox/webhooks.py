"""Webhook delivery: every queued event is POSTed, signed, to its endpoint by a worker thread.

As on Stripe, a delivery is signed with the endpoint's secret: `Stripe-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>">`, which the official SDKs verify (`stripe.Webhook.construct_event`); each attempt
is signed afresh. An attempt that does not get a 2xx answer (or no answer) is retried with exponential
back-off for as long as the policy says (Stripe: up to three days in live mode). The queue is in the database,
so deliveries survive a restart. Deliveries go to loopback addresses only: the sandbox never sends traffic
off the machine, whatever URL an endpoint was given.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .db import Database, Delivery

log = logging.getLogger(__name__)

SCHEME = "v1"  # the signature scheme the SDKs check
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
RETRY_BASE_MS = 60_000.0
RETRY_FOR_S = 3 * 24 * 3600.0
TIMEOUT_S = 10.0
_BATCH = 50  # deliveries read from the queue at a time
_MAX_ANSWER = 64 * 1024  # bytes of a receiver's answer read (and thrown away)


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header for a payload sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SCHEME}={digest}"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """When to retry a failed delivery, until when, and how long to wait for an answer.

    After the n-th failed attempt the next one is `retry_base_ms * 2**(n-1)` later; an attempt that would fall
    more than `retry_for_s` after the event was queued is not made, and the delivery has failed.
    """

    retry_base_ms: float = RETRY_BASE_MS
    retry_for_s: float = RETRY_FOR_S
    timeout_s: float = TIMEOUT_S

    def next_attempt(self, queued: float, failed_attempts: int, now: float) -> float | None:
        """When to try again after this many failed attempts (None: give up)."""
        at = now + self.retry_base_ms / 1000 * 2 ** (failed_attempts - 1)
        return at if at - queued <= self.retry_for_s else None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: a loopback address, port and path."""

    https: bool
    host: str  # as the URL gives it (a loopback IP literal, or localhost)
    port: int
    path: str


def loopback_target(url: str) -> Target | str:
    """The target of a webhook URL, or why the sandbox refuses to send there (it is not this machine)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http:// or https:// URL"
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the port is not a number from 0 to 65535"
    if host.lower() == "localhost":
        # Resolved here (from the hosts file) and checked, rather than trusted: only loopback is allowed.
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except OSError as failure:
            return f"localhost does not resolve: {failure}"
        if not addresses or not all(ipaddress.ip_address(str(address)).is_loopback for address in addresses):
            return f"localhost resolves to {', '.join(sorted(map(str, addresses)))}, which is not loopback"
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            # A name is never resolved: that alone would send a DNS query off the machine.
            return f"{host} is not a loopback address (use 127.0.0.1, [::1] or localhost)"
        if not address.is_loopback:
            return f"{host} is not a loopback address"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme == "https", host, port, path)


DEFAULT_POLICY = DeliveryPolicy()


class Deliverer:
    """The worker that sends queued deliveries, in the order they were queued, retrying failures."""

    def __init__(self, db: Database, policy: DeliveryPolicy = DEFAULT_POLICY) -> None:
        self._db = db
        self.policy = policy
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)

    def start(self) -> None:
        """Start delivering (what a previous run left queued is delivered too)."""
        self._thread.start()

    def stop(self) -> None:
        """Finish the attempt in progress, if any, and stop; what is queued stays queued."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def wake(self) -> None:
        """New deliveries were queued."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before reading the queue, so that a wake-up during the read is not lost
            try:
                due = self._db.due_deliveries(time.time(), _BATCH)
                for delivery in due:
                    if self._stopping.is_set():
                        return
                    self._attempt(delivery)
                if due:
                    continue
                next_due = self._db.next_due()
            except Exception:
                log.exception("sandbox: the webhook worker failed; it goes on in a second")
                next_due = time.time() + 1
            self._wake.wait(None if next_due is None else max(0.0, next_due - time.time()))

    def _attempt(self, delivery: Delivery) -> None:
        endpoint = delivery.endpoint
        if delivery.endpoint_deleted or endpoint["status"] != "enabled":
            # Stripe does not retry to an endpoint disabled or deleted since (re-enabled in time, it would).
            self._db.finish_delivery(delivery.seq, "cancelled", None, None, attempted=False)
            return
        target = loopback_target(endpoint["url"])
        if isinstance(target, str):
            log.warning(
                "sandbox: not delivering %s to webhook endpoint %s (%s): %s; the sandbox only sends to this machine",
                delivery.event_id,
                endpoint["id"],
                endpoint["url"],
                target,
            )
            self._db.finish_delivery(delivery.seq, "refused", None, target, attempted=False)
            return
        status, error = self._post(target, delivery)
        if status is not None and 200 <= status < 300:
            self._db.finish_delivery(delivery.seq, "delivered", status, None, attempted=True)
            return
        outcome = error or f"HTTP {status}"
        now = time.time()
        retry_at = self.policy.next_attempt(delivery.created, delivery.attempts + 1, now)
        if retry_at is None:
            log.warning(
                "sandbox: gave up delivering %s to %s after %d attempts (last: %s)",
                delivery.event_id,
                endpoint["url"],
                delivery.attempts + 1,
                outcome,
            )
            self._db.finish_delivery(delivery.seq, "failed", status, error, attempted=True)
            return
        log.info(
            "sandbox: delivering %s to %s failed (%s); next attempt in %.3f s",
            delivery.event_id,
            endpoint["url"],
            outcome,
            retry_at - now,
        )
        self._db.retry_delivery(delivery.seq, retry_at, status, error)

    def _post(self, target: Target, delivery: Delivery) -> tuple[int | None, str | None]:
        """POST the event; the receiver's status, or why there was none."""
        # Pretty-printed, as Stripe sends events: a receiver must verify the bytes it got, not a re-encoding.
        payload = json.dumps(json.loads(delivery.event), indent=2).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": signature_header(payload, delivery.secret, int(time.time())),
        }
        connection_type = http.client.HTTPSConnection if target.https else http.client.HTTPConnection
        connection = connection_type(target.host, target.port, timeout=self.policy.timeout_s)
        try:
            connection.request("POST", target.path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read(_MAX_ANSWER)
            return response.status, None
        except (OSError, http.client.HTTPException) as failure:
            return None, f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        finally:
            connection.close()
