"""The only module that calls Stripe through ``stripe``: StripeClient calls in, model types out.

(``watch/signature.py`` also imports ``stripe``, to check webhook signatures: no API call.)

Every HTTP request, list pages included, passes the shared ``Pacer`` first, so the whole
process stays under ``--max-rps``. Retries are not done here (see ``retry.py``): the SDK is
built with ``max_network_retries=0`` and failures come out as ``ApiFailure``.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from sys import intern
from typing import Any, Protocol, cast
from urllib.parse import urlsplit, urlunsplit

import stripe

from reconcile.model import (
    ADDRESS_PARTS,
    NO_DETAILS,
    Address,
    ConnectedAccount,
    Customer,
    CustomField,
    Details,
    Fields,
    Shipping,
    frozen_map,
)
from reconcile.pacing import Pacer

# Stripe's largest page; observing costs the minimum number of list calls with it.
PAGE_SIZE = 100
# How many answers set the baseline answer time (see Gateway.in_flight_for_ceiling).
FIRST_ANSWERS = 16


# Not frozen: Python sets __traceback__ on an exception as it passes through a `with` block.
@dataclass(eq=False)
class ApiFailure(Exception):
    """A failed call, without the API key: Stripe's status, type, code, message and request id."""

    message: str
    status: int | None = None  # None: no HTTP answer (connection error)
    type: str | None = None
    code: str | None = None
    param: str | None = None
    request_id: str | None = None
    should_retry: bool | None = None  # Stripe-Should-Retry, when Stripe sent it
    replayed: bool = False  # Idempotent-Replayed: the answer Stripe stored for this key, not a new attempt

    def __str__(self) -> str:
        suffix = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"

    @property
    def is_missing(self) -> bool:
        return self.status == 404 or self.code == "resource_missing"


@dataclass(frozen=True, slots=True)
class Written:
    """The answer to a write: the object's id, whether Stripe replayed a stored answer, and the body."""

    id: str
    replayed: bool
    request_id: str | None
    data: Mapping[str, Any]


class CustomerPages(Protocol):
    """Pages of an account's customers, as apply's lookup by metadata reads them."""

    def customers_page(
        self, account: str | None, *, starting_after: str | None = None, created_gte: int | None = None
    ) -> tuple[list[Customer], bool]: ...


class ApplyCalls(CustomerPages, Protocol):
    """The calls apply makes. Gateway makes them on Stripe; a test may pass a fake."""

    @property
    def request_count(self) -> int: ...

    def retrieve_customer(self, account: str | None, customer_id: str, /) -> Customer | None: ...

    def create_customer(
        self, account: str | None, params: Mapping[str, Any], idempotency_key: str, /, *, urgent: bool = False
    ) -> Written: ...

    def update_customer(
        self,
        account: str | None,
        customer_id: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        /,
        *,
        urgent: bool = False,
    ) -> Written: ...

    def delete_customer(self, account: str, customer_id: str, /) -> None: ...

    def delete_source(self, account: str, customer_id: str, source_id: str, /) -> None: ...

    def create_customer_token(self, account: str, platform_customer: str, idempotency_key: str, /) -> Written: ...

    def clone_payment_method(
        self, account: str, platform_customer: str, payment_method: str, idempotency_key: str, /
    ) -> Written: ...

    def attach_payment_method(
        self, account: str, payment_method: str, customer: str, idempotency_key: str, /
    ) -> Written: ...

    def detach_payment_method(self, account: str, payment_method: str, idempotency_key: str, /) -> None: ...


class _PacedClient(stripe.RequestsClient):
    """The SDK's requests client, paced, counting requests by method and timing their answers."""

    def __init__(self, pacer: Pacer, counts: Counter[str], lock: threading.Lock) -> None:
        super().__init__(timeout=60)
        self._pacer = pacer
        self.urgency = threading.local()  # set around a call whose request must not queue
        self._counts = counts
        self._counts_lock = lock
        self.answer_seconds: float | None = None  # a moving average of the time an answer takes
        self.first_answers: list[float] = []  # the times of the first FIRST_ANSWERS answers

    # The SDK's RequestsClient already narrows HTTPClient.request this way; mypy sees the base's.
    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        self._pacer.wait(urgent=getattr(self.urgency, "on", False))
        with self._counts_lock:
            self._counts[method.upper()] += 1
        sent = time.monotonic()
        try:
            return super().request(method, url, headers, post_data)
        finally:
            seconds = time.monotonic() - sent
            with self._counts_lock:
                average = self.answer_seconds
                self.answer_seconds = seconds if average is None else average + (seconds - average) / 8
                if len(self.first_answers) < FIRST_ANSWERS:
                    self.first_answers.append(seconds)


