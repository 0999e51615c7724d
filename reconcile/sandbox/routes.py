"""One handler per endpoint: check the parameters, call the store, shape the answer (lists, expansions)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from . import expand, shapes
from .db import UNSET, EventQuery, Listing, Page, Scope, Unset, dumps
from .errors import INVALID_REQUEST, ApiError, bad_param, missing_parameter, not_emulated
from .events import EVENT_TYPES, type_pattern
from .forms import Form, FormValue
from .params import (
    Boolean,
    Choice,
    Email,
    Hash,
    Integer,
    Kind,
    Metadata,
    Params,
    Records,
    Spec,
    Strings,
    Text,
    TimeRange,
)
from .shapes import JSON, PAYMENT_METHOD_TYPES
from .store import CustomerChanges, Store
from .store_errors import AccountNotConnected, InvalidState
from .webhook_endpoints import EndpointChanges, NewEndpoint


@dataclass(frozen=True, slots=True)
class Call:
    """One API call as a handler sees it."""

    store: Store
    scope: Scope
    form: Form
    args: tuple[str, ...]  # the ids in the path, in order


Handler = Callable[[Call], str]


@dataclass(frozen=True, slots=True)
class Route:
    """An endpoint: method, path template and the handler answering it."""

    method: str
    template: str
    handler: Handler

    @property
    def operation(self) -> str:
        """The name stats use: the method and Stripe's own path template, e.g. `POST /v1/customers/{customer}`."""
        return f"{self.method} {self.template}"


# ---------------------------------------------------------------------- shared parameter kinds


class _TextOnly:
    """A string parameter that Stripe also accepts as a hash (card details), which is not emulated."""

    def coerce(self, value: FormValue, name: str) -> str | None:
        if isinstance(value, dict):
            raise not_emulated(f"card details as a hash in {name} (use a token)", name)
        return Text().coerce(value, name)


_ADDRESS_FIELDS: dict[str, Kind] = {
    name: Text() for name in ("city", "country", "line1", "line2", "postal_code", "state")
}
ADDRESS = Hash(_ADDRESS_FIELDS, nullable=True)
SHIPPING = Hash(
    {"address": Hash(_ADDRESS_FIELDS), "name": Text(), "phone": Text()}, nullable=True, required=("address", "name")
)
EXPAND: dict[str, Kind] = {"expand": Strings()}
PAGINATION: dict[str, Kind] = {
    "limit": Integer(1, 100),
    "starting_after": Text(),
    "ending_before": Text(),
    **EXPAND,
}
BILLING_DETAILS = Hash({"address": ADDRESS, "email": Text(), "name": Text(), "phone": Text()})


def _page(params: Params) -> Page:
    limit = params.integer("limit")
    return Page(
        limit=10 if limit is None else limit,
        starting_after=params.text("starting_after"),
        ending_before=params.text("ending_before"),
    )


def _render_list(call: Call, listing: Listing, url: str, schema: str, paths: list[list[str]]) -> str:
    if not paths:
        # The stored JSON texts are joined as they are: a list is string assembly, not re-encoding.
        more = "true" if listing.has_more else "false"
        return f'{{"object":"list","data":[{",".join(listing.items)}],"has_more":{more},"url":"{url}"}}'
    # Paths were checked against the list (`data.default_source`); each item takes the rest.
    item_paths = [parts[1:] for parts in paths if len(parts) > 1]
    data = [_expand_object(call, json.loads(item), schema, item_paths) for item in listing.items]
    return dumps({"object": "list", "data": data, "has_more": listing.has_more, "url": url})


def _expand_object(call: Call, obj: JSON, schema: str, paths: list[list[str]]) -> JSON:
    def fetch(what: str, object_id: str) -> JSON | None:
        store, scope = call.store, call.scope
        if what == expand.FETCH_CARD:
            return store.source_object(scope, object_id)
        if what == expand.FETCH_CUSTOMER:
            return store.customer_object(scope, object_id)
        if what == expand.FETCH_PAYMENT_METHOD:
            return store.payment_method_object(scope, object_id)
        listing = store.list_sources(scope, object_id, Page(limit=10), None)
        cards = [json.loads(item) for item in listing.items]
        return {
            "object": "list",
            "data": cards,
            "has_more": listing.has_more,
            "url": f"/v1/customers/{object_id}/sources",
        }

    return expand.expand(obj, paths, schema, fetch)


