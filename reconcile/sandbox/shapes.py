"""Stripe objects as JSON-ready dicts, shaped after Stripe's published fixtures (fixtures3.json).

Fields follow `resources_at_spec_commit` of tests/spec/fixtures-subset.json so that every answer
passes the spec extract; where current API versions add a field the SDK knows (`display_brand`,
`allow_redisplay`, `regulated_status`) it is added too, since extra fields are allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

# The API version the shapes follow: echoed as Stripe-Version when a client sends none, and the
# `api_version` of every event (Stripe renders an event in the account's default version).
API_VERSION = "2026-10-28.endive"

# Card objects spell brands one way, PaymentMethod.card another.
_PM_BRANDS = {
    "Visa": "visa",
    "MasterCard": "mastercard",
    "American Express": "amex",
    "Discover": "discover",
    "Diners Club": "diners",
    "JCB": "jcb",
    "UnionPay": "unionpay",
}
_CARD_BRANDS = {pm: card for card, pm in _PM_BRANDS.items()}
_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")

# The PaymentMethod types of the spec's `type` enum (the sandbox emulates `card` only).
PAYMENT_METHOD_TYPES = [
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "blik",
    "boleto",
    "card",
    "cashapp",
    "customer_balance",
    "eps",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "klarna",
    "konbini",
    "link",
    "oxxo",
    "p24",
    "paynow",
    "paypal",
    "pix",
    "promptpay",
    "sepa_debit",
    "sofort",
    "us_bank_account",
    "wechat_pay",
    "zip",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CardDetails:
    """What a copy of a card keeps: same brand, last4, expiry and fingerprint, whatever its new id."""

    brand: str  # Card-object spelling, e.g. "Visa"
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    funding: str
    country: str
    cvc_check: str | None = "pass"
    name: str | None = None

    @classmethod
    def of_card(cls, card: Mapping[str, Any]) -> CardDetails:
        """The details of a Card object (a source, or a token's card)."""
        return cls(
            brand=card["brand"],
            last4=card["last4"],
            exp_month=card["exp_month"],
            exp_year=card["exp_year"],
            fingerprint=card["fingerprint"],
            funding=card["funding"],
            country=card["country"],
            cvc_check=card.get("cvc_check"),
            name=card.get("name"),
        )

    @classmethod
    def of_payment_method(cls, payment_method: Mapping[str, Any]) -> CardDetails:
        """The details of a card PaymentMethod."""
        card = payment_method["card"]
        return cls(
            brand=_CARD_BRANDS.get(card["brand"], card["brand"]),
            last4=card["last4"],
            exp_month=card["exp_month"],
            exp_year=card["exp_year"],
            fingerprint=card["fingerprint"],
            funding=card["funding"],
            country=card["country"],
            cvc_check=card["checks"]["cvc_check"],
            name=payment_method["billing_details"]["name"],
        )


def address(values: Mapping[str, Any] | None) -> JSON:
    """A Stripe address hash with every field present (null when not given)."""
    values = values or {}
    return {name: values.get(name) for name in _ADDRESS_FIELDS}


def customer(object_id: str, created: int, livemode: bool, invoice_prefix: str) -> JSON:
    """A new customer with Stripe's defaults; `sources` is absent, as on current API versions."""
    return {
        "id": object_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": livemode,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def card(object_id: str, details: CardDetails, customer_id: str | None) -> JSON:
    """A Card object (a customer's source when `customer_id` is set)."""
    return {
        "id": object_id,
        "object": "card",
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": None,
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": None,
        "brand": details.brand,
        "country": details.country,
        "customer": customer_id,
        "cvc_check": details.cvc_check,
        "dynamic_last4": None,
        "exp_month": details.exp_month,
        "exp_year": details.exp_year,
        "fingerprint": details.fingerprint,
        "funding": details.funding,
        "last4": details.last4,
        "metadata": {},
        "name": details.name,
        "regulated_status": None,
        "tokenization_method": None,
    }


def token(object_id: str, created: int, livemode: bool, token_card: JSON) -> JSON:
    """A card Token; its card has no `customer` field, as in Stripe's fixture."""
    embedded = {key: value for key, value in token_card.items() if key != "customer"}
    embedded["wallet"] = None
    return {
        "id": object_id,
        "object": "token",
        "card": embedded,
        "client_ip": None,
        "created": created,
        "livemode": livemode,
        "type": "card",
        "used": False,
    }


def billing_details(values: Mapping[str, Any] | None = None) -> JSON:
    """PaymentMethod billing details with every field present."""
    values = values or {}
    return {
        "address": address(values.get("address")),
        "email": values.get("email"),
        "name": values.get("name"),
        "phone": values.get("phone"),
        "tax_id": None,
    }


def payment_method(
    object_id: str,
    created: int,
    livemode: bool,
    details: CardDetails,
    *,
    customer_id: str | None = None,
    billing: JSON | None = None,
    metadata: Mapping[str, str] | None = None,
) -> JSON:
    """A card PaymentMethod."""
    brand = _PM_BRANDS.get(details.brand, details.brand.lower())
    return {
        "id": object_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing or billing_details({"name": details.name}),
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": details.cvc_check,
            },
            "country": details.country,
            "display_brand": brand,
            "exp_month": details.exp_month,
            "exp_year": details.exp_year,
            "fingerprint": details.fingerprint,
            "funding": details.funding,
            "generated_from": None,
            "last4": details.last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": None,
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": created,
        "customer": customer_id,
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "type": "card",
    }


def card_as_payment_method(source: Mapping[str, Any], created: int, livemode: bool) -> JSON:
    """A card source seen through the PaymentMethods API (same `card_` id), as Stripe presents it."""
    shaped = payment_method(
        source["id"],
        created,
        livemode,
        CardDetails.of_card(source),
        customer_id=source.get("customer"),
        metadata=source.get("metadata"),
    )
    return shaped


def account(
    object_id: str,
    created: int,
    *,
    account_type: str = "standard",
    country: str = "US",
    email: str | None = None,
    default_currency: str | None = None,
    business_type: str | None = None,
    business_profile: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> JSON:
    """An onboarded account (charges and payouts enabled, nothing due), after Stripe's fixture."""
    profile = {
        "mcc": None,
        "name": None,
        "product_description": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
    }
    profile.update(business_profile or {})
    no_requirements: JSON = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }
    return {
        "id": object_id,
        "object": "account",
        "business_profile": profile,
        "business_type": business_type,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"} if account_type == "standard" else {"type": "application"},
        "country": country,
        "created": created,
        "default_currency": default_currency or _CURRENCIES.get(country, "usd"),
        "details_submitted": True,
        "email": email,
        "external_accounts": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/accounts/{object_id}/external_accounts",
        },
        "future_requirements": dict(no_requirements),
        "metadata": dict(metadata or {}),
        "payouts_enabled": True,
        "requirements": dict(no_requirements),
        "settings": {
            "bacs_debit_payments": {},
            "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
            "card_payments": {
                "decline_on": {"avs_failure": True, "cvc_failure": True},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "payments": {
                "statement_descriptor": None,
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
            "sepa_debit_payments": {},
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": account_type,
    }


_CURRENCIES = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "JP": "jpy", "FR": "eur", "DE": "eur"}


def deleted(object_id: str, kind: str) -> JSON:
    """What Stripe answers for a deleted object: `{"id", "object", "deleted": true}`."""
    return {"id": object_id, "object": kind, "deleted": True}


def empty_list(url: str) -> JSON:
    """An empty list object (expanded `subscriptions`, `tax_ids`: the sandbox has none)."""
    return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}


def event(
    object_id: str,
    created: int,
    livemode: bool,
    event_type: str,
    obj: JSON,
    *,
    previous_attributes: JSON | None = None,
    account: str | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> JSON:
    """An Event: the object as it is after the change, and what it was before for `*.updated`."""
    data: JSON = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    shaped: JSON = {"id": object_id, "object": "event"}
    if account is not None:
        shaped["account"] = account  # only on events of connected accounts, as on Stripe
    shaped.update(
        {
            "api_version": API_VERSION,
            "created": created,
            "data": data,
            "livemode": livemode,
            "pending_webhooks": 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        }
    )
    return shaped


def webhook_endpoint(
    object_id: str,
    created: int,
    livemode: bool,
    *,
    url: str,
    enabled_events: list[str],
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    api_version: str | None = None,
) -> JSON:
    """A WebhookEndpoint as retrieves show it (its `secret` is added to the answer to the create only)."""
    return {
        "id": object_id,
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": created,
        "description": description,
        "enabled_events": list(enabled_events),
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "status": "enabled",
        "url": url,
    }
