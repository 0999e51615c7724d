"""Webhook endpoints: Stripe's rules for making, reading, changing and deleting them.

An endpoint belongs to the platform and to one mode (the key's). `connect=true` makes a Connect endpoint,
which receives the events of every connected account; otherwise it receives the platform's own events.
Its signing secret (`whsec_…`) is in the answer to the create only, as on Stripe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import shapes
from .db import UNSET, Database, Listing, Page, Unset, dumps
from .ids import new_id
from .metadata import MetadataPatch
from .shapes import JSON
from .store_errors import NoSuchObject


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointChanges:
    """What an update asks for; absent fields stay as they are."""

    url: str | None = None
    enabled_events: tuple[str, ...] | None = None
    description: str | Unset | None = UNSET
    metadata: MetadataPatch | None = None
    disabled: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEndpoint:
    """What a create asks for."""

    url: str
    enabled_events: tuple[str, ...]
    connect: bool = False
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    api_version: str | None = None


class WebhookEndpoints:
    """The platform's webhook endpoints, per mode."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, livemode: bool, new: NewEndpoint) -> str:
        """A new, enabled endpoint; the answer (only this one) carries its signing secret."""
        endpoint = shapes.webhook_endpoint(
            new_id("we"),
            int(time.time()),
            livemode,
            url=new.url,
            enabled_events=list(new.enabled_events),
            description=new.description,
            metadata=new.metadata,
            api_version=new.api_version,
        )
        secret = new_id("whsec")
        self._db.insert_endpoint(endpoint, connect=new.connect, secret=secret)
        # Stripe's fields are in alphabetical order after `id` and `object`; `secret` takes its place among them.
        answer = {key: value for key, value in endpoint.items() if key < "secret" or key in ("id", "object")}
        answer["secret"] = secret
        answer.update((key, value) for key, value in endpoint.items() if key not in answer)
        return dumps(answer)

    def get(self, livemode: bool, endpoint_id: str) -> str:
        """An endpoint, without its secret."""
        return dumps(self._endpoint(livemode, endpoint_id))

    def update(self, livemode: bool, endpoint_id: str, changes: EndpointChanges) -> str:
        """Change the URL, the events, the description, the metadata, or enable or disable it."""
        endpoint = self._endpoint(livemode, endpoint_id)
        if changes.url is not None:
            endpoint["url"] = changes.url
        if changes.enabled_events is not None:
            endpoint["enabled_events"] = list(changes.enabled_events)
        if not isinstance(changes.description, Unset):
            endpoint["description"] = changes.description
        if changes.metadata is not None:
            endpoint["metadata"] = changes.metadata.apply(endpoint["metadata"])
        if changes.disabled is not None:
            endpoint["status"] = "disabled" if changes.disabled else "enabled"
        self._db.save_endpoint(endpoint)
        return dumps(endpoint)

    def delete(self, livemode: bool, endpoint_id: str) -> str:
        """Delete an endpoint; what it had still to receive is not sent (Stripe stops retrying)."""
        self._endpoint(livemode, endpoint_id)
        self._db.delete_endpoint(endpoint_id)
        return dumps(shapes.deleted(endpoint_id, "webhook_endpoint"))

    def list(self, livemode: bool, page: Page) -> Listing:
        """The mode's endpoints, newest first."""
        return self._db.endpoints_page(
            livemode, page, lambda cursor: NoSuchObject("webhook_endpoint", cursor, None, referenced=True)
        )

    def _endpoint(self, livemode: bool, endpoint_id: str) -> JSON:
        endpoint = self._db.endpoint(livemode, endpoint_id)
        if endpoint is None:
            raise NoSuchObject("webhook_endpoint", endpoint_id)
        return endpoint
