"""The plan's vocabulary: one frozen class per action kind, each with only the fields it needs.

The facts about a kind (its order in a plan, its marker, its summary bucket, whether the safety
threshold counts it) are class attributes. Code that does something per kind matches on ``Action``
and ends with ``assert_never``, so mypy names every place a new kind must be handled.
The README's "What each action calls" says when each kind is planned and what it sends to Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import ClassVar, Final, Literal, TypeAlias, get_args

from reconcile.model import DEFAULT_PAYMENT_METHOD, DEFAULT_SOURCE, FieldPath, Strategy, Value


class Unknown(Enum):
    """A value that only exists once an earlier action of the same apply has run; renderers show it."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown.UNKNOWN


class ActionKind(StrEnum):
    """Each kind's name in plan files and on the screen."""

    CREATE_CUSTOMER = "create_customer"
    UPDATE_CUSTOMER = "update_customer"
    ATTACH_SOURCE = "attach_source"
    SHARE = "share"
    UPDATE_SHARE = "update_share"
    ROTATE_SOURCE = "rotate_source"
    UNSHARE = "unshare"
    ADOPT = "adopt"


# "+" makes something, "-" removes it, "~" changes something in place.
Marker: TypeAlias = Literal["+", "~", "-"]
# The closing line groups kinds the way a reviewer reads them, in this order.
Bucket: TypeAlias = Literal["create", "share", "update", "unshare"]
BUCKETS: Final[tuple[Bucket, ...]] = get_args(Bucket)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's before and after; ``after`` None unsets it, and is also the payload."""

    path: FieldPath
    before: Value | None
    after: Value | Unknown | None

    @property
    def field(self) -> str:
        """The field as plan files and the screen name it (``email``, ``metadata.tier``, ``address.city``)."""
        return self.path.text


@dataclass(frozen=True, slots=True)
class KeptValue:
    """A part of an address or shipping that an update leaves as it is, but sends again.

    Stripe replaces an address (or shipping) whole, so an update of ``address.city`` must send
    the parts that stay, too; the plan carries them so that a saved plan applies the same way.
    """

    path: FieldPath
    value: Value

    @property
    def field(self) -> str:
        return self.path.text


@dataclass(frozen=True, slots=True, kw_only=True)
class _ActionBase:
    KIND: ClassVar[ActionKind]
    ORDER: ClassVar[int]  # within one customer and account, kinds run and are listed in this order
    MARKER: ClassVar[Marker]
    BUCKET: ClassVar[Bucket]
    RISKY: ClassVar[bool] = False  # changes or deletes an existing copy: what the safety threshold counts

    customer_key: str

    @property
    def kind(self) -> ActionKind:
        return self.KIND

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """The field changes it makes (kinds that make some declare them as a field)."""
        return ()

    @property
    def kept(self) -> tuple[KeptValue, ...]:
        """Unchanged parts of the addresses it changes, sent again (kinds that update declare them as a field)."""
        return ()

    @property
    def after(self) -> tuple[str, ...]:
        """Ids of the actions that must succeed first (kinds that wait declare them as a field)."""
        return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformAction(_ActionBase):
    """An action on the customer's platform customer."""

    @property
    def account(self) -> None:
        return None

    @property
    def account_id(self) -> None:
        return None

    @property
    def id(self) -> str:
        """Stable and unique within a plan: kind and customer key."""
        return f"{self.KIND}:{self.customer_key}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyAction(_ActionBase):
    """An action on a connected account, where the customer's copy is (or is to be)."""

    account: str  # alias
    account_id: str

    @property
    def id(self) -> str:
        """Stable and unique within a plan: kind, customer key and account alias."""
        return f"{self.KIND}:{self.customer_key}@{self.account}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateCustomer(PlatformAction):
    """Create the platform customer, with its ownership metadata."""

    KIND = ActionKind.CREATE_CUSTOMER
    ORDER = 0
    MARKER = "+"
    BUCKET = "create"

    changes: tuple[FieldChange, ...]

    @property
    def object_id(self) -> None:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateCustomer(PlatformAction):
    """Update the platform customer's fields (or take it over: adopted by id)."""

    KIND = ActionKind.UPDATE_CUSTOMER
    ORDER = 1
    MARKER = "~"
    BUCKET = "update"

    platform_customer: str
    changes: tuple[FieldChange, ...]
    kept: tuple[KeptValue, ...] = ()

    @property
    def object_id(self) -> str:
        return self.platform_customer


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachSource(PlatformAction):
    """Attach the declared test token to a platform customer that has no default source."""

    KIND = ActionKind.ATTACH_SOURCE
    ORDER = 2
    MARKER = "~"
    BUCKET = "update"

    platform_customer: str | Unknown  # UNKNOWN: created by this plan
    source: str  # the test token
    after: tuple[str, ...] = ()

    @property
    def object_id(self) -> str | None:
        return None if self.platform_customer is UNKNOWN else self.platform_customer