def _answer(call: Call, text: str, schema: str, paths: list[list[str]]) -> str:
    return text if not paths else dumps(_expand_object(call, json.loads(text), schema, paths))


def _list_paths(params: Params, schema: str) -> list[list[str]]:
    """Expansions of a list apply to `data.…`; check them against the item schema."""
    return expand.check(params.strings("expand"), f"list:{schema}")


# ---------------------------------------------------------------------- accounts

ACCOUNT_DOCUMENTED = frozenset(
    [
        "account_token",
        "capabilities",
        "company",
        "documents",
        "external_account",
        "individual",
        "settings",
        "tos_acceptance",
    ]
)
BUSINESS_PROFILE = Hash(
    {
        name: Text()
        for name in ("mcc", "name", "product_description", "support_email", "support_phone", "support_url", "url")
    },
    documented=frozenset({"monthly_estimated_revenue", "support_address"}),
)
_ACCOUNT_FIELDS: dict[str, Kind] = {
    "business_profile": BUSINESS_PROFILE,
    "business_type": Choice(("", "company", "government_entity", "individual", "non_profit")),
    "default_currency": Text(),
    "email": Text(),
    "metadata": Metadata(),
    **EXPAND,
}
CREATE_ACCOUNT = Spec(
    {**_ACCOUNT_FIELDS, "type": Choice(("custom", "express", "standard")), "country": Text()},
    documented=ACCOUNT_DOCUMENTED | {"bank_account"},
)
UPDATE_ACCOUNT = Spec(_ACCOUNT_FIELDS, documented=ACCOUNT_DOCUMENTED)
RETRIEVE = Spec(EXPAND)
LIST_ACCOUNTS = Spec({**PAGINATION, "created": TimeRange()})


def _account_fields(params: Params) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name in ("email", "default_currency", "business_type"):
        if name in params:
            fields[name] = params.text(name)
    profile = params.hash("business_profile")
    if profile is not None:
        fields["business_profile"] = profile.plain()
    return fields


def retrieve_own_account(call: Call) -> str:
    """GET /v1/account: the platform, or the connected account named by Stripe-Account."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "account")
    return _answer(call, call.store.get_account(call.scope.account), "account", paths)


def create_account(call: Call) -> str:
    """POST /v1/accounts."""
    params = CREATE_ACCOUNT.parse(call.form)
    paths = expand.check(params.strings("expand"), "account")
    if call.scope.connected:
        raise InvalidState("Only the platform can create connected accounts: drop the Stripe-Account header.")
    fields = _account_fields(params)
    fields["account_type"] = params.text("type") or "standard"
    fields["country"] = params.text("country") or "US"
    patch = params.metadata()
    if patch is not None:
        fields["metadata"] = patch.apply({})
    return _answer(call, call.store.create_account(fields), "account", paths)


def list_accounts(call: Call) -> str:
    """GET /v1/accounts: the platform's connected accounts (a connected account has none)."""
    params = LIST_ACCOUNTS.parse(call.form)
    paths = _list_paths(params, "account")
    listing = (
        Listing([], False)
        if call.scope.connected
        else call.store.list_accounts(_page(params), params.time_range("created"))
    )
    return _render_list(call, listing, "/v1/accounts", "account", paths)


def _connected(call: Call) -> str:
    account_id = call.args[0]
    # A connected account sees only itself; the platform sees the accounts connected to it.
    if call.scope.connected and account_id != call.scope.account:
        raise AccountNotConnected(account_id)
    if account_id == call.store.platform_id:
        raise AccountNotConnected(account_id)
    return account_id


