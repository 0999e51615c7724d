"""Conflict and Plan: what the planner decides, and its JSON form (``format_version`` 1, docs/plan-format.md)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, assert_never

from reconcile.actions import (
    BUCKETS,
    UNKNOWN,
    Action,
    ActionKind,
    Adopt,
    AttachSource,
    CreateCustomer,
    FieldChange,
    KeptValue,
    RotateSource,
    Share,
    Unknown,
    Unshare,
    UpdateCustomer,
    UpdateShare,
)
from reconcile.errors import UnsafePlanError
from reconcile.model import FieldPath, Strategy, Value, field_path, value_from_json, value_to_json
from reconcile.safety import Safety
from reconcile.scope import Scope

FORMAT_VERSION = 1
# Actions encoded per piece of plan text (and per update of the digest).
_BATCH = 1000

# How plan files and the screen show UNKNOWN: a value that exists once an earlier action has run.
KNOWN_AFTER_APPLY = "(known after apply)"


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


# Not slotted: the digest and the safety verdict are computed once, on first read (cached_property).
@dataclass(frozen=True, kw_only=True)
class Plan:
    owner: str
    mode: str
    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    copies_held: Mapping[str, int] = field(default_factory=dict)  # account alias -> copies the owner holds there
    accounts: Mapping[str, str] = field(default_factory=dict)  # the accounts planned for: alias -> acct_ id
    safety: Safety = field(default_factory=Safety)  # the file's thresholds: a saved plan is judged as planned
    scope: Scope | None = None  # how the command line narrowed the run; None: not recorded (watch, tests)

    def scoped(self, scope: Scope) -> Plan:
        """This plan, recording the run's scope (and warning when a narrowed run covers no account)."""
        warning = scope.warning()
        return replace(self, scope=scope, warnings=(*self.warnings, warning) if warning else self.warnings)

    @cached_property
    def unsafe(self) -> tuple[str, ...]:
        """Why the plan is unsafe (octoDNS's TooMuchChange): too many of an account's copies would change."""
        touched: dict[str, set[str]] = {}
        for action in self.actions:
            if action.RISKY and action.account and action.object_id:
                touched.setdefault(action.account, set()).add(action.object_id)
        reasons = []
        for alias, copies in sorted(touched.items()):
            held = self.copies_held.get(alias, 0)
            limit = self.safety.limit(alias)
            if limit.exceeded(len(copies), held):
                reasons.append(
                    f"would update or unshare {len(copies)} of the {held} copies on '{alias}' "
                    f"({100 * len(copies) / held:.0f}%; {limit.describe()})"
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
        """Changes per summary bucket: create, share, update, unshare.

        Attaching the card of a customer the same plan creates is part of that create (the card rides
        along with it), not an update of its own; attaching one to an existing customer is an update.
        """
        created = {a.customer_key for a in self.actions if a.kind is ActionKind.CREATE_CUSTOMER}
        seen = Counter(
            a.BUCKET for a in self.actions if not (a.kind is ActionKind.ATTACH_SOURCE and a.customer_key in created)
        )
        return {bucket: seen[bucket] for bucket in BUCKETS}

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical action list: what a reviewer approved, independent of formatting.

        The canonical list is ``json.dumps([action_to_json(a) ...], sort_keys=True, separators=(",", ":"),
        ensure_ascii=False)``, fed to the hash a batch of actions at a time rather than built whole.
        """
        digest = hashlib.sha256(b"[")
        encode = ActionEncoder(canonical=True)
        for start in range(0, len(self.actions), _BATCH):
            batch = ",".join(map(encode, self.actions[start : start + _BATCH]))
            digest.update(f"{',' if start else ''}{batch}".encode())
        digest.update(b"]")
        return digest.hexdigest()

    def json_text(
        self, *, redacted: bool | None = None, digest: str | None = None, ensure_ascii: bool = True
    ) -> Iterator[str]:
        """``json.dumps(to_json(), indent=2)`` and a newline, in pieces; ``"redacted"`` second when given.

        The actions are encoded by ``ActionEncoder`` a batch at a time: a plan of a million shares is
        written without a million dicts for json.dumps to walk, or all of its text in memory at once.
        """
        data = self.to_json(actions=False, digest=digest)
        head: dict[str, Any] = {"format_version": data.pop("format_version")}
        if redacted is not None:
            head["redacted"] = redacted
        text = json.dumps({**head, **data}, indent=2, ensure_ascii=ensure_ascii)
        if not self.actions:
            yield text + "\n"
            return
        # A real line break never occurs inside a JSON string: this is the top-level key.
        before, found, after = text.partition('\n  "actions": [],\n')
        assert found, "to_json lists the actions"
        yield before + '\n  "actions": [\n'
        encode = ActionEncoder(canonical=False, ensure_ascii=ensure_ascii)
        for start in range(0, len(self.actions), _BATCH):
            yield (",\n" if start else "") + ",\n".join(map(encode, self.actions[start : start + _BATCH]))
        yield "\n  ],\n" + after + "\n"

    def to_json(self, *, actions: bool = True, digest: str | None = None) -> dict[str, Any]:
        """The plan file's content (docs/plan-format.md); ``actions=False`` leaves the action list empty.

        ``digest``: the one to write instead of this plan's (a redacted copy shows the original's).
        """
        return {
            "format_version": FORMAT_VERSION,
            "owner": self.owner,
            "mode": self.mode,
            "has_changes": self.has_changes,
            "counts": self.counts(),
            "summary": self.summary_counts(),
            "digest": digest or self.digest,
            "actions": [action_to_json(a) for a in self.actions] if actions else [],
            "conflicts": [c.to_json() for c in self.conflicts],
            "warnings": list(self.warnings),
            "unsafe": list(self.unsafe),
            "safety": self.safety.to_json(),
            "copies_held": dict(sorted(self.copies_held.items())),
            "accounts": dict(sorted(self.accounts.items())),
            "scope": self.scope.to_json() if self.scope else None,
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
            actions=tuple(action_from_json(a) for a in data.get("actions", ())),
            conflicts=tuple(Conflict.from_json(c) for c in data.get("conflicts", ())),
            warnings=tuple(data.get("warnings", ())),
            copies_held=dict(data.get("copies_held", {})),
            accounts=dict(data.get("accounts", {})),
            safety=Safety.from_json(data.get("safety")),
            scope=Scope.from_json(data["scope"]) if data.get("scope") else None,
        )


# -- actions in plan files -------------------------------------------------------------------------


def action_to_json(action: Action) -> dict[str, Any]:
    """An action as plan files write it: every kind with the same keys, null where a kind has no value."""
    platform_customer, source, strategy = _references(action)
    entry: dict[str, Any] = {
        "id": action.id,
        "action": action.kind.value,
        "customer_key": action.customer_key,
        "account": action.account,
        "account_id": action.account_id,
        "platform_customer": platform_customer,
        "object_id": action.object_id,
        "source": source,
        "strategy": strategy,
        "changes": {c.field: [value_to_json(c.before), _shown(c.after)] for c in action.changes},
        "after": list(action.after),
    }
    duplicate_of = _duplicate_of(action)
    if duplicate_of:
        entry["duplicate_of"] = duplicate_of  # only then: every other entry keeps its exact bytes
    if action.kept:
        entry["kept"] = {k.field: value_to_json(k.value) for k in action.kept}  # only then, as duplicate_of
    return entry


def _references(action: Action) -> tuple[str | None, str | None, str | None]:
    """The platform customer, source and strategy an action's entry names (null where its kind has none)."""
    platform_customer: str | Unknown | None = None
    source: str | Unknown | None = None
    strategy: Strategy | None = None
    match action:
        case CreateCustomer():
            pass
        case UpdateCustomer() | UpdateShare() | Unshare() | Adopt():
            platform_customer = action.platform_customer
        case AttachSource():
            platform_customer, source = action.platform_customer, action.source
        case Share() | RotateSource():
            platform_customer, source, strategy = action.platform_customer, action.source, action.strategy
        case _:
            assert_never(action)
    return _known(platform_customer), _known(source), strategy.value if strategy else None