class Gateway:
    """Stripe calls the tool makes, on the platform (``account=None``) or a connected account."""

    def __init__(self, api_key: str, *, api_base: str | None = None, max_rps: float = 0) -> None:
        self._api_key = api_key
        self._base = _without_credentials(api_base or stripe.DEFAULT_API_BASE)
        self.requests: Counter[str] = Counter()
        self._max_rps = max_rps
        self._http = _PacedClient(Pacer(max_rps), self.requests, threading.Lock())
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=self._http,
        )

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def in_flight_for_ceiling(self) -> float:
        """Requests in flight that keep --max-rps busy, at the answer times seen so far (Little's law).

        A quarter more than the average asks, for answers slower than it; without a ceiling, or
        before any answer, as many as there may be. Answers that grow slower as more requests are in
        flight are queueing (the server, or this machine, is the limit), and more requests would
        only queue longer: the estimate counts at most twice the time the first answers took.
        """
        http = self._http
        if not self._max_rps or http.answer_seconds is None:
            return math.inf
        first = http.first_answers
        seconds = min(http.answer_seconds, 2 * sum(first) / len(first))
        return 1 + 1.25 * self._max_rps * seconds

    # -- reads -----------------------------------------------------------------------------------

    def customers_page(
        self,
        account: str | None,
        *,
        starting_after: str | None = None,
        created_gte: int | None = None,
        created_lt: int | None = None,
        cards: bool = False,
    ) -> tuple[list[Customer], bool]:
        """One page of customers (newest first) and whether more follow.

        ``created_gte`` and ``created_lt`` keep the page to customers created in that range of seconds.
        ``cards`` expands each default source, for its card's fingerprint and last four digits: Stripe
        then sends every card with its customer, twice the bytes, so only the reads that compare cards
        ask for it.
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if cards:
            params["expand"] = ["data.default_source"]
        if starting_after:
            params["starting_after"] = starting_after
        created = {op: bound for op, bound in (("gte", created_gte), ("lt", created_lt)) if bound is not None}
        if created:
            params["created"] = created
        page = self._raw("get", "/v1/customers", params, account)
        return [to_customer(item) for item in page["data"]], bool(page["has_more"])

    def retrieve_customer(self, account: str | None, customer_id: str) -> Customer | None:
        """The customer, or None when it is deleted or does not exist."""
        try:
            found = self._raw("get", f"/v1/customers/{customer_id}", {"expand": ["default_source"]}, account)
        except ApiFailure as failure:
            if failure.is_missing:
                return None
            raise
        if found.get("deleted"):
            return None
        return to_customer(found)

    def events_page(
        self,
        account: str | None,
        *,
        types: Sequence[str],
        ending_before: str | None = None,
        starting_after: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> tuple[list[Mapping[str, object]], bool]:
        """One page of an account's events of ``types`` (newest first) and whether more follow.

        ``ending_before`` an event id: only the events after it, the page nearest to it; a reader that
        moves its cursor to each page's newest event walks forward in time (``reconcile watch --poll``);
        ``starting_after`` walks back, as lists do.
        The events are parsed JSON, checked by their reader (``reconcile.watch.events``).
        """
        params: dict[str, Any] = {"limit": limit, "types": list(types)}
        if ending_before:
            params["ending_before"] = ending_before
        if starting_after:
            params["starting_after"] = starting_after
        page = self._raw("get", "/v1/events", params, account)
        return list(page["data"]), bool(page["has_more"])

    def accounts_page(self, *, starting_after: str | None = None) -> tuple[list[ConnectedAccount], bool]:
        """One page of the platform's connected accounts and whether more follow."""
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if starting_after:
            params["starting_after"] = starting_after
        page = self._call(lambda: self._client.v1.accounts.list(cast(Any, params)))
        return [to_account(item) for item in page.data], bool(page.has_more)

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        """One connected account; a missing or unconnected one fails (Stripe answers 403 or 404)."""
        return to_account(self._call(lambda: self._client.v1.accounts.retrieve(account_id)))

    # -- writes ------------------------------------------------------------------------------------

    def create_customer(
        self, account: str | None, params: Mapping[str, Any], idempotency_key: str, *, urgent: bool = False
    ) -> Written:
        """``urgent``: it spends a token made a moment ago, so it goes ahead of other queued requests."""
        with self._urgent(urgent):
            return self._written(
                lambda: self._client.v1.customers.create(
                    cast(Any, dict(params)), self._options(account, idempotency_key)
                )
            )

    def update_customer(
        self,
        account: str | None,
        customer_id: str,
        params: Mapping[str, Any],
        idempotency_key: str,
        *,
        urgent: bool = False,
    ) -> Written:
        """``urgent``: it spends a token or clone made a moment ago."""
        with self._urgent(urgent):
            return self._written(
                lambda: self._client.v1.customers.update(
                    customer_id, cast(Any, dict(params)), self._options(account, idempotency_key)
                )
            )

    def delete_customer(self, account: str, customer_id: str) -> None:
        """Delete a copy; deleting one that is already gone is not an error (DELETE is idempotent)."""
        try:
            self._call(lambda: self._client.v1.customers.delete(customer_id, None, self._options(account)))
        except ApiFailure as failure:
            if not failure.is_missing:
                raise

    def delete_source(self, account: str, customer_id: str, source_id: str) -> None:
        """Delete a card source from a copy; one deleted already is not an error (DELETE is idempotent)."""
        try:
            self._call(
                lambda: self._client.v1.customers.payment_sources.delete(
                    customer_id, source_id, None, self._options(account)
                )
            )
        except ApiFailure as failure:
            if not failure.is_missing:
                raise

    def create_customer_token(self, account: str, platform_customer: str, idempotency_key: str) -> Written:
        """A single-use card token on ``account``, copied from the platform customer's default source."""
        return self._written(
            lambda: self._client.v1.tokens.create(
                {"customer": platform_customer}, self._options(account, idempotency_key)
            )
        )

    def clone_payment_method(
        self, account: str, platform_customer: str, payment_method: str, idempotency_key: str
    ) -> Written:
        """A PaymentMethod on ``account`` cloned from the platform customer's PaymentMethod."""
        return self._written(
            lambda: self._client.v1.payment_methods.create(
                {"customer": platform_customer, "payment_method": payment_method},
                self._options(account, idempotency_key),
            )
        )

    def attach_payment_method(self, account: str, payment_method: str, customer: str, idempotency_key: str) -> Written:
        """Attach a PaymentMethod of ``account`` (a clone made a moment ago) to one of its customers."""
        with self._urgent(True):
            return self._written(
                lambda: self._client.v1.payment_methods.attach(
                    payment_method, {"customer": customer}, self._options(account, idempotency_key)
                )
            )

    def detach_payment_method(self, account: str, payment_method: str, idempotency_key: str) -> None:
        """Detach a PaymentMethod from its customer on ``account``; one detached already is not an error."""
        try:
            self._call(
                lambda: self._client.v1.payment_methods.detach(
                    payment_method, None, self._options(account, idempotency_key)
                )
            )
        except ApiFailure as failure:
            if failure.status not in (400, 404):  # not attached to a customer (any more), or gone
                raise

    # -- plumbing ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _urgent(self, urgent: bool) -> Iterator[None]:
        """Mark this thread's requests as urgent for the pacer while the block runs."""
        self._http.urgency.on = urgent
        try:
            yield
        finally:
            self._http.urgency.on = False

    def _options(self, account: str | None, idempotency_key: str | None = None) -> Any:
        options: dict[str, str] = {}
        if account:
            options["stripe_account"] = account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    def _raw(self, method: str, path: str, params: Mapping[str, Any], account: str | None) -> Mapping[str, Any]:
        """A read through the SDK's HTTP layer, answered as parsed JSON rather than StripeObjects.

        Building the SDK's object tree for each customer of a page costs several times what the
        request and the JSON decoding cost together; a page is read for a handful of its fields.
        """
        options = self._options(account)
        response = self._call(lambda: self._client.raw_request(method, path, **params, **options))
        data: Mapping[str, Any] = response.data
        return data

    def _written(self, call: Any) -> Written:
        obj = self._call(call)
        response = getattr(obj, "last_response", None)
        headers: Mapping[str, str] = response.headers if response is not None else {}
        return Written(
            id=str(obj["id"]),
            replayed=str(headers.get("idempotent-replayed", "")).lower() == "true",
            request_id=headers.get("request-id"),
            data=obj.to_dict(),
        )

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except stripe.StripeError as error:
            raise self._failure(error) from None

    def _failure(self, error: stripe.StripeError) -> ApiFailure:
        if isinstance(error, stripe.APIConnectionError):
            return ApiFailure(message=f"cannot reach the API at {self._base}: {_network_reason(error)}")
        headers = error.headers or {}
        should_retry_header = headers.get("stripe-should-retry")
        details = error.error
        return ApiFailure(
            message=self._scrub(error.user_message or type(error).__name__),
            status=error.http_status,
            type=getattr(details, "type", None),
            code=error.code,
            param=getattr(details, "param", None),
            request_id=error.request_id,
            should_retry=None if should_retry_header is None else should_retry_header == "true",
            replayed=str(headers.get("idempotent-replayed", "")).lower() == "true",
        )

    def _scrub(self, message: str) -> str:
        """Stripe masks keys in its messages already; this makes sure of it."""
        return message.replace(self._api_key, "sk_****") if self._api_key else message