def retrieve_account(call: Call) -> str:
    """GET /v1/accounts/{account}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "account")
    return _answer(call, call.store.get_account(_connected(call)), "account", paths)


def update_account(call: Call) -> str:
    """POST /v1/accounts/{account}."""
    params = UPDATE_ACCOUNT.parse(call.form)
    paths = expand.check(params.strings("expand"), "account")
    text = call.store.update_account(_connected(call), _account_fields(params), params.metadata())
    return _answer(call, text, "account", paths)


def delete_account(call: Call) -> str:
    """DELETE /v1/accounts/{account}."""
    Spec({}).parse(call.form)
    return call.store.delete_account(_connected(call))


# ---------------------------------------------------------------------- customers

# Stripe's limits on a customer's invoice custom fields (API reference, `invoice_settings.custom_fields`).
CUSTOM_FIELDS = 4
CUSTOM_FIELD_NAME = 40
CUSTOM_FIELD_VALUE = 140

_CUSTOMER_FIELDS: dict[str, Kind] = {
    "address": ADDRESS,
    "balance": Integer(),
    "description": Text(),
    "email": Email(),
    "invoice_prefix": Text(),
    "invoice_settings": Hash(
        {
            "custom_fields": Records(
                Hash({"name": Text(CUSTOM_FIELD_NAME), "value": Text(CUSTOM_FIELD_VALUE)}, required=("name", "value")),
                CUSTOM_FIELDS,
            ),
            "default_payment_method": Text(),
            "footer": Text(),
        },
        documented=frozenset({"rendering_options"}),
    ),
    "metadata": Metadata(),
    "name": Text(256),
    "next_invoice_sequence": Integer(),
    "phone": Text(20),
    "preferred_locales": Strings(),
    "shipping": SHIPPING,
    "source": _TextOnly(),
    "tax_exempt": Choice(("", "exempt", "none", "reverse")),
    **EXPAND,
}
CREATE_CUSTOMER = Spec(
    {**_CUSTOMER_FIELDS, "payment_method": Text()},
    documented=frozenset({"cash_balance", "coupon", "promotion_code", "tax", "tax_id_data", "test_clock"}),
)
UPDATE_CUSTOMER = Spec(
    {**_CUSTOMER_FIELDS, "default_source": Text(500)},
    documented=frozenset(
        [
            "bank_account",
            "card",
            "cash_balance",
            "coupon",
            "default_alipay_account",
            "default_bank_account",
            "default_card",
            "promotion_code",
            "tax",
        ]
    ),
)
LIST_CUSTOMERS = Spec({**PAGINATION, "email": Text(512), "created": TimeRange()}, documented=frozenset({"test_clock"}))


def customer_changes(params: Params) -> CustomerChanges:
    """What a create or update asks for: `address` and `invoice_settings` are merged field by field into
    what the customer has, `shipping` and the rest replace it; an empty string clears (docs/sandbox.md)."""
    fields: dict[str, object] = {}
    for name in ("email", "name", "phone", "description", "invoice_prefix"):
        if name in params:
            fields[name] = params.text(name)
    for name in ("balance", "next_invoice_sequence"):
        number = params.integer(name)
        if number is not None:
            fields[name] = number
    address_change: dict[str, str | None] | Unset | None = UNSET
    if "address" in params:
        address = params.hash("address")
        address_change = None if address is None else {name: address.text(name) for name in address.names()}
    if "shipping" in params:
        shipping = params.hash("shipping")
        if shipping is None:
            fields["shipping"] = None
        else:
            address = shipping.hash("address")
            fields["shipping"] = {
                "address": shapes.address(None if address is None else address.plain()),
                "name": shipping.text("name"),
                "phone": shipping.text("phone"),
            }
    if "preferred_locales" in params:
        fields["preferred_locales"] = params.strings("preferred_locales")
    if "tax_exempt" in params:
        fields["tax_exempt"] = params.text("tax_exempt") or "none"
    settings = params.hash("invoice_settings")
    invoice_settings: dict[str, object] = {}
    default_payment_method = UNSET
    if settings is not None:
        if "footer" in settings:
            invoice_settings["footer"] = settings.text("footer")
        if "custom_fields" in settings:
            records = settings.records("custom_fields")
            invoice_settings["custom_fields"] = (
                None if records is None else [{"name": r.text("name"), "value": r.text("value")} for r in records]
            )
        if "default_payment_method" in settings:
            default_payment_method = settings.text("default_payment_method")
    return CustomerChanges(
        fields=fields,
        address=address_change,
        invoice_settings=invoice_settings,
        metadata=params.metadata(),
        source=params.text("source"),
        payment_method=params.text("payment_method") if "payment_method" in params else None,
        default_payment_method=default_payment_method,
        default_source=params.text("default_source") if "default_source" in params else None,
    )


def create_customer(call: Call) -> str:
    """POST /v1/customers."""
    params = CREATE_CUSTOMER.parse(call.form)
    paths = expand.check(params.strings("expand"), "customer")
    text = call.store.create_customer(call.scope, customer_changes(params))
    return _answer(call, text, "customer", paths)


def search_customers(call: Call) -> str:
    """GET /v1/customers/search: refused, so that it is not mistaken for the customer id "search"."""
    raise not_emulated("customer search (GET /v1/customers/search); list with email= instead")


def retrieve_customer(call: Call) -> str:
    """GET /v1/customers/{customer}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "customer")
    return _answer(call, call.store.get_customer(call.scope, call.args[0]), "customer", paths)