def _duplicate_of(action: Action) -> str | None:
    return action.duplicate_of if isinstance(action, Unshare) else None


class ActionEncoder:
    """Actions as the text ``json.dumps`` makes of ``action_to_json``, byte for byte, several times faster.

    ``canonical``: sorted keys, no spaces, as the digest hashes them; else the plan file's layout (an
    entry of the ``actions`` list at ``indent=2``). Most of an entry's text is its changes, and every
    plain share of one customer holds the same tuple of them, so each tuple is encoded once.
    """

    def __init__(self, *, canonical: bool, ensure_ascii: bool = False) -> None:
        self._canonical = canonical
        self._ascii = ensure_ascii
        self._string = encode_basestring_ascii if ensure_ascii else encode_basestring
        self._changes: dict[int, tuple[tuple[FieldChange, ...], str]] = {}  # id -> (the tuple, kept alive; text)

    def __call__(self, action: Action) -> str:
        value = self._value
        platform_customer, source, strategy = _references(action)
        after, duplicate_of = action.after, _duplicate_of(action)
        kept = {k.field: value_to_json(k.value) for k in action.kept}
        if self._canonical:
            return (
                f'{{"account":{value(action.account)},"account_id":{value(action.account_id)},'
                f'"action":{value(action.KIND.value)},"after":[{",".join(map(self._string, after))}],'
                f'"changes":{self._changes_text(action.changes)},"customer_key":{value(action.customer_key)},'
                + (f'"duplicate_of":{value(duplicate_of)},' if duplicate_of else "")
                + f'"id":{value(action.id)},'
                + (f'"kept":{value(kept)},' if kept else "")
                + f'"object_id":{value(action.object_id)},'
                f'"platform_customer":{value(platform_customer)},"source":{value(source)},'
                f'"strategy":{value(strategy)}}}'
            )
        after_text = (
            "[]" if not after else "[\n" + ",\n".join(f"        {self._string(a)}" for a in after) + "\n      ]"
        )
        return (
            f'    {{\n      "id": {value(action.id)},\n      "action": {value(action.KIND.value)},\n'
            f'      "customer_key": {value(action.customer_key)},\n      "account": {value(action.account)},\n'
            f'      "account_id": {value(action.account_id)},\n      "platform_customer": {value(platform_customer)},\n'
            f'      "object_id": {value(action.object_id)},\n      "source": {value(source)},\n'
            f'      "strategy": {value(strategy)},\n      "changes": {self._changes_text(action.changes)},\n'
            f'      "after": {after_text}'
            + (f',\n      "duplicate_of": {value(duplicate_of)}' if duplicate_of else "")
            + (f',\n      "kept": {value(kept, 6)}' if kept else "")
            + "\n    }"
        )

    def _value(self, value: object, depth: int = 0) -> str:
        """A JSON value; a list or an object as ``json.dumps`` nests it ``depth`` spaces deep."""
        if value is None:
            return "null"
        if isinstance(value, str):
            return self._string(value)
        if self._canonical:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # A real line break never occurs inside a JSON string: each one starts a nested line.
        return json.dumps(value, indent=2, ensure_ascii=self._ascii).replace("\n", "\n" + " " * depth)

    def _changes_text(self, changes: tuple[FieldChange, ...]) -> str:
        cached = self._changes.get(id(changes))
        if cached is not None:
            return cached[1]
        value = self._value
        # As action_to_json builds them: a field named twice keeps its first place and its last values.
        by_field = {c.field: (value_to_json(c.before), _shown(c.after)) for c in changes}
        fields = sorted(by_field) if self._canonical else list(by_field)
        if not fields:
            text = "{}"
        elif self._canonical:
            text = (
                "{"
                + ",".join(f"{self._string(f)}:[{value(by_field[f][0])},{value(by_field[f][1])}]" for f in fields)
                + "}"
            )
        else:
            pair = "        {}: [\n          {},\n          {}\n        ]"
            entries = (
                pair.format(self._string(f), value(by_field[f][0], 10), value(by_field[f][1], 10)) for f in fields
            )
            text = "{\n" + ",\n".join(entries) + "\n      }"
        self._changes[id(changes)] = (changes, text)
        return text