def _without_credentials(url: str) -> str:
    """The base URL as it may be shown: a user:password@ part is left out."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def _network_reason(error: stripe.APIConnectionError) -> str:
    """The cause of a connection error in a few words; the SDK's own message spans several lines."""
    text = error.user_message or ""
    found = re.search(r"\[Errno -?\d+\] ([^\"')\]]+)", text) or re.search(r"(Read timed out|timed out)", text)
    return found.group(1).strip() if found else "network error"


def to_customer(obj: Any) -> Customer:
    """A model Customer from a Stripe customer object (default_source expanded, or an id).

    Values that repeat across a platform's customers (metadata keys, owner, e-mails and names a
    copy shares with its platform customer, card fingerprints) are interned: a million copies then
    hold one string each rather than a million, which is most of what an observation weighs.
    """
    data: Mapping[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else obj
    source = data.get("default_source")
    fingerprint = last4 = None
    if isinstance(source, Mapping):
        card = source if source.get("object") == "card" else source.get("card")
        if isinstance(card, Mapping):
            fingerprint, last4 = _shared(card.get("fingerprint")), _shared(card.get("last4"))
        source = source.get("id")
    invoice_settings = data.get("invoice_settings") or {}
    default_pm = invoice_settings.get("default_payment_method")
    if isinstance(default_pm, Mapping):
        default_pm = default_pm.get("id")
    metadata = data.get("metadata")
    return Customer(
        id=data["id"],
        fields=Fields(
            email=_shared(data.get("email")),
            name=_shared(data.get("name")),
            phone=_shared(data.get("phone")),
            description=_shared(data.get("description")),
            metadata=frozen_map({intern(str(k)): intern(str(v)) for k, v in metadata.items()} if metadata else None),
            details=_details(data, invoice_settings),
        ),
        default_source=_shared(source),
        default_payment_method=default_pm,
        card_fingerprint=fingerprint,
        card_last4=last4,
        created=int(data.get("created") or 0),
    )


def _details(data: Mapping[str, Any], invoice_settings: Mapping[str, Any]) -> Details:
    """A customer's details; most customers have none, and share one empty value."""
    shipping = data.get("shipping")
    locales = tuple(str(locale) for locale in data.get("preferred_locales") or ())
    custom_fields = tuple(
        CustomField(str(item.get("name") or ""), str(item.get("value") or ""))
        for item in invoice_settings.get("custom_fields") or ()
    )
    tax_exempt = data.get("tax_exempt")
    details = Details(
        address=_address(data.get("address")),
        shipping=_shipping(shipping) if isinstance(shipping, Mapping) else None,
        preferred_locales=locales or None,
        tax_exempt=None if tax_exempt in (None, "none") else str(tax_exempt),
        invoice_footer=_text(invoice_settings.get("footer")),
        invoice_custom_fields=custom_fields or None,
    )
    return NO_DETAILS if details == NO_DETAILS else details


def _shipping(shipping: Mapping[str, Any]) -> Shipping:
    address = _address(shipping.get("address")) or Address()
    return Shipping(name=_text(shipping.get("name")), phone=_text(shipping.get("phone")), address=address)


def _address(value: Any) -> Address | None:
    if not isinstance(value, Mapping):
        return None
    address = Address(**{part: _text(value.get(part)) for part in ADDRESS_PARTS})
    return None if address == Address() else address


def _text(value: Any) -> str | None:
    """A text field of a nested object; Stripe stores an empty one as null, and so do we."""
    return str(value) if value else None


def _shared(value: Any) -> Any:
    """``value``, interned when it is a string (see ``to_customer``)."""
    return intern(value) if type(value) is str else value


def to_account(obj: Any) -> ConnectedAccount:
    """A model ConnectedAccount from a Stripe account object."""
    data: Mapping[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else obj
    dashboard = ((data.get("settings") or {}).get("dashboard") or {}).get("display_name")
    business = (data.get("business_profile") or {}).get("name")
    return ConnectedAccount(id=data["id"], name=dashboard or business or None, email=data.get("email") or None)