def update_customer(call: Call) -> str:
    """POST /v1/customers/{customer}."""
    params = UPDATE_CUSTOMER.parse(call.form)
    paths = expand.check(params.strings("expand"), "customer")
    text = call.store.update_customer(call.scope, call.args[0], customer_changes(params))
    return _answer(call, text, "customer", paths)


def delete_customer(call: Call) -> str:
    """DELETE /v1/customers/{customer}."""
    Spec({}).parse(call.form)
    return call.store.delete_customer(call.scope, call.args[0])


def list_customers(call: Call) -> str:
    """GET /v1/customers."""
    params = LIST_CUSTOMERS.parse(call.form)
    paths = _list_paths(params, "customer")
    listing = call.store.list_customers(
        call.scope, _page(params), email=params.text("email"), created=params.time_range("created")
    )
    return _render_list(call, listing, "/v1/customers", "customer", paths)


# ---------------------------------------------------------------------- sources

CREATE_SOURCE = Spec(
    {"source": _TextOnly(), "metadata": Metadata(), **EXPAND},
    documented=frozenset({"alipay_account", "bank_account", "card", "validate"}),
    required=("source",),
)
UPDATE_SOURCE = Spec(
    {
        **{
            name: Text()
            for name in (
                [
                    "address_city",
                    "address_country",
                    "address_line1",
                    "address_line2",
                    "address_state",
                    "address_zip",
                    "name",
                ]
            )
        },
        "exp_month": Integer(1, 12),
        "exp_year": Integer(),
        "metadata": Metadata(),
        **EXPAND,
    },
    documented=frozenset({"account_holder_name", "account_holder_type", "owner"}),
)
LIST_SOURCES = Spec({**PAGINATION, "object": Text()})


def list_sources(call: Call) -> str:
    """GET /v1/customers/{customer}/sources."""
    params = LIST_SOURCES.parse(call.form)
    paths = _list_paths(params, "card")
    customer_id = call.args[0]
    listing = call.store.list_sources(call.scope, customer_id, _page(params), params.text("object"))
    return _render_list(call, listing, f"/v1/customers/{customer_id}/sources", "card", paths)


def create_source(call: Call) -> str:
    """POST /v1/customers/{customer}/sources."""
    params = CREATE_SOURCE.parse(call.form)
    paths = expand.check(params.strings("expand"), "card")
    source = params.text("source") or ""
    text = call.store.add_source(call.scope, call.args[0], source, params.metadata())
    return _answer(call, text, "card", paths)


