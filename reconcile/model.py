"""Frozen value types shared by config, observe, planner and executor.

Desired state is what the YAML file declares (after validation and resolution of aliases,
``"*"`` and per-account overrides); observed state is one snapshot of live Stripe objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeAlias, cast

from reconcile.safety import Safety

# Ownership metadata keys (the README's "Ownership" section).
OWNER_KEY = "reconcile_owner"
KEY_KEY = "reconcile_key"
PLATFORM_CUSTOMER_KEY = "reconcile_platform_customer"
SOURCE_KEY = "reconcile_source"
OWNERSHIP_KEYS = frozenset({OWNER_KEY, KEY_KEY, PLATFORM_CUSTOMER_KEY, SOURCE_KEY})

# The customer fields the tool manages, on the platform customer and on every copy.
FIELDS = ("email", "name", "phone", "description")
# The customer details a seller invoices and taxes with: managed only where the file declares them.
DETAILS = (
    "address",
    "shipping",
    "preferred_locales",
    "tax_exempt",
    "invoice_settings.footer",
    "invoice_settings.custom_fields",
)
ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
# Stripe replaces these hashes whole on an update: a change to one part sends all of them again.
WHOLE_OBJECTS = ("address", "shipping")


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


@dataclass(frozen=True, slots=True)
class DetailField:
    """A leaf of the customer details, dotted as Stripe nests it (``address.city``, ``tax_exempt``)."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)

    @property
    def detail(self) -> str:
        """The declarable detail it belongs to, one of DETAILS (``address`` for ``address.city``)."""
        return self.text if self.parts[0] == "invoice_settings" else self.parts[0]


@dataclass(frozen=True, slots=True)
class DefaultSource:
    """A copy's default source: a card a customer token made (token strategy)."""

    @property
    def text(self) -> str:
        return _DEFAULT_SOURCE_TEXT


FieldPath: TypeAlias = PlainField | MetadataKey | DefaultPaymentMethod | DefaultSource | DetailField

_METADATA_PREFIX = "metadata."
_DEFAULT_PAYMENT_METHOD_TEXT = "invoice_settings.default_payment_method"
_DEFAULT_SOURCE_TEXT = "default_source"
DEFAULT_PAYMENT_METHOD: Final = DefaultPaymentMethod()
DEFAULT_SOURCE: Final = DefaultSource()
FIELD_PATHS: Final = tuple(PlainField(name) for name in FIELDS)


def _detail_leaves(detail: str) -> tuple[DetailField, ...]:
    if detail == "address":
        return tuple(DetailField(("address", part)) for part in ADDRESS_PARTS)
    if detail == "shipping":
        names = (DetailField(("shipping", "name")), DetailField(("shipping", "phone")))
        return names + tuple(DetailField(("shipping", "address", part)) for part in ADDRESS_PARTS)
    return (DetailField(tuple(detail.split("."))),)


# Every leaf of each detail, in the order Stripe's reference lists them.
DETAIL_LEAVES: Final[Mapping[str, tuple[DetailField, ...]]] = MappingProxyType(
    {detail: _detail_leaves(detail) for detail in DETAILS}
)
_DETAIL_PATHS: Final = {leaf.text: leaf for leaves in DETAIL_LEAVES.values() for leaf in leaves}
PREFERRED_LOCALES: Final = _DETAIL_PATHS["preferred_locales"]
CUSTOM_FIELDS: Final = _DETAIL_PATHS["invoice_settings.custom_fields"]
SHIPPING_PHONE: Final = _DETAIL_PATHS["shipping.phone"]


def field_path(text: str) -> FieldPath:
    """The path a field's text names, as plan files and ``ignore_changes`` spell it: the inverse of ``.text``."""
    if text == _DEFAULT_PAYMENT_METHOD_TEXT:
        return DEFAULT_PAYMENT_METHOD
    if text == _DEFAULT_SOURCE_TEXT:
        return DEFAULT_SOURCE
    if text.startswith(_METADATA_PREFIX):
        return MetadataKey(text.removeprefix(_METADATA_PREFIX))
    return _DETAIL_PATHS.get(text) or PlainField(text)


def is_detail_prefix(text: str) -> bool:
    """Whether ``text`` names a detail or a part of one (``address``, ``shipping.address``, ``address.city``)."""
    return any(leaf.text == text or leaf.text.startswith(text + ".") for leaf in _DETAIL_PATHS.values())


