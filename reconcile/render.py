"""Plan -> str as text, json or markdown (the README's "Commands"; the JSON is in docs/plan-format.md).

Redaction is for display only: it masks e-mails and phones in a copy of the plan, while the
digest shown is always the digest of the unredacted plan, the one ``apply`` computes and runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Final, Literal, assert_never

from reconcile.actions import (
    UNKNOWN,
    Action,
    Adopt,
    AttachSource,
    CreateCustomer,
    FieldChange,
    RotateSource,
    Share,
    Unknown,
    Unshare,
    UpdateCustomer,
    UpdateShare,
)
from reconcile.errors import ReconcileError
from reconcile.model import (
    KEY_KEY,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SHIPPING_PHONE,
    SOURCE_KEY,
    CustomField,
    FieldPath,
    MetadataKey,
    PlainField,
    Strategy,
    Value,
    is_ownership,
    value_to_json,
)
from reconcile.plan import KNOWN_AFTER_APPLY, Conflict, Plan

Format = Literal["text", "json", "markdown"]
FORMATS: Final[tuple[Format, ...]] = ("text", "json", "markdown")

# Who owns it first, then what it was made from (the README's "Ownership" lists them in this order).
_OWNERSHIP_ORDER: Final = {
    MetadataKey(key): index for index, key in enumerate((OWNER_KEY, KEY_KEY, PLATFORM_CUSTOMER_KEY, SOURCE_KEY))
}
_EMAIL_FIELD: Final = PlainField("email")
_PHONE_FIELD: Final = PlainField("phone")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d{7,15}\b")
# C0 and C1 controls: a value must not move the cursor or start an escape sequence in a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_ANSI: Final = {
    "+": "32",
    "~": "33",
    "-": "31",
    "conflict": "1;31",
    "warning": "33",
    "dim": "2",
    "bold": "1",
}


# A GitHub comment holds 65,536 characters; the default leaves room for a CI job's own words.
DEFAULT_MAX_CHARS: Final = 60_000
MIN_MAX_CHARS: Final = 2_000


def render(plan: Plan, fmt: str, *, redact: bool, color: bool, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The plan as ``fmt`` (text, json or markdown), ending with a newline.

    ``color`` affects text only; ``max_chars`` bounds markdown only (a pull-request comment).
    """
    shown = redacted(plan) if redact else plan
    if fmt == "text":
        return _text(shown, plan.digest, color=color)
    if fmt == "json":
        return _json(shown, plan.digest, redact=redact)
    if fmt == "markdown":
        return _markdown(shown, plan.digest, redact=redact, max_chars=max_chars)
    raise ReconcileError(f"unknown plan format '{fmt}' (expected {', '.join(FORMATS)})")


# -- redaction -------------------------------------------------------------------------------------


def mask_email(value: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``; the domain stays, it rarely identifies a person."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_phone(value: str) -> str:
    """``+15555550100`` -> ``+1******0100``: the country code and last four digits stay."""
    head = 2 if value.startswith("+") else 1
    if len(value) <= head + 4:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - 4) + value[-4:]


def mask_text(text: str) -> str:
    """Free text with every e-mail address and E.164 phone number in it masked."""
    text = _EMAIL.sub(lambda m: mask_email(m.group()), text)
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


def redacted(plan: Plan) -> Plan:
    """A copy of ``plan`` with e-mails and phones masked; show ``plan.digest``, not this copy's."""
    return replace(
        plan,
        actions=tuple(_redacted_action(a) for a in plan.actions),
        conflicts=tuple(replace(c, reason=mask_text(c.reason)) for c in plan.conflicts),
        warnings=tuple(mask_text(w) for w in plan.warnings),
    )


def _redacted_action(action: Action) -> Action:
    masked = tuple(_masked(c) for c in action.changes)
    match action:
        case CreateCustomer() | UpdateCustomer() | Share() | UpdateShare() | RotateSource() | Adopt():
            return replace(action, changes=masked)
        case AttachSource() | Unshare():
            return action  # no field changes to mask
        case _:
            assert_never(action)


def _masked(change: FieldChange) -> FieldChange:
    after = change.after if change.after is UNKNOWN else _mask(change.path, change.after)
    return FieldChange(change.path, _mask(change.path, change.before), after)


def _mask(path: FieldPath, value: Value | None) -> Value | None:
    if value is None or is_ownership(path):
        return value
    if isinstance(value, tuple):
        # Locales identify nobody; invoice custom fields are free text, like metadata.
        fields = [item for item in value if isinstance(item, CustomField)]
        return tuple(CustomField(f.name, mask_text(f.value)) for f in fields) if fields else value
    if path == _EMAIL_FIELD:
        return mask_email(value)
    if path in (_PHONE_FIELD, SHIPPING_PHONE):
        return mask_phone(value)
    # Metadata, descriptions and addresses are free text that may hold an address or a number too.
    return mask_text(value)