def retrieve_source(call: Call) -> str:
    """GET /v1/customers/{customer}/sources/{id}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "card")
    return _answer(call, call.store.get_source(call.scope, call.args[0], call.args[1]), "card", paths)


def update_source(call: Call) -> str:
    """POST /v1/customers/{customer}/sources/{id}."""
    params = UPDATE_SOURCE.parse(call.form)
    paths = expand.check(params.strings("expand"), "card")
    fields: dict[str, object] = {}
    for name in params.names():
        if name.startswith("address_") or name == "name":
            fields[name] = params.text(name)
        elif name in ("exp_month", "exp_year"):
            fields[name] = params.integer(name)
    text = call.store.update_source(call.scope, call.args[0], call.args[1], fields, params.metadata())
    return _answer(call, text, "card", paths)


def delete_source(call: Call) -> str:
    """DELETE /v1/customers/{customer}/sources/{id}."""
    RETRIEVE.parse(call.form)
    return call.store.delete_source(call.scope, call.args[0], call.args[1])


# ---------------------------------------------------------------------- tokens

CREATE_TOKEN = Spec(
    {"customer": Text(), "card": _TextOnly(), **EXPAND},
    documented=frozenset({"account", "bank_account", "cvc_update", "person", "pii"}),
)


def create_token(call: Call) -> str:
    """POST /v1/tokens: a card token copied from a platform customer (`customer=` with Stripe-Account)."""
    params = CREATE_TOKEN.parse(call.form)
    paths = expand.check(params.strings("expand"), "token")
    customer_id = params.text("customer")
    if customer_id is None:
        if params.text("card"):
            raise missing_parameter("customer")
        raise ApiError(
            400,
            "invalid_request_error",
            None,
            "You must supply either a card, customer, or bank account to create a token.",
            stored=False,
        )
    text = call.store.create_customer_token(call.scope, customer_id, params.text("card"))
    return _answer(call, text, "token", paths)


def retrieve_token(call: Call) -> str:
    """GET /v1/tokens/{token}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "token")
    return _answer(call, call.store.get_token(call.scope, call.args[0]), "token", paths)


# ---------------------------------------------------------------------- payment methods

CREATE_PAYMENT_METHOD = Spec(
    {
        "type": Choice(tuple(PAYMENT_METHOD_TYPES)),
        "card": Hash({"token": Text()}, documented=frozenset({"number", "exp_month", "exp_year", "cvc"})),
        "billing_details": BILLING_DETAILS,
        "customer": Text(),
        "payment_method": Text(),
        "metadata": Metadata(),
        **EXPAND,
    },
    documented=frozenset(set(PAYMENT_METHOD_TYPES) - {"card"} | {"interac_present", "radar_options"}),
)
UPDATE_PAYMENT_METHOD = Spec(
    {
        "billing_details": BILLING_DETAILS,
        "card": Hash({"exp_month": Integer(1, 12), "exp_year": Integer()}),
        "metadata": Metadata(),
        **EXPAND,
    },
    documented=frozenset({"link", "us_bank_account", "allow_redisplay"}),
)
ATTACH = Spec({"customer": Text(), **EXPAND}, required=("customer",))
LIST_PAYMENT_METHODS = Spec({**PAGINATION, "customer": Text(), "type": Choice(tuple(PAYMENT_METHOD_TYPES))})
LIST_CUSTOMER_PAYMENT_METHODS = Spec(
    {**PAGINATION, "type": Choice(tuple(PAYMENT_METHOD_TYPES))}, documented=frozenset({"allow_redisplay"})
)


def _billing(params: Params) -> JSON | None:
    billing = params.hash("billing_details")
    return None if billing is None else shapes.billing_details(billing.plain())


