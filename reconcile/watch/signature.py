"""Webhook signature checks, through the official SDK.

Besides ``reconcile.gateway``, the only module that imports ``stripe``: verifying ``Stripe-Signature``
is the SDK's job (the HMAC scheme, the timestamp tolerance, several ``v1`` values during a secret roll),
and it needs no API call, so it has no place behind the gateway's paced client.
"""

from __future__ import annotations

from collections.abc import Sequence

import stripe

# Stripe's SDKs refuse a signature made more than five minutes ago: a captured delivery cannot be replayed later.
TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The body was not signed by Stripe with any of our endpoints' secrets (or too long ago)."""


def parse_secrets(text: str) -> tuple[str, ...]:
    """``STRIPE_WEBHOOK_SECRET``: one secret, or several separated by commas (platform and Connect endpoints)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def verify(body: bytes, header: str | None, secrets: Sequence[str], *, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Return if ``header`` signs ``body`` with one of ``secrets`` within ``tolerance`` seconds; else BadSignature."""
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSignature("the body is not UTF-8") from None
    reason = "no webhook secret is configured"
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        except stripe.SignatureVerificationError as error:
            reason = str(error.user_message or "the signature does not match")
            continue
        return
    raise BadSignature(reason)
