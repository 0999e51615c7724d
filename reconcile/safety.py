"""Safety thresholds, after octoDNS's TooMuchChange: how much of an account's copies one plan may change.

A file sets them under ``safety:`` (defaults below), and may override them per account alias::

    safety:
      max_change_percent: 30
      min_copies: 10
      accounts:
        bookshop: {max_change_percent: 50}

A plan that would update or unshare more than ``max_change_percent`` of the copies the owner holds on an
account holding at least ``min_copies`` is unsafe: ``plan`` exits 1 and ``apply`` refuses it without --force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

DEFAULT_MAX_CHANGE_PERCENT = 30.0
DEFAULT_MIN_COPIES = 10  # changing 1 of 3 copies is not a sign of a broken file


@dataclass(frozen=True, slots=True)
class SafetyLimit:
    """The threshold for one account."""

    max_change_percent: float = DEFAULT_MAX_CHANGE_PERCENT
    min_copies: int = DEFAULT_MIN_COPIES

    def exceeded(self, changed: int, held: int) -> bool:
        return held >= self.min_copies and changed * 100 > self.max_change_percent * held

    def describe(self) -> str:
        return f"the limit is {self.max_change_percent:g}% on accounts with {self.min_copies} or more copies"

    def to_json(self) -> dict[str, Any]:
        return {"max_change_percent": self.max_change_percent, "min_copies": self.min_copies}

    def overridden(self, data: Mapping[str, Any]) -> SafetyLimit:
        """This limit with the fields ``data`` sets (a file's ``safety:`` or one account's override)."""
        return replace(
            self,
            max_change_percent=float(data.get("max_change_percent", self.max_change_percent)),
            min_copies=int(data.get("min_copies", self.min_copies)),
        )


@dataclass(frozen=True, slots=True)
class Safety:
    """The file-wide limit and the accounts that override it (each override inherits what it does not set)."""

    default: SafetyLimit = SafetyLimit()
    accounts: Mapping[str, SafetyLimit] = field(default_factory=lambda: MappingProxyType({}))

    def limit(self, alias: str) -> SafetyLimit:
        return self.accounts.get(alias, self.default)

    @classmethod
    def from_file(cls, data: Mapping[str, Any]) -> Safety:
        """From a valid file's ``safety:`` mapping (the schema has checked its shape)."""
        default = SafetyLimit().overridden(data)
        overrides = data.get("accounts") or {}
        return cls(
            default=default,
            accounts=MappingProxyType({alias: default.overridden(v) for alias, v in overrides.items()}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.default.to_json(),
            "accounts": {alias: limit.to_json() for alias, limit in sorted(self.accounts.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Safety:
        """From a plan file's ``safety``; plans written before it existed carry the defaults."""
        return cls.from_file(data or {})