def create_payment_method(call: Call) -> str:
    """POST /v1/payment_methods: from `card[token]`, or a clone of a platform PaymentMethod."""
    params = CREATE_PAYMENT_METHOD.parse(call.form)
    paths = expand.check(params.strings("expand"), "payment_method")
    source = params.text("payment_method")
    if source is not None:
        text = call.store.clone_payment_method(call.scope, params.text("customer"), source)
        return _answer(call, text, "payment_method", paths)
    if params.text("customer") is not None:
        raise missing_parameter("payment_method")
    payment_type = params.text("type")
    if payment_type is None:
        raise missing_parameter("type")
    if payment_type != "card":
        raise not_emulated(f"PaymentMethods of type {payment_type} (only card)", "type")
    card = params.hash("card")
    token = None if card is None else card.text("token")
    if token is None:
        raise missing_parameter("card[token]" if card is not None else "card")
    text = call.store.create_payment_method(call.scope, token, _billing(params), params.metadata())
    return _answer(call, text, "payment_method", paths)


def retrieve_payment_method(call: Call) -> str:
    """GET /v1/payment_methods/{payment_method}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "payment_method")
    return _answer(call, call.store.get_payment_method(call.scope, call.args[0]), "payment_method", paths)


def update_payment_method(call: Call) -> str:
    """POST /v1/payment_methods/{payment_method}."""
    params = UPDATE_PAYMENT_METHOD.parse(call.form)
    paths = expand.check(params.strings("expand"), "payment_method")
    card = params.hash("card")
    expiry = {} if card is None else {name: card.integer(name) for name in card.names()}
    text = call.store.update_payment_method(
        call.scope,
        call.args[0],
        _billing(params),
        {name: value for name, value in expiry.items() if value is not None},
        params.metadata(),
    )
    return _answer(call, text, "payment_method", paths)


def attach_payment_method(call: Call) -> str:
    """POST /v1/payment_methods/{payment_method}/attach."""
    params = ATTACH.parse(call.form)
    paths = expand.check(params.strings("expand"), "payment_method")
    text = call.store.attach_payment_method(call.scope, call.args[0], params.text("customer") or "")
    return _answer(call, text, "payment_method", paths)


def detach_payment_method(call: Call) -> str:
    """POST /v1/payment_methods/{payment_method}/detach."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "payment_method")
    return _answer(call, call.store.detach_payment_method(call.scope, call.args[0]), "payment_method", paths)


def list_payment_methods(call: Call) -> str:
    """GET /v1/payment_methods (`customer=` lists that customer's)."""
    params = LIST_PAYMENT_METHODS.parse(call.form)
    paths = _list_paths(params, "payment_method")
    listing = call.store.list_payment_methods(
        call.scope, params.text("customer"), _page(params), params.text("type"), param="customer", referenced=True
    )
    return _render_list(call, listing, "/v1/payment_methods", "payment_method", paths)


def list_customer_payment_methods(call: Call) -> str:
    """GET /v1/customers/{customer}/payment_methods."""
    params = LIST_CUSTOMER_PAYMENT_METHODS.parse(call.form)
    paths = _list_paths(params, "payment_method")
    customer_id = call.args[0]
    listing = call.store.list_payment_methods(
        call.scope, customer_id, _page(params), params.text("type"), param="id", referenced=False
    )
    return _render_list(call, listing, f"/v1/customers/{customer_id}/payment_methods", "payment_method", paths)


# ---------------------------------------------------------------------- events

MAX_TYPES = 20  # Stripe: `types` takes up to 20 event types
LIST_EVENTS = Spec(
    {**PAGINATION, "type": Text(), "types": Strings(), "created": TimeRange(), "delivery_success": Boolean()}
)


def list_events(call: Call) -> str:
    """GET /v1/events: the events of the platform, or of the connected account named by Stripe-Account."""
    params = LIST_EVENTS.parse(call.form)
    paths = _list_paths(params, "event")
    wanted, types = params.text("type"), params.strings("types")
    if wanted is not None and types:
        raise bad_param("You may pass either type or types, but not both.", "types")
    if len(types) > MAX_TYPES:
        raise bad_param(f"You may pass at most {MAX_TYPES} event types in types; you passed {len(types)}.", "types")
    query = EventQuery(
        type_pattern=None if wanted is None else type_pattern(wanted),
        types=tuple(types),
        created=params.time_range("created"),
        delivery_success=params.boolean("delivery_success"),
    )
    listing = call.store.events.list(call.scope, _page(params), query)
    return _render_list(call, listing, "/v1/events", "event", paths)


