"""Action, Conflict and Plan: what the planner decides, and its JSON form (``format_version`` 1)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconcile.errors import UnsafePlanError

FORMAT_VERSION = 1

# Shown where a value only exists once an earlier action of the same apply has run.
KNOWN_AFTER_APPLY = "(known after apply)"


class ActionKind(StrEnum):
    CREATE_CUSTOMER = "create_customer"
    UPDATE_CUSTOMER = "update_customer"
    ATTACH_SOURCE = "attach_source"
    SHARE = "share"
    UPDATE_SHARE = "update_share"
    ROTATE_SOURCE = "rotate_source"
    UNSHARE = "unshare"
    ADOPT = "adopt"


# Safety, after octoDNS: changing more than this share of an account's copies needs --force ...
SAFETY_MAX_SHARE = 0.30
# ... on accounts holding at least this many (changing 1 of 3 is not a sign of a broken file).
SAFETY_MIN_COPIES = 10


# The closing line groups kinds the way a reviewer reads them.
SUMMARY_GROUPS: Mapping[str, tuple[ActionKind, ...]] = {
    "create": (ActionKind.CREATE_CUSTOMER,),
    "share": (ActionKind.SHARE,),
    "update": (
        ActionKind.UPDATE_CUSTOMER,
        ActionKind.ATTACH_SOURCE,
        ActionKind.UPDATE_SHARE,
        ActionKind.ROTATE_SOURCE,
        ActionKind.ADOPT,
    ),
    "unshare": (ActionKind.UNSHARE,),
}
# Actions that change or delete an existing copy: what the safety threshold counts.
RISKY_KINDS = frozenset({ActionKind.UPDATE_SHARE, ActionKind.ROTATE_SOURCE, ActionKind.UNSHARE})


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's before and after; metadata keys are fields of their own (``metadata.tier``)."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One change to make; ``changes`` is also the payload (``after`` None means unset)."""

    kind: ActionKind
    customer_key: str
    account: str | None = None  # alias; None for platform-side actions
    account_id: str | None = None
    platform_customer: str | None = None  # cus_ id on the platform; None until create_customer ran
    object_id: str | None = None  # the object changed: platform customer or copy
    source: str | None = None  # attach_source: the test token; share/rotate: the platform source cloned
    strategy: str | None = None  # share/rotate_source: token | payment_method
    changes: tuple[FieldChange, ...] = ()
    after: tuple[str, ...] = ()  # ids of actions that must succeed first

    @property
    def id(self) -> str:
        """Stable and unique within a plan: kind, customer key, account alias (and copy, for unshare)."""
        where = f"@{self.account}" if self.account else ""
        # Several duplicate copies of one pair can be unshared in one plan.
        copy = f"#{self.object_id}" if self.kind is ActionKind.UNSHARE and self.object_id else ""
        return f"{self.kind}:{self.customer_key}{where}{copy}"

    def change(self, name: str) -> FieldChange | None:
        return next((c for c in self.changes if c.field == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.kind.value,
            "customer_key": self.customer_key,
            "account": self.account,
            "account_id": self.account_id,
            "platform_customer": self.platform_customer,
            "object_id": self.object_id,
            "source": self.source,
            "strategy": self.strategy,
            "changes": {c.field: [c.before, c.after] for c in self.changes},
            "after": list(self.after),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        return cls(
            kind=ActionKind(data["action"]),
            customer_key=data["customer_key"],
            account=data.get("account"),
            account_id=data.get("account_id"),
            platform_customer=data.get("platform_customer"),
            object_id=data.get("object_id"),
            source=data.get("source"),
            strategy=data.get("strategy"),
            changes=tuple(FieldChange(name, ba[0], ba[1]) for name, ba in data.get("changes", {}).items()),
            after=tuple(data.get("after", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    """Something the plan cannot change safely; reported, never touched."""

    customer_key: str
    reason: str
    account: str | None = None
    account_id: str | None = None
    object_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_key": self.customer_key,
            "account": self.account,
            "account_id": self.account_id,
            "object_id": self.object_id,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conflict:
        return cls(
            customer_key=data["customer_key"],
            reason=data["reason"],
            account=data.get("account"),
            account_id=data.get("account_id"),
            object_id=data.get("object_id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    owner: str
    mode: str
    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    copies_held: Mapping[str, int] = field(default_factory=dict)  # account alias -> copies the owner holds there
    accounts: Mapping[str, str] = field(default_factory=dict)  # the accounts planned for: alias -> acct_ id

    @property
    def unsafe(self) -> tuple[str, ...]:
        """Why the plan is unsafe (octoDNS's TooMuchChange): too many of an account's copies would change."""
        touched: dict[str, set[str]] = {}
        for action in self.actions:
            if action.kind in RISKY_KINDS and action.account and action.object_id:
                touched.setdefault(action.account, set()).add(action.object_id)
        reasons = []
        for alias, copies in sorted(touched.items()):
            held = self.copies_held.get(alias, 0)
            if held >= SAFETY_MIN_COPIES and len(copies) > SAFETY_MAX_SHARE * held:
                reasons.append(
                    f"would update or unshare {len(copies)} of the {held} copies on '{alias}' "
                    f"({100 * len(copies) / held:.0f}%; the limit is {SAFETY_MAX_SHARE:.0%} on accounts "
                    f"with {SAFETY_MIN_COPIES} or more copies)"
                )
        return tuple(reasons)

    def check_safety(self) -> None:
        """Raise UnsafePlanError, with the numbers, when the plan changes too much."""
        if self.unsafe:
            raise UnsafePlanError(f"unsafe plan: {'; '.join(self.unsafe)} (use --force to apply it anyway)")

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    def counts(self) -> dict[str, int]:
        """Actions per kind, every kind listed (zeros included) so the JSON shape is fixed."""
        seen = Counter(a.kind for a in self.actions)
        return {kind.value: seen[kind] for kind in ActionKind}

    def summary_counts(self) -> dict[str, int]:
        """Actions per summary group: create, share, update, unshare."""
        counts = self.counts()
        return {group: sum(counts[k.value] for k in kinds) for group, kinds in SUMMARY_GROUPS.items()}

    @property
    def digest(self) -> str:
        """sha256 of the canonical action list: what a reviewer approved, independent of formatting."""
        canonical = json.dumps(
            [a.to_json() for a in self.actions], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "owner": self.owner,
            "mode": self.mode,
            "has_changes": self.has_changes,
            "counts": self.counts(),
            "summary": self.summary_counts(),
            "digest": self.digest,
            "actions": [a.to_json() for a in self.actions],
            "conflicts": [c.to_json() for c in self.conflicts],
            "warnings": list(self.warnings),
            "unsafe": list(self.unsafe),
            "copies_held": dict(sorted(self.copies_held.items())),
            "accounts": dict(sorted(self.accounts.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"plan format_version {version!r} is not supported (expected {FORMAT_VERSION})")
        if data.get("redacted"):
            # Masked e-mails and phones would be written to Stripe as they are.
            raise ValueError("a redacted plan cannot be applied; save it with --out, which never redacts")
        return cls(
            owner=data["owner"],
            mode=data["mode"],
            actions=tuple(Action.from_json(a) for a in data.get("actions", ())),
            conflicts=tuple(Conflict.from_json(c) for c in data.get("conflicts", ())),
            warnings=tuple(data.get("warnings", ())),
            copies_held=dict(data.get("copies_held", {})),
            accounts=dict(data.get("accounts", {})),
        )