# -- shared pieces ---------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """``text`` with control characters escaped, so no value can forge a line or a colour."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _value(value: Value | Unknown | None) -> str:
    """A field value as shown: as JSON (text quoted, lists as lists), ``null`` when unset, UNKNOWN bare."""
    if value is None:
        return "null"
    if value is UNKNOWN:
        return KNOWN_AFTER_APPLY
    return _plain(json.dumps(value_to_json(value), ensure_ascii=False))


def _ownership(action: Action) -> str:
    """The ownership metadata a ``+`` action writes, on one line: ``owner=… key=… platform_customer=…``."""
    owned = sorted(
        ((c.path, c.after) for c in action.changes if isinstance(c.path, MetadataKey) and is_ownership(c.path)),
        key=lambda pair: _OWNERSHIP_ORDER[pair[0]],
    )
    return _plain(" ".join(f"{path.key.removeprefix('reconcile_')}={_raw(after)}" for path, after in owned))


def _raw(value: Value | Unknown | None) -> str:
    return KNOWN_AFTER_APPLY if value is UNKNOWN else str(value)


def _user_changes(action: Action) -> list[FieldChange]:
    return [c for c in action.changes if not is_ownership(c.path)]


@dataclass(frozen=True, slots=True)
class _Subject:
    """What an action's heading line names besides the customer key and the account alias."""

    link: str  # "->" for a share (the customer goes to the account), "@" for an action on a copy there
    ids: tuple[str, ...]  # what a reviewer needs to find the objects: account, then the customer changed
    token: str | None = None  # attach_source: the test token attached
    strategy: Strategy | None = None  # how the payment source is cloned, for the actions that clone one
    duplicate_of: str | None = None  # unshare of a second copy: the copy that is kept


def _subject(action: Action) -> _Subject:
    match action:
        case Unshare():
            return _Subject("@", _present(action.account_id, action.object_id), duplicate_of=action.duplicate_of)
        case CreateCustomer() | UpdateCustomer() | UpdateShare() | Adopt():
            return _Subject("@", _present(action.account_id, action.object_id))
        case AttachSource():
            return _Subject("@", _present(action.object_id), token=action.source)
        case Share():
            return _Subject("->", (action.account_id,), strategy=action.strategy)
        case RotateSource():
            return _Subject("@", (action.account_id, action.copy), strategy=action.strategy)
        case _:
            assert_never(action)


def _present(*ids: str | None) -> tuple[str, ...]:
    return tuple(i for i in ids if i)


def _masked_note(change: FieldChange) -> str:
    """`` (masked)`` when a listed change shows the same value twice: both sides masked alike."""
    # The planner never lists an unchanged field, so equal sides can only come from redaction.
    return " (masked)" if change.before == change.after else ""


