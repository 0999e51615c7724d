"""The gateway ``watch`` applies through, remembering the idempotency keys of its own writes.

Stripe puts the key of the request that made a change in the event's ``request``: an event carrying one
of these keys reports ``watch``'s own change, which needs no second look.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from reconcile.gateway import ApplyCalls, Written
from reconcile.model import Customer

REMEMBERED = 100_000  # keys kept; an event older than that many writes is only read again, never lost


class OwnWrites:
    """An ``ApplyCalls`` that passes every call to ``gateway`` and keeps the keys it wrote under."""

    def __init__(self, gateway: ApplyCalls) -> None:
        self._gateway = gateway
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def made(self, idempotency_key: str | None) -> bool:
        """Whether a change was made by a write of ours."""
        if idempotency_key is None:
            return False
        with self._lock:
            return idempotency_key in self._keys

    def _keep(self, key: str) -> str:
        with self._lock:
            self._keys[key] = None
            if len(self._keys) > REMEMBERED:
                self._keys.popitem(last=False)
        return key

    @property
    def request_count(self) -> int:
        return self._gateway.request_count

    def customers_page(
        self, account: str | None, *, starting_after: str | None = None, created_gte: int | None = None
    ) -> tuple[list[Customer], bool]:
        return self._gateway.customers_page(account, starting_after=starting_after, created_gte=created_gte)

    def retrieve_customer(self, account: str | None, customer_id: str, /) -> Customer | None:
        return self._gateway.retrieve_customer(account, customer_id)

    def create_customer(
        self, account: str | None, params: Mapping[str, Any], idempotency_key: str, /, *, urgent: bool = False
    ) -> Written:
        return self._gateway.create_customer(account, params, self._keep(idempotency_key), urgent=urgent)

    def update_customer(
        self,
        account: str | None,
        customer_id: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        /,
        *,
        urgent: bool = False,
    ) -> Written:
        return self._gateway.update_customer(account, customer_id, params, self._keep(idempotency_key), urgent=urgent)

    def delete_customer(self, account: str, customer_id: str, /) -> None:
        self._gateway.delete_customer(account, customer_id)

    def delete_source(self, account: str, customer_id: str, source_id: str, /) -> None:
        self._gateway.delete_source(account, customer_id, source_id)

    def create_customer_token(self, account: str, platform_customer: str, idempotency_key: str, /) -> Written:
        return self._gateway.create_customer_token(account, platform_customer, self._keep(idempotency_key))

    def clone_payment_method(
        self, account: str, platform_customer: str, payment_method: str, idempotency_key: str, /
    ) -> Written:
        return self._gateway.clone_payment_method(
            account, platform_customer, payment_method, self._keep(idempotency_key)
        )

    def attach_payment_method(
        self, account: str, payment_method: str, customer: str, idempotency_key: str, /
    ) -> Written:
        return self._gateway.attach_payment_method(account, payment_method, customer, self._keep(idempotency_key))

    def detach_payment_method(self, account: str, payment_method: str, idempotency_key: str, /) -> None:
        self._gateway.detach_payment_method(account, payment_method, self._keep(idempotency_key))
