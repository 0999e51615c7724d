"""Stripe's test cards (`tok_visa`, `pm_card_visa`, ...) and card fingerprints."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from .ids import base62


@dataclass(frozen=True, slots=True)
class KnownCard:
    """One of Stripe's documented test card numbers, with what Stripe reports about it."""

    number: str
    brand: str  # as Card objects spell it ("Visa", "American Express")
    pm_brand: str  # as PaymentMethod.card spells it ("visa", "amex")
    funding: str
    country: str = "US"

    @property
    def last4(self) -> str:
        return self.number[-4:]


_CARDS = {
    "visa": KnownCard("4242424242424242", "Visa", "visa", "credit"),
    "visa_debit": KnownCard("4000056655665556", "Visa", "visa", "debit"),
    "mastercard": KnownCard("5555555555554444", "MasterCard", "mastercard", "credit"),
    "mastercard_debit": KnownCard("5200828282828210", "MasterCard", "mastercard", "debit"),
    "mastercard_prepaid": KnownCard("5105105105105100", "MasterCard", "mastercard", "prepaid"),
    "amex": KnownCard("378282246310005", "American Express", "amex", "credit"),
    "discover": KnownCard("6011111111111117", "Discover", "discover", "credit"),
    "diners": KnownCard("3056930009020004", "Diners Club", "diners", "credit"),
    "jcb": KnownCard("3566002020360505", "JCB", "jcb", "credit", "JP"),
    "unionpay": KnownCard("6200000000000005", "UnionPay", "unionpay", "credit", "CN"),
}

TEST_TOKENS = {f"tok_{name}": card for name, card in _CARDS.items()}
TEST_PAYMENT_METHODS = {f"pm_card_{name}": card for name, card in _CARDS.items()}


def fingerprint(platform_id: str, number: str) -> str:
    """Stripe's card fingerprint: the same for one card number everywhere on one platform."""
    return base62(hashlib.sha256(f"{platform_id}:{number}".encode()).digest(), 16)


def expiry_of_test_cards() -> tuple[int, int]:
    """The expiry Stripe gives test-token cards: this month, next year (never expired)."""
    now = time.gmtime()
    return now.tm_mon, now.tm_year + 1