def _closing(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes."
    n = plan.summary_counts()
    return f"Plan: {n['create']} to create, {n['share']} to share, {n['update']} to update, {n['unshare']} to unshare."


def _scope(plan: Plan) -> str | None:
    return plan.scope.describe() if plan.scope else None


def _conflict_count(plan: Plan) -> str:
    n = len(plan.conflicts)
    return f"{n} conflict{'s' if n != 1 else ''}, left untouched."


def _by_customer(actions: tuple[Action, ...]) -> Iterator[list[Action]]:
    """Runs of consecutive actions of one customer (the plan is sorted by customer first)."""
    run: list[Action] = []
    for action in actions:
        if run and action.customer_key != run[0].customer_key:
            yield run
            run = []
        run.append(action)
    if run:
        yield run


# -- text ------------------------------------------------------------------------------------------

Paint = Callable[[str, str], str]


def _painter(color: bool) -> Paint:
    def paint(text: str, style: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if color and text else text

    return paint


def _text(plan: Plan, digest: str, *, color: bool) -> str:
    paint = _painter(color)
    blocks = [[line for a in run for line in _text_action(a, paint)] for run in _by_customer(plan.actions)]
    opening = [paint(f"Scope: {_plain(covered)}", "bold")] if (covered := _scope(plan)) else []
    if len(plan.actions) > _LONG_TEXT_PLAN:  # the counts first too, so a long log still opens with them
        opening.append(paint(_closing(plan), "bold"))
    if opening:
        blocks.insert(0, opening)
    notes = [_text_conflict(c, paint) for c in plan.conflicts]
    notes += [paint(f"! warning: {_plain(w)}", "warning") for w in plan.warnings]
    notes += [paint(f"! unsafe: {_plain(u)}; apply needs --force", "conflict") for u in plan.unsafe]
    if notes:
        blocks.append(notes)
    closing = [paint(_closing(plan), "bold")]
    if plan.conflicts:
        closing.append(paint(_conflict_count(plan), "conflict"))
    closing.append(paint(f"Digest: sha256:{digest}", "dim"))
    blocks.append(closing)
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _text_action(action: Action, paint: Paint) -> list[str]:
    marker = action.MARKER
    lines = [paint(f"{marker} {action.kind.value} {_text_subject(action)}", marker)]
    if marker == "+":
        lines += [f"    {_plain(c.field)}: {_value(c.after)}" for c in _user_changes(action)]
        if ownership := _ownership(action):
            lines.append(paint(f"    ownership: {ownership}", "dim"))
        return lines
    for change in action.changes:
        line = f"    {_plain(change.field)}: {_value(change.before)} -> {_value(change.after)}{_masked_note(change)}"
        lines.append(paint(line, "dim") if is_ownership(change.path) else line)
    return lines


def _text_subject(action: Action) -> str:
    """``alice (cus_…)``, ``alice -> bookshop (acct_…) via token``, ``alice @ bookshop (acct_…, cus_…)``."""
    parts = _subject(action)
    subject = _plain(action.customer_key)
    if action.account:
        subject += f" {parts.link} {_plain(action.account)}"
    if parts.ids:
        subject += f" ({', '.join(_plain(i) for i in parts.ids)})"
    if parts.token:
        subject += f": {_plain(parts.token)}"
    if parts.strategy:
        subject += f" via {_plain(parts.strategy.value)}"
    if parts.duplicate_of:
        subject += f": duplicate of {_plain(parts.duplicate_of)}"
    return subject


def _text_conflict(conflict: Conflict, paint: Paint) -> str:
    where = f" @ {_plain(conflict.account)}" if conflict.account else ""
    return paint(f"! conflict {_plain(conflict.customer_key)}{where}: {_plain(conflict.reason)}", "conflict")


# -- json ------------------------------------------------------------------------------------------


def _json(plan: Plan, digest: str, *, redact: bool) -> str:
    # The digest shown is always the unredacted plan's (``plan`` may be a redacted copy).
    text = "".join(plan.json_text(redacted=redact, digest=digest, ensure_ascii=False))
    # json escapes C0 controls but lets DEL and C1 through; escaping them keeps the same JSON value.
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# -- markdown --------------------------------------------------------------------------------------


def _markdown(plan: Plan, digest: str, *, redact: bool, max_chars: int) -> str:
    """A pull-request comment: verdicts and counts first, then the actions per account, within ``max_chars``.

    The summary, conflicts, unsafe reasons and warnings always come first, so a reviewer sees them
    however large the plan; the actions follow, each account folded under ``<details>``, until the
    budget runs out, and a note then says how many are not shown and where the whole plan is.
    """
    summary = f"**{_closing(plan)}**"
    if plan.conflicts:
        summary += f" **{_conflict_count(plan)}**"
    head = [
        "<!-- reconcile plan -->",  # lets a CI job find and update its own comment
        f"## reconcile plan for {_code(plan.owner)} ({_md_text(plan.mode)} mode)",
        "",
        summary,
    ]
    if covered := _scope(plan):
        head += ["", f"Scope: {_md_text(covered)}"]
    tail = ["", f"Digest: {_code('sha256:' + digest)}"]
    if redact:
        tail += ["", "_E-mails and phones are masked; the digest is of the unmasked plan._"]
    budget = _Budget(max_chars - _length(head) - _length(tail) - _NOTE_ROOM)
    if plan.actions:
        counts = ["", *_md_counts(plan)]
        head += counts
        budget.spend(_length(counts))
    # Verdicts before details: a conflict or an unsafe plan must show, whatever the size.
    verdicts = [
        ("Conflicts", [_md_conflict(c) for c in plan.conflicts]),
        ("Unsafe: apply needs --force", [f"- {_md_text(u)}" for u in plan.unsafe]),
        ("Warnings", [f"- {_md_text(w)}" for w in plan.warnings]),
    ]
    for title, items in verdicts:
        if items:
            head += ["", f"### {title}", "", *budget.fit(items, share=0.5, unit="more")]
    body: list[str] = []
    shown = 0
    if plan.actions:
        body += ["", "### Actions"]
        for name, actions in _by_account(plan.actions):
            title = f"<b>{_md_text(name)}</b>: {_counted(len(actions), 'action')}"
            section = ["", f"<details><summary>{title}</summary>", ""]
            closing = ["", "</details>"]
            if not budget.affords(_length(section) + _length(closing)):
                break
            budget.spend(_length(section) + _length(closing))
            for action in actions:
                lines = _md_action(action)
                if not budget.affords(_length(lines)):
                    break
                budget.spend(_length(lines))
                section += lines
                shown += 1
            body += [*section, *closing]
            if budget.exhausted:
                break
    hidden = len(plan.actions) - shown
    if hidden:
        body += [
            "",
            f"_{_counted(hidden, 'action')} of {len(plan.actions):,} not shown: this comment is limited to "
            f"{max_chars:,} characters (`--max-chars`). The whole plan is the JSON that "
            "`reconcile plan --out plan.json` writes; the digest below covers every action._",
        ]
    return "\n".join([*head, *body, *tail]) + "\n"


# A text plan with more actions than this repeats its counts at the top.
_LONG_TEXT_PLAN: Final = 40

# Room kept for the note that says how many actions are not shown.
_NOTE_ROOM: Final = 300


class _Budget:
    """Characters left for a markdown comment."""

    def __init__(self, left: int) -> None:
        self.left = left
        self.exhausted = False

    def affords(self, cost: int) -> bool:
        if cost > self.left:
            self.exhausted = True
        return not self.exhausted

    def spend(self, cost: int) -> None:
        self.left -= cost

    def fit(self, items: list[str], *, share: float, unit: str) -> list[str]:
        """As many of ``items`` as fit in ``share`` of what is left, then a line counting the rest."""
        room = int(self.left * share)
        kept: list[str] = []
        for item in items:
            if len(item) + 1 > room:
                break
            kept.append(item)
            room -= len(item) + 1
        if len(kept) < len(items):
            kept.append(f"- _and {len(items) - len(kept):,} {unit} (the JSON plan lists them all)_")
        self.spend(_length(kept))
        return kept


def _length(lines: list[str]) -> int:
    """Characters of ``lines`` joined by newlines, the newline after each included."""
    return sum(len(line) + 1 for line in lines)


def _counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _by_account(actions: tuple[Action, ...]) -> list[tuple[str, list[Action]]]:
    """Actions grouped by account alias, the platform's first, each group in plan order."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.account or "", []).append(action)
    ordered = sorted(groups.items(), key=lambda item: (item[0] != "", item[0]))
    return [(alias or "platform", group) for alias, group in ordered]


def _md_counts(plan: Plan) -> list[str]:
    """A table of actions per account (rows) and kind (columns), with totals."""
    groups = _by_account(plan.actions)
    kinds = [kind for kind, n in plan.counts().items() if n]
    rows = ["| account | " + " | ".join(kinds) + " | total |", "|---|" + "---:|" * (len(kinds) + 1)]
    for name, actions in groups:
        seen = {kind: 0 for kind in kinds}
        for action in actions:
            seen[action.kind.value] += 1
        cells = [f"{seen[k]:,}" if seen[k] else "" for k in kinds]
        label = name if name == "platform" else _code(name)
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {len(actions):,} |")
    if len(groups) > 1:
        totals = plan.counts()
        bold = " | ".join(f"**{totals[k]:,}**" for k in kinds)
        rows.append(f"| **total** | {bold} | **{len(plan.actions):,}** |")
    return rows


def _md_action(action: Action) -> list[str]:
    marker = action.MARKER
    lines = [f"- {_code(f'{marker} {action.kind.value}')} {_md_subject(action)}"]
    if marker == "+":
        lines += [f"  - {_code(c.field)}: {_code(_value(c.after))}" for c in _user_changes(action)]
        if ownership := _ownership(action):
            lines.append(f"  - ownership: {_code(ownership)}")
        return lines
    lines += [
        f"  - {_code(c.field)}: {_code(_value(c.before))} → {_code(_value(c.after))}{_masked_note(c)}"
        for c in action.changes
    ]
    return lines


def _md_subject(action: Action) -> str:
    parts = _subject(action)
    subject = f"**{_md_text(action.customer_key)}**"
    if action.account:
        subject += f" {parts.link.replace('->', '→')} {_code(action.account)}"
    if parts.ids:
        subject += f" ({', '.join(_code(i) for i in parts.ids)})"
    if parts.token:
        subject += f": {_code(parts.token)}"
    if parts.strategy:
        subject += f" via {_md_text(parts.strategy.value)}"
    if parts.duplicate_of:
        subject += f": duplicate of {_code(parts.duplicate_of)}"
    return subject


def _md_conflict(conflict: Conflict) -> str:
    where = f" @ {_code(conflict.account)}" if conflict.account else ""
    return f"- **{_md_text(conflict.customer_key)}**{where}: {_md_text(conflict.reason)}"


def _md_text(text: str) -> str:
    """Plain text with Markdown's special characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _plain(text))


def _code(text: str) -> str:
    """An inline code span that holds ``text`` verbatim, whatever backticks it contains."""
    text = _plain(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