def retrieve_event(call: Call) -> str:
    """GET /v1/events/{id}."""
    paths = expand.check(RETRIEVE.parse(call.form).strings("expand"), "event")
    return _answer(call, call.store.events.get(call.scope, call.args[0]), "event", paths)


# ---------------------------------------------------------------------- webhook endpoints

_ENDPOINT_FIELDS: dict[str, Kind] = {
    "url": Text(),
    "enabled_events": Strings(),
    "description": Text(),
    "metadata": Metadata(),
    **EXPAND,
}
CREATE_WEBHOOK_ENDPOINT = Spec(
    {**_ENDPOINT_FIELDS, "connect": Boolean(), "api_version": Text()}, required=("url", "enabled_events")
)
UPDATE_WEBHOOK_ENDPOINT = Spec({**_ENDPOINT_FIELDS, "disabled": Boolean()})
LIST_WEBHOOK_ENDPOINTS = Spec(PAGINATION)
_API_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?")


def _platform_only(call: Call) -> None:
    # Stripe keeps webhook endpoints on the platform: a Connect endpoint (connect=true) hears every account.
    if call.scope.connected:
        raise ApiError(
            403,
            INVALID_REQUEST,
            None,
            "This application does not have the required permissions for this endpoint on account "
            f"'{call.scope.account}'. The required permissions are not available for use by Connect applications.",
        )


def _url(params: Params) -> str | None:
    url = params.text("url")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_param(f"Invalid URL: {url}. A webhook endpoint needs an absolute http:// or https:// URL.", "url")
    return url


def _enabled_events(params: Params) -> tuple[str, ...] | None:
    if "enabled_events" not in params:
        return None
    types = params.strings("enabled_events")
    if not types:
        raise missing_parameter("enabled_events")
    for index, event_type in enumerate(types):
        if event_type not in EVENT_TYPES:
            raise bad_param(
                f"Invalid enabled_events[{index}]: {event_type!r} is not an event type "
                "(`*` for all, or one of the types Stripe documents, e.g. customer.updated).",
                f"enabled_events[{index}]",
            )
    return tuple(types)


def create_webhook_endpoint(call: Call) -> str:
    """POST /v1/webhook_endpoints: an account endpoint, or with connect=true a Connect endpoint."""
    params = CREATE_WEBHOOK_ENDPOINT.parse(call.form)
    expand.check(params.strings("expand"), "webhook_endpoint")
    _platform_only(call)
    api_version = params.text("api_version")
    if api_version is not None and not _API_VERSION.fullmatch(api_version):
        raise bad_param(f"Invalid api_version: {api_version}", "api_version")
    patch = params.metadata()
    new = NewEndpoint(
        url=_url(params) or "",
        enabled_events=_enabled_events(params) or (),
        connect=bool(params.boolean("connect")),
        description=params.text("description"),
        metadata=patch.apply({}) if patch else {},
        api_version=api_version,
    )
    return call.store.webhook_endpoints.create(call.scope.livemode, new)


def retrieve_webhook_endpoint(call: Call) -> str:
    """GET /v1/webhook_endpoints/{webhook_endpoint}."""
    expand.check(RETRIEVE.parse(call.form).strings("expand"), "webhook_endpoint")
    _platform_only(call)
    return call.store.webhook_endpoints.get(call.scope.livemode, call.args[0])


def update_webhook_endpoint(call: Call) -> str:
    """POST /v1/webhook_endpoints/{webhook_endpoint}."""
    params = UPDATE_WEBHOOK_ENDPOINT.parse(call.form)
    expand.check(params.strings("expand"), "webhook_endpoint")
    _platform_only(call)
    changes = EndpointChanges(
        url=_url(params),
        enabled_events=_enabled_events(params),
        description=params.text("description") if "description" in params else UNSET,
        metadata=params.metadata(),
        disabled=params.boolean("disabled"),
    )
    return call.store.webhook_endpoints.update(call.scope.livemode, call.args[0], changes)


