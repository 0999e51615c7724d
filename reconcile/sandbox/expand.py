"""`expand[]`: which fields of which objects Stripe expands, and expanding them."""

from __future__ import annotations

from collections.abc import Callable

from .errors import bad_param, not_emulated
from .shapes import JSON, PAYMENT_METHOD_TYPES, empty_list

MAX_DEPTH = 4

# How to expand a field: fetch an object by the id the field holds, build a list, or nothing to do
# (the field is already a hash). The second item is the schema of what the field holds, for deeper paths.
FETCH_CARD = "card"
FETCH_CUSTOMER = "customer"
FETCH_PAYMENT_METHOD = "payment_method"
LIST_SOURCES = "sources"
LIST_EMPTY = "empty"
EMBEDDED = "embedded"
REFUSED = "refused"  # expandable on Stripe, not emulated here

# A payment_method has one hash per type besides card (which the sandbox fills), all expandable.
_PAYMENT_METHOD_DETAILS = (set(PAYMENT_METHOD_TYPES) - {"card"}) | {"card_present", "interac_present", "radar_options"}

# From the spec's x-expandableFields of each schema.
_FIELDS: dict[str, dict[str, tuple[str, str | None]]] = {
    "customer": {
        "default_source": (FETCH_CARD, "card"),
        "sources": (LIST_SOURCES, "list:card"),
        "invoice_settings": (EMBEDDED, "invoice_settings"),
        "subscriptions": (LIST_EMPTY, None),
        "tax_ids": (LIST_EMPTY, None),
        "address": (EMBEDDED, None),
        "discount": (EMBEDDED, None),
        "shipping": (EMBEDDED, None),
        "test_clock": (EMBEDDED, None),
        "cash_balance": (REFUSED, None),
        "invoice_credit_balance": (REFUSED, None),
        "tax": (REFUSED, None),
    },
    "invoice_settings": {
        "default_payment_method": (FETCH_PAYMENT_METHOD, "payment_method"),
        "custom_fields": (EMBEDDED, None),
        "rendering_options": (EMBEDDED, None),
    },
    "card": {"customer": (FETCH_CUSTOMER, "customer"), "account": (REFUSED, None)},
    "payment_method": {
        "customer": (FETCH_CUSTOMER, "customer"),
        "card": (EMBEDDED, None),
        "billing_details": (EMBEDDED, None),
        **{name: (EMBEDDED, None) for name in sorted(_PAYMENT_METHOD_DETAILS)},
    },
    "token": {"card": (EMBEDDED, "card"), "bank_account": (EMBEDDED, None)},
    "event": {"data": (EMBEDDED, None), "request": (EMBEDDED, None)},
    "webhook_endpoint": {},
    "account": {
        name: (EMBEDDED, None)
        for name in [
            "business_profile",
            "capabilities",
            "company",
            "controller",
            "external_accounts",
            "future_requirements",
            "individual",
            "requirements",
            "settings",
            "tos_acceptance",
        ]
    },
}

Fetch = Callable[[str, str], JSON | None]  # (what, id) -> object, or None if it is gone


def check(paths: list[str], schema: str) -> list[list[str]]:
    """Refuse paths Stripe would refuse, before anything is written; returns them split on dots."""
    split = []
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise bad_param(f"You cannot expand more than {MAX_DEPTH} levels of a property.", "expand")
        current: str | None = schema
        for part in parts:
            fields = _fields(current)
            if part not in fields:
                raise bad_param(f"This property cannot be expanded ({part}).", "expand")
            action, current = fields[part]
            if action == REFUSED:
                raise not_emulated(f"expanding {path}", "expand")
        split.append(parts)
    return split


def expand(obj: JSON, paths: list[list[str]], schema: str, fetch: Fetch) -> JSON:
    """Expand every (checked) path in `obj`, in place, and return it."""
    for parts in paths:
        _expand(obj, parts, schema, fetch)
    return obj


def _fields(schema: str | None) -> dict[str, tuple[str, str | None]]:
    if schema is None:
        return {}
    if schema.startswith("list:"):
        return {"data": (EMBEDDED, schema.removeprefix("list:"))}
    return _FIELDS.get(schema, {})


def _expand(node: JSON, parts: list[str], schema: str, fetch: Fetch) -> None:
    if "deleted" in node:
        return  # a deleted object has nothing to expand
    part, rest = parts[0], parts[1:]
    action, child = _fields(schema)[part]
    if schema.startswith("list:"):
        for item in node["data"]:
            if rest:
                _expand(item, rest, child or "", fetch)
        return
    value = node.get(part)
    if action in (FETCH_CARD, FETCH_CUSTOMER, FETCH_PAYMENT_METHOD) and isinstance(value, str):
        value = node[part] = fetch(action, value) or value
    elif action == LIST_SOURCES and not isinstance(value, dict):
        value = node[part] = fetch(LIST_SOURCES, node["id"])
    elif action == LIST_EMPTY and not isinstance(value, dict):
        value = node[part] = empty_list(f"/v1/customers/{node['id']}/{part}")
    if rest and child and isinstance(value, dict):
        _expand(value, rest, child, fetch)
