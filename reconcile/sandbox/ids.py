"""Stripe-looking object ids (`cus_`, `card_`, `tok_`, `pm_`, `acct_`, `req_`)."""

from __future__ import annotations

import os
import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Lengths of the part after the prefix, as Stripe's own ids have them
# (cus_Oaxlz8kB0PJWGa, card_1NnlpRGPxmnHQRkJ2ri4g13j, acct_1Nnlp9GPxmnHQRkJ, req_4YTbrzQTpySHjX,
# evt_1NnmXEGPxmnHQRkJO3bak93X, we_1NnmXEGPxmnHQRkJC9CzLgki); webhook signing secrets are whsec_ and 32.
_LENGTHS = {"cus": 14, "card": 24, "tok": 24, "pm": 24, "acct": 16, "req": 14, "evt": 24, "we": 24, "whsec": 32}

ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]+")


def new_id(prefix: str) -> str:
    """A fresh random id with Stripe's prefix and length for that kind of object."""
    size = _LENGTHS[prefix]
    # 62 * 4 = 248 of 256 byte values map evenly; the slight bias of the rest is irrelevant for ids.
    return prefix + "_" + "".join(_ALPHABET[b % 62] for b in os.urandom(size))


def base62(data: bytes, size: int) -> str:
    """The first `size` base-62 characters derived from `data` (for deterministic ids and fingerprints)."""
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(size):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def is_account_id(value: str) -> bool:
    """Whether `value` looks like a Stripe account id (`acct_` then letters and digits)."""
    return ACCOUNT_ID.fullmatch(value) is not None