def action_from_json(data: Mapping[str, Any]) -> Action:
    """The action a plan file's entry describes; ValueError or KeyError when it lacks what its kind needs."""
    kind = ActionKind(data["action"])
    key = str(data["customer_key"])
    changes = tuple(_change(name, before, after) for name, (before, after) in data.get("changes", {}).items())
    kept = tuple(KeptValue(path, value) for path, value in _kept(data.get("kept", {})))
    after = tuple(data.get("after", ()))
    match kind:
        case ActionKind.CREATE_CUSTOMER:
            return CreateCustomer(customer_key=key, changes=changes)
        case ActionKind.UPDATE_CUSTOMER:
            return UpdateCustomer(
                customer_key=key, platform_customer=_required(data, "object_id"), changes=changes, kept=kept
            )
        case ActionKind.ATTACH_SOURCE:
            return AttachSource(
                customer_key=key,
                platform_customer=data.get("object_id") or UNKNOWN,
                source=_required(data, "source"),
                after=after,
            )
        case ActionKind.SHARE:
            return Share(
                customer_key=key,
                account=_required(data, "account"),
                account_id=_required(data, "account_id"),
                platform_customer=data.get("platform_customer") or UNKNOWN,
                source=data.get("source") or UNKNOWN,
                strategy=Strategy(_required(data, "strategy")),
                changes=changes,
                after=after,
            )
        case ActionKind.UPDATE_SHARE:
            return UpdateShare(
                customer_key=key,
                account=_required(data, "account"),
                account_id=_required(data, "account_id"),
                platform_customer=_required(data, "platform_customer"),
                copy=_required(data, "object_id"),
                changes=changes,
                kept=kept,
            )
        case ActionKind.ROTATE_SOURCE:
            return RotateSource(
                customer_key=key,
                account=_required(data, "account"),
                account_id=_required(data, "account_id"),
                platform_customer=_required(data, "platform_customer"),
                copy=_required(data, "object_id"),
                source=data.get("source") or UNKNOWN,
                strategy=Strategy(_required(data, "strategy")),
                changes=changes,
                after=after,
            )
        case ActionKind.UNSHARE:
            return Unshare(
                customer_key=key,
                account=_required(data, "account"),
                account_id=_required(data, "account_id"),
                platform_customer=data.get("platform_customer"),
                copy=_required(data, "object_id"),
                duplicate_of=data.get("duplicate_of"),
            )
        case ActionKind.ADOPT:
            return Adopt(
                customer_key=key,
                account=_required(data, "account"),
                account_id=_required(data, "account_id"),
                platform_customer=_required(data, "platform_customer"),
                copy=_required(data, "object_id"),
                changes=changes,
            )
        case _:
            assert_never(kind)


def _required(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{data.get('action')} action of '{data.get('customer_key')}' has no {name}")
    return value


def _known(value: str | Unknown | None) -> str | None:
    """Plan files write a value known only at apply as null where it names an object."""
    return None if value is UNKNOWN else value


def _shown(value: Value | Unknown | None) -> object:
    """Plan files write UNKNOWN as the text the screen shows where it is a field's value."""
    return KNOWN_AFTER_APPLY if value is UNKNOWN else value_to_json(value)


def _change(name: str, before: object, after: object) -> FieldChange:
    path = field_path(name)
    return FieldChange(
        path, value_from_json(path, before), UNKNOWN if after == KNOWN_AFTER_APPLY else value_from_json(path, after)
    )


def _kept(data: Mapping[str, object]) -> Iterator[tuple[FieldPath, Value]]:
    for name, value in data.items():
        path = field_path(name)
        kept = value_from_json(path, value)
        if kept is None:
            raise ValueError(f"kept value of {name} is null")
        yield path, kept
