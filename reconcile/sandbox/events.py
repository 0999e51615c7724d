"""Stripe events: which state changes make which events, the Event objects, and reading them back.

The database journals every object a transaction writes; `EventLog.record` turns that journal into events
inside the same transaction, so a refused request records nothing and an idempotent replay, which runs
nothing, records nothing again. Each event is queued, in that transaction too, for every enabled webhook
endpoint that wants it (webhooks.py delivers them): the platform's events for account endpoints
(`connect=false`), connected accounts' events for Connect endpoints (`connect=true`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources

from . import shapes
from .db import Change, Database, EventQuery, Listing, Page, ReceivingEndpoint, Scope
from .ids import new_id
from .shapes import JSON
from .store_errors import NoSuchObject

ALL_EVENTS = "*"

# Every type an endpoint may subscribe to: the enum of Stripe's spec (event_types.json says which version).
EVENT_TYPES = frozenset(json.loads(resources.files(__package__).joinpath("event_types.json").read_text())["types"])


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The API request that caused a change: an event's `request`."""

    id: str
    idempotency_key: str | None


# The request being executed on this thread; None for changes no request made (seeding).
_REQUEST: ContextVar[RequestInfo | None] = ContextVar("sandbox_request", default=None)


@contextmanager
def request_context(request_id: str, idempotency_key: str | None) -> Iterator[None]:
    """Attribute the events recorded inside the block to this request."""
    token = _REQUEST.set(RequestInfo(request_id, idempotency_key))
    try:
        yield
    finally:
        _REQUEST.reset(token)


class EventLog:
    """Records an event for every change to customers, cards and PaymentMethods, and reads them back."""

    def __init__(self, db: Database, platform_id: str) -> None:
        self._db = db
        self.platform_id = platform_id
        self._on_recorded: list[Callable[[], None]] = []
        db.listen(self)

    def on_recorded(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each commit that queued deliveries (the delivery worker wakes up)."""
        self._on_recorded.append(callback)

    def record(self, db: sqlite3.Connection, changes: list[Change]) -> bool:
        """Turn one transaction's changes into events and queue their deliveries (inside the transaction);
        True if deliveries were queued."""
        queued = False
        request = _REQUEST.get()
        now = time.time()
        receivers: dict[bool, list[ReceivingEndpoint]] = {}
        for change in changes:
            connected = change.account != self.platform_id
            for event_type, previous in event_types(change):
                if connected not in receivers:
                    receivers[connected] = self._db.receiving_endpoints(db, connect=connected)
                targets = [
                    endpoint
                    for endpoint in receivers[connected]
                    if receives(endpoint, event_type, livemode=change.livemode, connected=connected)
                ]
                event = shapes.event(
                    new_id("evt"),
                    int(now),
                    change.livemode,
                    event_type,
                    change.after,
                    previous_attributes=previous,
                    account=change.account if connected else None,
                    request_id=None if request is None else request.id,
                    idempotency_key=None if request is None else request.idempotency_key,
                )
                event["pending_webhooks"] = len(targets)
                self._db.insert_event(db, change.account, event)
                for endpoint in targets:
                    self._db.insert_delivery(db, event["id"], endpoint.id, now)
                    queued = True
        return queued

    def committed(self) -> None:
        """A transaction that queued deliveries has committed: wake the delivery worker."""
        for callback in self._on_recorded:
            callback()

    def get(self, scope: Scope, event_id: str) -> str:
        """An event of the scope's account (a connected account's events are read with its Stripe-Account)."""
        text = self._db.event(scope, event_id)
        if text is None:
            raise NoSuchObject("event", event_id)
        return text

    def list(self, scope: Scope, page: Page, query: EventQuery) -> Listing:
        """The scope's events, newest first."""
        return self._db.events_page(
            scope, page, query, lambda cursor: NoSuchObject("event", cursor, None, referenced=True)
        )


def event_types(change: Change) -> list[tuple[str, JSON | None]]:
    """The events a change makes, each with its `previous_attributes` (for `*.updated` only)."""
    before, after = change.before, change.after
    if change.kind in ("customer", "card"):
        prefix = "customer" if change.kind == "customer" else "customer.source"
        if before is None:
            return [(f"{prefix}.created", None)]
        if change.deleted:
            return [(f"{prefix}.deleted", None)]
        changed = previous_attributes(before, after)
        return [(f"{prefix}.updated", changed)] if changed else []
    if change.kind == "payment_method":
        was_attached_to = None if before is None else before["customer"]
        if was_attached_to is None and after["customer"] is not None:
            return [("payment_method.attached", None)]
        if was_attached_to is not None and after["customer"] is None:
            return [("payment_method.detached", None)]
        updated = None if before is None else previous_attributes(before, after)
        return [("payment_method.updated", updated)] if updated else []
    return []  # tokens: Stripe has no events for them


def previous_attributes(before: JSON, after: JSON) -> JSON:
    """What an update changed, with the values before it: hashes (metadata, address) list only their changed
    keys (a key the update added is null), anything else is shown whole, arrays included."""
    changed: JSON = {}
    for key in [*after, *(key for key in before if key not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        changed[key] = previous_attributes(old, new) if isinstance(old, dict) and isinstance(new, dict) else old
    return changed


def receives(endpoint: ReceivingEndpoint, event_type: str, *, livemode: bool, connected: bool) -> bool:
    """Whether an enabled endpoint of the right kind gets an event: it must want the type and the mode.

    A live-mode Connect endpoint gets connected accounts' test-mode events too, as Stripe documents.
    """
    wanted = ALL_EVENTS in endpoint.enabled_events or event_type in endpoint.enabled_events
    same_mode = endpoint.livemode == livemode or (connected and endpoint.livemode)
    return wanted and same_mode


def type_pattern(wanted: str) -> str:
    """`GET /v1/events?type=` as a GLOB pattern: `*` matches anything, every other character only itself."""
    return "".join(f"[{char}]" if char in "?[" else char for char in wanted)
