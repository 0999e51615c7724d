"""Frozen value types shared by config, observe, planner and executor.

Desired state is what the YAML file declares (after validation and resolution of aliases,
``"*"`` and per-account overrides); observed state is one snapshot of live Stripe objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeAlias

# Ownership metadata keys (the README's "Ownership" section).
OWNER_KEY = "reconcile_owner"
KEY_KEY = "reconcile_key"
PLATFORM_CUSTOMER_KEY = "reconcile_platform_customer"
SOURCE_KEY = "reconcile_source"
OWNERSHIP_KEYS = frozenset({OWNER_KEY, KEY_KEY, PLATFORM_CUSTOMER_KEY, SOURCE_KEY})

# The customer fields the tool manages, on the platform customer and on every copy.
FIELDS = ("email", "name", "phone", "description")


# -- field paths: what a plan change names -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlainField:
    """A top-level customer field, one of FIELDS (``email``)."""

    name: str

    @property
    def text(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MetadataKey:
    """One metadata key; each is a field of its own in a plan (``metadata.tier``)."""

    key: str

    @property
    def text(self) -> str:
        return _METADATA_PREFIX + self.key


@dataclass(frozen=True, slots=True)
class DefaultPaymentMethod:
    """A copy's default PaymentMethod (payment_method strategy)."""

    @property
    def text(self) -> str:
        return _DEFAULT_PAYMENT_METHOD_TEXT


FieldPath: TypeAlias = PlainField | MetadataKey | DefaultPaymentMethod

_METADATA_PREFIX = "metadata."
_DEFAULT_PAYMENT_METHOD_TEXT = "invoice_settings.default_payment_method"
DEFAULT_PAYMENT_METHOD: Final = DefaultPaymentMethod()
FIELD_PATHS: Final = tuple(PlainField(name) for name in FIELDS)


def field_path(text: str) -> FieldPath:
    """The path a field's text names, as plan files and ``ignore_changes`` spell it: the inverse of ``.text``."""
    if text == _DEFAULT_PAYMENT_METHOD_TEXT:
        return DEFAULT_PAYMENT_METHOD
    if text.startswith(_METADATA_PREFIX):
        return MetadataKey(text.removeprefix(_METADATA_PREFIX))
    return PlainField(text)


def is_ownership(path: FieldPath) -> bool:
    """Whether ``path`` is one of the ownership metadata keys."""
    return isinstance(path, MetadataKey) and path.key in OWNERSHIP_KEYS


def metadata_paths(metadata: Mapping[str, str | None]) -> dict[FieldPath, str | None]:
    """Metadata as fields of their own: key -> value becomes MetadataKey(key) -> value."""
    return {MetadataKey(key): value for key, value in metadata.items()}


def frozen_map(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """An immutable copy of a str -> str mapping, sorted by key for stable output."""
    return MappingProxyType(dict(sorted((items or {}).items())))


class Mode(StrEnum):
    TEST = "test"
    LIVE = "live"


class Strategy(StrEnum):
    TOKEN = "token"
    PAYMENT_METHOD = "payment_method"


class AdoptBy(StrEnum):
    """How ``--adopt-by`` recognises an unowned customer on an account as a declared customer's copy."""

    FINGERPRINT = "fingerprint"  # the card of its default source is the platform customer's card
    EMAIL = "email"


def email_key(email: str) -> str:
    """An address as compared: without case or outer spaces."""
    # Stripe keeps an address as typed; mailboxes are case-insensitive in practice, so "Alice@X" is alice@x.
    return email.strip().casefold()


def same_email(a: str | None, b: str | None) -> bool:
    """Whether two e-mail addresses are the same person's."""
    if not a or not b:
        return False
    return email_key(a) == email_key(b)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fields:
    """The managed customer fields; ``None`` means "not declared" (or, observed, "not set")."""

    email: str | None = None
    name: str | None = None
    phone: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] | None = None

    def get(self, name: str) -> str | None:
        """One of the text FIELDS by name (metadata is read as ``.metadata``)."""
        value = getattr(self, name) if name in FIELDS else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareSpec:
    """One connected account that should hold a copy of a customer, with its per-account overrides."""

    alias: str
    account_id: str
    overrides: Fields = field(default_factory=Fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerSpec:
    """One declared customer (``customers.<key>`` in the file)."""

    key: str
    id: str | None = None  # adopt this existing platform customer instead of creating one
    fields: Fields = field(default_factory=Fields)
    payment_source: str | None = None  # test token attached on the platform (test mode only)
    strategy: Strategy = Strategy.TOKEN
    ignore_changes: frozenset[str] = frozenset()  # "phone", "metadata", "metadata.loyalty", ...
    shares: tuple[ShareSpec, ...] = ()
    line: int = 0  # where the declaration starts in the file, for messages


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    owner: str
    mode: Mode
    strategy: Strategy
    accounts: Mapping[str, str]  # alias -> acct_ id
    customers: tuple[CustomerSpec, ...]
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """A live customer, on the platform or on a connected account."""

    id: str
    fields: Fields  # metadata here is the whole live metadata, ownership keys included
    default_source: str | None = None  # card/source id, or None
    default_payment_method: str | None = None  # invoice_settings.default_payment_method
    card_fingerprint: str | None = None  # fingerprint of the default source's card, when it is a card
    card_last4: str | None = None
    created: int = 0

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.fields.metadata or frozen_map()

    def flat(self) -> dict[FieldPath, str | None]:
        """Every field by path, each metadata key its own: what plan changes name."""
        flat: dict[FieldPath, str | None] = {path: self.fields.get(path.name) for path in FIELD_PATHS}
        flat.update(metadata_paths(self.metadata))
        flat[DEFAULT_PAYMENT_METHOD] = self.default_payment_method
        return flat

    @property
    def owner(self) -> str | None:
        return self.metadata.get(OWNER_KEY)

    @property
    def key(self) -> str | None:
        return self.metadata.get(KEY_KEY)

    @property
    def platform_customer(self) -> str | None:
        return self.metadata.get(PLATFORM_CUSTOMER_KEY)

    @property
    def source(self) -> str | None:
        return self.metadata.get(SOURCE_KEY)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedState:
    """One snapshot of everything the plan depends on."""

    platform: tuple[Customer, ...]  # every platform customer that is ours or adopted by id
    accounts: Mapping[str, tuple[Customer, ...]]  # acct_ id -> every customer on that account


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectedAccount:
    """A connected account, with what tells people which seller it is."""

    id: str
    name: str | None = None  # the Dashboard display name, else the business profile's name
    email: str | None = None