@dataclass(frozen=True, slots=True, kw_only=True)
class Share(CopyAction):
    """Make the copy: a token (or clone) of the platform customer's source, then a customer from it."""

    KIND = ActionKind.SHARE
    ORDER = 3
    MARKER = "+"
    BUCKET = "share"

    platform_customer: str | Unknown  # UNKNOWN: created by this plan
    source: str | Unknown  # the platform source cloned; UNKNOWN: attached by this plan
    strategy: Strategy
    changes: tuple[FieldChange, ...]
    after: tuple[str, ...] = ()

    @property
    def object_id(self) -> None:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateShare(CopyAction):
    """Update the copy's fields."""

    KIND = ActionKind.UPDATE_SHARE
    ORDER = 4
    MARKER = "~"
    BUCKET = "update"
    RISKY = True

    platform_customer: str
    copy: str  # the copy's cus_ id
    changes: tuple[FieldChange, ...]
    kept: tuple[KeptValue, ...] = ()

    @property
    def object_id(self) -> str:
        return self.copy


@dataclass(frozen=True, slots=True, kw_only=True)
class RotateSource(CopyAction):
    """Give the copy a new token (or clone) of the platform customer's current source."""

    KIND = ActionKind.ROTATE_SOURCE
    ORDER = 5
    MARKER = "~"
    BUCKET = "update"
    RISKY = True

    platform_customer: str
    copy: str
    source: str | Unknown  # the platform source cloned; UNKNOWN: attached by this plan
    strategy: Strategy
    changes: tuple[FieldChange, ...]
    after: tuple[str, ...] = ()

    @property
    def object_id(self) -> str:
        return self.copy

    @property
    def replaced(self) -> str | None:
        """The copy's default PaymentMethod this rotation replaces (payment_method strategy), if any."""
        return self._before(DEFAULT_PAYMENT_METHOD)

    @property
    def removed_source(self) -> str | None:
        """The card source (from a customer token) this rotation deletes from the copy: token -> payment_method."""
        return self._before(DEFAULT_SOURCE)

    def _before(self, path: FieldPath) -> str | None:
        before = next((c.before for c in self.changes if c.path == path), None)
        return before if isinstance(before, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unshare(CopyAction):
    """Delete a copy we own that the file no longer declares (--prune), or a second copy of a declared pair."""

    KIND = ActionKind.UNSHARE
    ORDER = 6
    MARKER = "-"
    BUCKET = "unshare"
    RISKY = True

    platform_customer: str | None  # as the copy's metadata names it
    copy: str
    duplicate_of: str | None = None  # the pair's copy that is kept, when this one is a second copy of it

    @property
    def object_id(self) -> str:
        return self.copy

    @property
    def id(self) -> str:
        # Several duplicate copies of one pair can be unshared in one plan.
        return f"{self.KIND}:{self.customer_key}@{self.account}#{self.copy}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Adopt(CopyAction):
    """Write ownership metadata on an unowned customer already on the account (--adopt-by)."""

    KIND = ActionKind.ADOPT
    ORDER = 7
    MARKER = "~"
    BUCKET = "update"

    platform_customer: str
    copy: str
    changes: tuple[FieldChange, ...]

    @property
    def object_id(self) -> str:
        return self.copy


Action: TypeAlias = (
    CreateCustomer | UpdateCustomer | AttachSource | Share | UpdateShare | RotateSource | Unshare | Adopt
)
