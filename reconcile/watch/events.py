"""A Stripe event as ``watch`` reads it: which customer it touches, on which account, and who caused it.

Events arrive as parsed JSON (a webhook body, or a page of ``GET /v1/events``); this module checks the few
fields ``watch`` relies on and keeps nothing else, so no untyped value travels further.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconcile.model import frozen_map

# The events that can change a shared customer or its card, on the platform or on a connected account.
# (GET /v1/events takes at most 20 types; webhook endpoints may subscribe to exactly these.)
WATCHED_TYPES = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.source.created",
    "customer.source.updated",
    "customer.source.deleted",
    "customer.source.expiring",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "payment_method.automatically_updated",
)
_CUSTOMER_TYPES = frozenset({"customer.created", "customer.updated", "customer.deleted"})


class MalformedEvent(ValueError):
    """A body that is not a Stripe event (after its signature checked out: a bug, or another API)."""


@dataclass(frozen=True, slots=True)
class Touch:
    """What one event says about the customers ``watch`` keeps.

    ``customer`` is the customer the event is about (for a card or PaymentMethod, the customer it
    belongs to), on ``account`` (None: the platform); ``metadata`` is that customer's metadata when the
    event carries the customer itself (``customer.*``), which is how a copy is recognised as ours.
    """

    event_id: str
    type: str
    created: int  # when the change happened (Unix seconds)
    account: str | None
    customer: str | None
    metadata: Mapping[str, str] | None
    deleted: bool  # the customer itself is gone (customer.deleted)
    idempotency_key: str | None  # of the request that made the change, when it sent one

    @property
    def watched(self) -> bool:
        return self.type in WATCHED_TYPES


def read_event(data: object) -> Touch:
    """The Touch of one event; MalformedEvent when ``data`` lacks what every Stripe event has."""
    event = _mapping(data, "the event")
    event_id = _text(event.get("id"), "id")
    if event.get("object") != "event" or not event_id.startswith("evt_"):
        raise MalformedEvent(f"not a Stripe event: object={event.get('object')!r}, id={event_id!r}")
    event_type = _text(event.get("type"), "type")
    created = event.get("created")
    if not isinstance(created, int):
        raise MalformedEvent(f"{event_id}: created is not a timestamp")
    account = event.get("account")
    data = _mapping(event.get("data"), "data")
    obj = _mapping(data.get("object"), "data.object")
    previous = data.get("previous_attributes")
    request = event.get("request")
    key = request.get("idempotency_key") if isinstance(request, Mapping) else None
    customer, metadata = _customer_of(event_type, obj, previous if isinstance(previous, Mapping) else {})
    return Touch(
        event_id=event_id,
        type=event_type,
        created=created,
        account=account if isinstance(account, str) and account else None,
        customer=customer,
        metadata=metadata,
        deleted=event_type == "customer.deleted",
        idempotency_key=key if isinstance(key, str) else None,
    )


def _customer_of(
    event_type: str, obj: Mapping[str, object], previous: Mapping[str, object]
) -> tuple[str | None, Mapping[str, str] | None]:
    if event_type in _CUSTOMER_TYPES:
        customer = obj.get("id")
        raw = obj.get("metadata")
        metadata = (
            frozen_map({k: v for k, v in raw.items() if isinstance(v, str)}) if isinstance(raw, Mapping) else None
        )
        return (customer if isinstance(customer, str) else None), metadata
    # A card, source or PaymentMethod: `customer` is an id, or the customer itself when expanded. A
    # detached PaymentMethod has none left: its previous owner is in previous_attributes when the event
    # names it; when not, detaching a copy's default also changes the customer (customer.updated).
    owner = obj.get("customer") or previous.get("customer")
    if isinstance(owner, Mapping):
        owner = owner.get("id")
    return (owner if isinstance(owner, str) and owner else None), None


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{what} is not an object")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"the event's {what} is missing")
    return value