def delete_webhook_endpoint(call: Call) -> str:
    """DELETE /v1/webhook_endpoints/{webhook_endpoint}."""
    Spec({}).parse(call.form)
    _platform_only(call)
    return call.store.webhook_endpoints.delete(call.scope.livemode, call.args[0])


def list_webhook_endpoints(call: Call) -> str:
    """GET /v1/webhook_endpoints."""
    params = LIST_WEBHOOK_ENDPOINTS.parse(call.form)
    paths = _list_paths(params, "webhook_endpoint")
    _platform_only(call)
    listing = call.store.webhook_endpoints.list(call.scope.livemode, _page(params))
    return _render_list(call, listing, "/v1/webhook_endpoints", "webhook_endpoint", paths)


# ---------------------------------------------------------------------- the table

ROUTES = (
    Route("GET", "/v1/account", retrieve_own_account),
    Route("GET", "/v1/accounts", list_accounts),
    Route("POST", "/v1/accounts", create_account),
    Route("GET", "/v1/accounts/{account}", retrieve_account),
    Route("POST", "/v1/accounts/{account}", update_account),
    Route("DELETE", "/v1/accounts/{account}", delete_account),
    Route("GET", "/v1/customers", list_customers),
    Route("POST", "/v1/customers", create_customer),
    Route("GET", "/v1/customers/search", search_customers),
    Route("GET", "/v1/customers/{customer}", retrieve_customer),
    Route("POST", "/v1/customers/{customer}", update_customer),
    Route("DELETE", "/v1/customers/{customer}", delete_customer),
    Route("GET", "/v1/customers/{customer}/sources", list_sources),
    Route("POST", "/v1/customers/{customer}/sources", create_source),
    Route("GET", "/v1/customers/{customer}/sources/{id}", retrieve_source),
    Route("POST", "/v1/customers/{customer}/sources/{id}", update_source),
    Route("DELETE", "/v1/customers/{customer}/sources/{id}", delete_source),
    Route("GET", "/v1/customers/{customer}/payment_methods", list_customer_payment_methods),
    Route("POST", "/v1/tokens", create_token),
    Route("GET", "/v1/tokens/{token}", retrieve_token),
    Route("GET", "/v1/payment_methods", list_payment_methods),
    Route("POST", "/v1/payment_methods", create_payment_method),
    Route("GET", "/v1/payment_methods/{payment_method}", retrieve_payment_method),
    Route("POST", "/v1/payment_methods/{payment_method}", update_payment_method),
    Route("POST", "/v1/payment_methods/{payment_method}/attach", attach_payment_method),
    Route("POST", "/v1/payment_methods/{payment_method}/detach", detach_payment_method),
    Route("GET", "/v1/events", list_events),
    Route("GET", "/v1/events/{id}", retrieve_event),
    Route("GET", "/v1/webhook_endpoints", list_webhook_endpoints),
    Route("POST", "/v1/webhook_endpoints", create_webhook_endpoint),
    Route("GET", "/v1/webhook_endpoints/{webhook_endpoint}", retrieve_webhook_endpoint),
    Route("POST", "/v1/webhook_endpoints/{webhook_endpoint}", update_webhook_endpoint),
    Route("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}", delete_webhook_endpoint),
)

_BY_SHAPE: dict[tuple[str, int], list[tuple[Route, list[str]]]] = {}
for _route in ROUTES:
    _segments = _route.template.strip("/").split("/")
    _BY_SHAPE.setdefault((_route.method, len(_segments)), []).append((_route, _segments))


def match(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    """The route for a request and the ids in its path, or None for an unrecognized URL."""
    segments = path.strip("/").split("/") if path.startswith("/") and not path.endswith("/") else []
    for route, template in _BY_SHAPE.get((method, len(segments)), ()):
        args = []
        for want, got in zip(template, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                args.append(unquote(got))
            elif want != got:
                break
        else:
            return route, tuple(args)
    return None
