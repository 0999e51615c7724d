"""Stripe's metadata: its limits, and the change a request asks for (applied by the store)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .store_errors import InvalidState

# Stripe's metadata limits (https://docs.stripe.com/api/metadata).
METADATA_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class MetadataPatch:
    """A metadata change: `metadata=` clears all, `metadata[k]=` unsets k, `metadata[k]=v` sets k."""

    clear: bool = False
    changes: tuple[tuple[str, str | None], ...] = ()

    def apply(self, current: Mapping[str, str]) -> dict[str, str]:
        """The metadata after this change, checked against Stripe's 50-key limit."""
        result = {} if self.clear else dict(current)
        for key, value in self.changes:
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        if len(result) > METADATA_KEYS:
            raise InvalidState(
                f"Metadata can have up to {METADATA_KEYS} keys, but you've set {len(result)}. "
                "Email us at support+metadata@stripe.com for more information.",
                "metadata",
            )
        return result