def is_ownership(path: FieldPath) -> bool:
    """Whether ``path`` is one of the ownership metadata keys."""
    return isinstance(path, MetadataKey) and path.key in OWNERSHIP_KEYS


def metadata_paths(metadata: Mapping[str, str | None]) -> dict[FieldPath, str | None]:
    """Metadata as fields of their own: key -> value becomes MetadataKey(key) -> value."""
    return {MetadataKey(key): value for key, value in metadata.items()}


def frozen_map(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """An immutable copy of a str -> str mapping, sorted by key for stable output."""
    return MappingProxyType(dict(sorted((items or {}).items())))


# -- customer details: nested values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A postal address; a part that is None is not set (Stripe stores an empty part as null)."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def part(self, name: str) -> str | None:
        value = getattr(self, name)
        return value if isinstance(value, str) and value else None


EMPTY_ADDRESS: Final = Address()


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipping:
    """Shipping details; all None and an empty address when not set."""

    name: str | None = None
    phone: str | None = None
    address: Address = EMPTY_ADDRESS


EMPTY_SHIPPING: Final = Shipping()


@dataclass(frozen=True, slots=True)
class CustomField:
    """One of the custom fields Stripe prints on a customer's invoices."""

    name: str
    value: str


# A field's value: text, or for the two list details a tuple (preferred_locales, invoice custom fields).
Value: TypeAlias = str | tuple[str, ...] | tuple[CustomField, ...]


def _address_key(address: Address | None) -> tuple[str | None, ...] | None:
    if address is None:
        return None
    return (address.line1, address.line2, address.city, address.state, address.postal_code, address.country)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Details:
    """The customer details; each None means "not declared" (or, observed, "not set").

    A declared empty value (``address: {}``, ``preferred_locales: []``, ``footer: ""``) is the
    one form of "clear it": it is not None, so it is managed, and its leaves are all unset.
    """

    address: Address | None = None
    shipping: Shipping | None = None
    preferred_locales: tuple[str, ...] | None = None
    tax_exempt: str | None = None
    invoice_footer: str | None = None
    invoice_custom_fields: tuple[CustomField, ...] | None = None
    # Every field as plain text and tuples, so that comparing two Details runs in C: a converged
    # plan compares one pair per (customer, account), a million of them at scale.
    values: tuple[object, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        shipping, custom_fields = self.shipping, self.invoice_custom_fields
        key = (
            _address_key(self.address),
            None if shipping is None else (shipping.name, shipping.phone, _address_key(shipping.address)),
            self.preferred_locales,
            self.tax_exempt,
            self.invoice_footer,
            None if custom_fields is None else tuple((f.name, f.value) for f in custom_fields),
        )
        object.__setattr__(self, "values", key)

    def __eq__(self, other: object) -> bool:
        return type(other) is Details and self.values == other.values

    def __hash__(self) -> int:
        return hash(self.values)

    def declared(self) -> tuple[str, ...]:
        """The details set here, as DETAILS names them."""
        return tuple(detail for detail in DETAILS if self._raw(detail) is not None)

    def same(self, other: Details, detail: str) -> bool:
        """Whether the two hold the same value for ``detail`` (unset, empty and Stripe's default alike)."""
        return _normal(detail, self._raw(detail)) == _normal(detail, other._raw(detail))

    def leaves(self, detail: str) -> dict[FieldPath, Value | None]:
        """``detail`` leaf by leaf (``address.city`` -> value); an unset leaf is None."""
        raw = _normal(detail, self._raw(detail))
        match raw:
            case Address():
                return {leaf: raw.part(leaf.parts[-1]) for leaf in DETAIL_LEAVES[detail]}
            case Shipping():
                name, phone, *address = DETAIL_LEAVES[detail]
                values: dict[FieldPath, Value | None] = {name: raw.name or None, phone: raw.phone or None}
                values.update({leaf: raw.address.part(leaf.parts[-1]) for leaf in address})
                return values
            case _:
                (leaf,) = DETAIL_LEAVES[detail]
                return {leaf: cast(Value | None, raw)}

    def over(self, base: Details) -> Details:
        """These details, with ``base``'s where these leave one undeclared (per-account over customer)."""
        if self is NO_DETAILS:
            return base
        return Details(
            address=self.address if self.address is not None else base.address,
            shipping=self.shipping if self.shipping is not None else base.shipping,
            preferred_locales=self.preferred_locales if self.preferred_locales is not None else base.preferred_locales,
            tax_exempt=self.tax_exempt if self.tax_exempt is not None else base.tax_exempt,
            invoice_footer=self.invoice_footer if self.invoice_footer is not None else base.invoice_footer,
            invoice_custom_fields=(
                self.invoice_custom_fields if self.invoice_custom_fields is not None else base.invoice_custom_fields
            ),
        )

    def _raw(self, detail: str) -> object:
        match detail:
            case "address":
                return self.address
            case "shipping":
                return self.shipping
            case "preferred_locales":
                return self.preferred_locales
            case "tax_exempt":
                return self.tax_exempt
            case "invoice_settings.footer":
                return self.invoice_footer
            case "invoice_settings.custom_fields":
                return self.invoice_custom_fields
        raise KeyError(detail)


NO_DETAILS: Final = Details()


def _normal(detail: str, raw: object) -> object:
    """A detail's value with every form of "not set" made one: what Stripe holds after clearing it."""
    if detail == "address":
        return raw if isinstance(raw, Address) else EMPTY_ADDRESS
    if detail == "shipping":
        return raw if isinstance(raw, Shipping) else EMPTY_SHIPPING
    if detail == "tax_exempt":
        return raw or "none"  # Stripe's default, and what clearing it sets
    return raw or None  # "" footer, [] locales and custom fields: unset


def value_to_json(value: Value | None) -> object:
    """A field value as plan files write it: text, a list of locales, a list of {name, value}."""
    if isinstance(value, tuple):
        return [item if isinstance(item, str) else {"name": item.name, "value": item.value} for item in value]
    return value


def value_from_json(path: FieldPath, data: object) -> Value | None:
    """The inverse of ``value_to_json`` for the field at ``path``."""
    if not isinstance(data, list):
        return None if data is None else str(data)
    if path == CUSTOM_FIELDS:
        return tuple(CustomField(str(item["name"]), str(item["value"])) for item in data)
    return tuple(str(item) for item in data)


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
    details: Details = NO_DETAILS

    def get(self, name: str) -> str | None:
        """One of the text FIELDS by name (metadata is read as ``.metadata``)."""
        value = getattr(self, name) if name in FIELDS else None
        return value if isinstance(value, str) else None


NO_FIELDS: Final = Fields()  # one for every share that overrides nothing (most of them)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareSpec:
    """One connected account that should hold a copy of a customer, with its per-account overrides."""

    alias: str
    account_id: str
    overrides: Fields = NO_FIELDS

    @property
    def overrides_nothing(self) -> bool:
        # Identity first: comparing two Fields field by field, once per pair, is a tenth of a plan's time.
        return self.overrides is NO_FIELDS or self.overrides == NO_FIELDS


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """What observing needs of a desired-state file: whose customers, in which mode, on which accounts."""

    owner: str
    mode: Mode
    accounts: Mapping[str, str]  # alias -> acct_ id, in the file's order
    path: str = ""

    def same_as(self, other: Header) -> bool:
        """Equal, the accounts' order included (it orders shares and output)."""
        return (self.owner, self.mode, list(self.accounts.items()), self.path) == (
            other.owner,
            other.mode,
            list(other.accounts.items()),
            other.path,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    owner: str
    mode: Mode
    strategy: Strategy
    accounts: Mapping[str, str]  # alias -> acct_ id
    customers: tuple[CustomerSpec, ...]
    path: str = ""
    safety: Safety = field(default_factory=Safety)

    @property
    def header(self) -> Header:
        return Header(owner=self.owner, mode=self.mode, accounts=self.accounts, path=self.path)


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

    def flat(self) -> dict[FieldPath, Value | None]:
        """Every field by path, each metadata key and detail leaf its own: what plan changes name."""
        flat: dict[FieldPath, Value | None] = {path: self.fields.get(path.name) for path in FIELD_PATHS}
        flat.update(metadata_paths(self.metadata))
        flat[DEFAULT_PAYMENT_METHOD] = self.default_payment_method
        flat[DEFAULT_SOURCE] = self.default_source
        for detail in DETAILS:
            flat.update(self.fields.details.leaves(detail))
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
