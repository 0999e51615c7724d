"""Inventory -> a desired-state file that describes what is live: ``reconcile import`` (no I/O).

Each customer on a connected account that is unowned (or already ours) is matched to a platform
customer: by its ``reconcile_platform_customer`` metadata, else by the one platform customer with
its card fingerprint, else by the one with its e-mail. Every platform customer with a copy becomes
a key that adopts it by ``id:``, its copies' accounts listed by alias, and no fields: adopted fields
are taken as they are. The file is then planned here, offline, as ``reconcile plan --adopt-by``
would plan it; a pair that plan would share anew or report as a conflict is left out, with the
reason in a comment, so the file plans as ownership updates and adoptions only.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconcile import config
from reconcile.actions import Adopt, Share
from reconcile.errors import ReconcileError
from reconcile.imported_details import details_to_file, differing_details
from reconcile.inventory import Inventory
from reconcile.model import (
    NO_DETAILS,
    AdoptBy,
    ConnectedAccount,
    Customer,
    CustomerSpec,
    DesiredState,
    Details,
    Fields,
    Mode,
    ObservedState,
    ShareSpec,
    Strategy,
    frozen_map,
    same_email,
)
from reconcile.plan import Plan
from reconcile.planner import plan
from reconcile.yaml_emitter import Node, emit

DEFAULT_OWNER = "imported"
MAX_ALIAS = 40
MAX_KEY = 100

# How a copy was recognised, as the file's comments say it.
_BY_TEXT = {"metadata": "reconcile_platform_customer metadata", "fingerprint": "card fingerprint", "email": "e-mail"}
_KEY_PATTERN = ("properties", "customers", "propertyNames")
# Which --adopt-by recognises a copy by each criterion (the metadata is recognised by either).
_ADOPTED_BY = {"fingerprint": AdoptBy.FINGERPRINT, "email": AdoptBy.EMAIL}


@dataclass(frozen=True, slots=True)
class Match:
    """A customer on a connected account recognised as the copy of a platform customer."""

    account: str  # acct_ id
    copy: Customer
    platform: Customer
    by: tuple[str, ...]  # every criterion that holds, of: metadata, fingerprint, email
    ours: bool  # already carries our ownership metadata

    @property
    def comment(self) -> str:
        """What the file says about this copy: its id, and how it was recognised."""
        if self.ours:
            return f"{self.copy.id}, already ours"
        return f"{self.copy.id}, matched by {' and '.join(self._criterion(b) for b in self.by)}"

    def _criterion(self, by: str) -> str:
        last4 = self.copy.card_last4
        return f"{_BY_TEXT[by]} (…{last4})" if by == "fingerprint" and last4 else _BY_TEXT[by]


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported:
    """The file written by an import, as text and as config reads it, and the plan it makes."""

    text: str
    desired: DesiredState
    plan: Plan
    adopt_by: AdoptBy | None  # what plan and apply need to adopt the copies; None: nothing to adopt
    left_out: int  # (customer, account) pairs recognised but left out (ambiguous, or missed by adopt_by)
    foreign: int  # objects owned by another owner, left alone


@dataclass(frozen=True, slots=True)
class _Draft:
    """One platform customer on its way into the file."""

    key: str
    customer: Customer
    copies: Mapping[str, list[Match]]  # alias -> its copies there (one, unless duplicated), by alias


# (customer key, account alias) -> why that pair is not declared
_LeftOut = Mapping[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class _Settled:
    """The plan of the file under one --adopt-by, once the pairs it cannot adopt are left out."""

    adopt_by: AdoptBy | None
    plan: Plan
    left_out: _LeftOut

    def kept(self, drafts: Sequence[_Draft]) -> int:
        return sum(len(d.copies) for d in drafts) - len(self.left_out)


def parse_account(text: str) -> tuple[str | None, str]:
    """``--account`` as ``(alias or None, acct_ id)``, from ``acct_…`` or ``ALIAS=acct_…``."""
    alias, equals, account_id = text.rpartition("=")
    if not re.fullmatch(_pattern("$defs", "accountId"), account_id) or (equals and not alias):
        raise ReconcileError(f"--account: expected acct_… or ALIAS=acct_…, got '{text}'")
    if alias and not re.fullmatch(_pattern("$defs", "alias"), alias):
        raise ReconcileError(f"--account: invalid alias '{alias}' (letters, digits, '.', '_', '-', at most 40)")
    return alias or None, account_id


def check_owner(owner: str) -> None:
    """Refuse an owner label the file would refuse, before anything is read."""
    if not re.fullmatch(_pattern("properties", "owner"), owner):
        raise ReconcileError(
            f"--owner: invalid owner '{owner}' (lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit, at most 40 characters)"
        )


def import_platform(
    inventory: Inventory,
    *,
    owner: str = DEFAULT_OWNER,
    mode: Mode,
    aliases: Mapping[str, str] | None = None,
    path: str = "imported.yaml",
) -> Imported:
    """The desired-state file for what ``inventory`` holds; ``aliases`` (acct_ id -> alias) are the user's."""
    check_owner(owner)
    candidates = {c.id: c for c in inventory.platform if c.owner in (None, owner)}
    matches, foreign = _matches(inventory, candidates, owner)
    account_aliases = _account_aliases(inventory.accounts, aliases or {})
    drafts = _drafts(candidates, matches, owner, account_aliases)
    # What plan observes for the file: the platform customers it adopts or owns, every customer on the accounts.
    observed = ObservedState(platform=tuple(candidates.values()), accounts=dict(inventory.customers))
    needs_adoption = any(not m.ours for m in matches)
    modes: tuple[AdoptBy | None, ...] = (AdoptBy.FINGERPRINT, AdoptBy.EMAIL) if needs_adoption else (None,)
    settled = [_settle(drafts, account_aliases, observed, owner, mode, by) for by in modes]
    # The criterion that lets plan adopt the most copies; fingerprint on a tie (a card is one person's).
    best = max(settled, key=lambda s: s.kept(drafts))
    adopt_by = best.adopt_by if any(isinstance(a, Adopt) for a in best.plan.actions) else None
    text = emit(
        _document(drafts, best.left_out, inventory, account_aliases, owner, mode),
        header=_header(inventory, drafts, best.plan, adopt_by, path, foreign),
    )
    desired = config.parse(text, path)
    final = plan(desired, observed, adopt_by=adopt_by)
    if final.digest != best.plan.digest:
        raise ReconcileError("import: the written file does not plan as it was meant to (a bug; run with --debug)")
    return Imported(
        text=text,
        desired=desired,
        plan=final,
        adopt_by=adopt_by,
        left_out=len(best.left_out),
        foreign=foreign,
    )


# -- matching ----------------------------------------------------------------------------------------


def _matches(inventory: Inventory, platform: Mapping[str, Customer], owner: str) -> tuple[list[Match], int]:
    """Every copy recognised on the accounts, and how many objects another owner holds."""
    by_card: dict[str, list[Customer]] = defaultdict(list)
    by_email: dict[str, list[Customer]] = defaultdict(list)
    for customer in platform.values():
        if customer.card_fingerprint:
            by_card[customer.card_fingerprint].append(customer)
        if customer.fields.email:
            by_email[customer.fields.email.strip().casefold()].append(customer)
    foreign = sum(1 for c in inventory.platform if c.owner not in (None, owner))
    found: list[Match] = []
    for account in inventory.accounts:
        for copy in inventory.customers.get(account.id, ()):
            if copy.owner not in (None, owner):
                foreign += 1
                continue
            origin = _origin(copy, platform, by_card, by_email, ours=copy.owner == owner)
            if origin is not None:
                found.append(Match(account.id, copy, origin, _criteria(copy, origin), ours=copy.owner == owner))
    return found, foreign


def _origin(
    copy: Customer,
    platform: Mapping[str, Customer],
    by_card: Mapping[str, list[Customer]],
    by_email: Mapping[str, list[Customer]],
    *,
    ours: bool,
) -> Customer | None:
    """The platform customer ``copy`` is a copy of, when exactly one fits; our copies say it themselves."""
    named = copy.platform_customer
    if named:
        # One naming a platform customer we cannot adopt (deleted, another owner's) is not a lookalike's copy.
        return platform.get(named)
    if ours:
        return None
    same_card = by_card.get(copy.card_fingerprint or "", [])
    if len(same_card) == 1:
        return same_card[0]
    same_address = by_email.get((copy.fields.email or "").strip().casefold(), [])
    return same_address[0] if len(same_address) == 1 else None


def _criteria(copy: Customer, platform: Customer) -> tuple[str, ...]:
    held = []
    if copy.platform_customer == platform.id:
        held.append("metadata")
    if copy.card_fingerprint and copy.card_fingerprint == platform.card_fingerprint:
        held.append("fingerprint")
    if same_email(copy.fields.email, platform.fields.email):
        held.append("email")
    return tuple(held)


# -- keys and aliases --------------------------------------------------------------------------------


def _drafts(
    platform: Mapping[str, Customer], matches: Sequence[Match], owner: str, aliases: Mapping[str, str]
) -> list[_Draft]:
    """One draft per platform customer that is ours or has a copy, keyed and sorted by key."""
    copies: dict[str, dict[str, list[Match]]] = defaultdict(lambda: defaultdict(list))
    for match in sorted(matches, key=lambda m: (not m.ours, m.copy.created, m.copy.id)):
        copies[match.platform.id][aliases[match.account]].append(match)
    chosen = [c for c in platform.values() if c.id in copies or c.owner == owner]
    # Ours keep their key (our copies carry it); the rest get one, oldest customer first.
    chosen.sort(key=lambda c: (c.owner != owner, c.created, c.id))
    taken: set[str] = set()
    drafts = []
    for customer in chosen:
        key = _unique(_key(customer, owner), taken, MAX_KEY)
        drafts.append(_Draft(key, customer, dict(sorted(copies[customer.id].items()))))
    return sorted(drafts, key=lambda d: d.key)


def _key(customer: Customer, owner: str) -> str:
    """Ours: the key it carries. Else a readable one: the e-mail's local part, else the name, else the id."""
    if customer.owner == owner and customer.key and re.fullmatch(_pattern(*_KEY_PATTERN), customer.key):
        return customer.key
    email, name = customer.fields.email, customer.fields.name
    local = email.partition("@")[0] if email else ""
    return _fit(local, MAX_KEY) or _fit(name or "", MAX_KEY) or customer.id


def _account_aliases(accounts: Sequence[ConnectedAccount], chosen: Mapping[str, str]) -> dict[str, str]:
    """acct_ id -> alias: the user's, else from the business name, else the e-mail, else the id."""
    taken = set(chosen.values())
    aliases = {}
    for account in accounts:
        if account.id in chosen:
            aliases[account.id] = chosen[account.id]
            continue
        base = _fit(account.name or "", MAX_ALIAS) or _fit(account.email or "", MAX_ALIAS) or account.id[:MAX_ALIAS]
        aliases[account.id] = _unique(base, taken, MAX_ALIAS)
    return aliases


def _fit(text: str, limit: int) -> str:
    """``text`` as a key or alias: ASCII letters, digits, '.', '_' and '-', starting with a letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_.]+", "-", ascii_text.lower())
    return re.sub(r"^[^a-z0-9]+", "", slug)[:limit].rstrip("-_.")


def _unique(base: str, taken: set[str], limit: int) -> str:
    """``base``, or ``base-2``, ``base-3``… when taken; recorded as taken."""
    name, number = base, 1
    while name in taken:
        number += 1
        suffix = f"-{number}"
        name = base[: limit - len(suffix)].rstrip("-_.") + suffix
    taken.add(name)
    return name


# -- settling: plan the file offline, leave out what would not be an adoption -------------------------


def _settle(
    drafts: Sequence[_Draft],
    aliases: Mapping[str, str],
    observed: ObservedState,
    owner: str,
    mode: Mode,
    adopt_by: AdoptBy | None,
) -> _Settled:
    """The plan of the drafts under ``adopt_by``, once the pairs it would share or conflict on are left out."""
    left_out: dict[tuple[str, str], str] = {}
    by_key = {d.key: d for d in drafts}
    while True:
        desired = _desired(drafts, aliases, owner, mode, left_out)
        result = plan(desired, observed, adopt_by=adopt_by)
        problems: dict[tuple[str, str], str] = {}
        for conflict in result.conflicts:
            # A conflict on the platform customer itself leaves out every pair of it.
            for alias in [conflict.account] if conflict.account else list(by_key[conflict.customer_key].copies):
                problems[(conflict.customer_key, alias)] = conflict.reason
        for action in result.actions:
            if isinstance(action, Share):
                copies = by_key[action.customer_key].copies[action.account]
                problems[(action.customer_key, action.account)] = _unrecognised(copies, adopt_by)
        # Each round leaves out one more pair at least, so this ends; a conflict no pair explains is plan's to report.
        if problems.keys() <= left_out.keys():
            return _Settled(adopt_by, result, left_out)
        left_out.update(problems)


def _unrecognised(copies: Sequence[Match], adopt_by: AdoptBy | None) -> str:
    """Why a pair whose copy import found would still be shared anew by plan, and what adopts it."""
    found = "; ".join(m.comment for m in copies)
    how = f"--adopt-by {adopt_by}" if adopt_by else "plan without --adopt-by"
    others = sorted({_ADOPTED_BY[b] for m in copies for b in m.by if b in _ADOPTED_BY} - {adopt_by})
    hint = f" (after this apply, import again: --adopt-by {others[0]} recognises it)" if others else ""
    return f"{found}; {how} would not recognise it and would share a second copy{hint}"


def _desired(
    drafts: Sequence[_Draft],
    aliases: Mapping[str, str],
    owner: str,
    mode: Mode,
    left_out: _LeftOut,
) -> DesiredState:
    """The DesiredState the file of these drafts resolves to (what config.parse returns for it)."""
    ordered = dict(sorted((alias, account) for account, alias in aliases.items()))
    customers = tuple(
        CustomerSpec(
            key=d.key,
            id=d.customer.id,
            shares=tuple(
                ShareSpec(alias=alias, account_id=ordered[alias], overrides=Fields(details=_kept_details(d, alias)))
                for alias in d.copies
                if (d.key, alias) not in left_out
            ),
        )
        for d in drafts
    )
    return DesiredState(
        owner=owner, mode=mode, strategy=Strategy.TOKEN, accounts=frozen_map(ordered), customers=customers
    )


# -- the file ----------------------------------------------------------------------------------------


def _document(
    drafts: Sequence[_Draft],
    left_out: _LeftOut,
    inventory: Inventory,
    aliases: Mapping[str, str],
    owner: str,
    mode: Mode,
) -> dict[str, Node]:
    # Customers named in the accounts lists (a pair may name a duplicate copy too), per account alias.
    copies: Counter[str] = Counter()
    for draft in drafts:
        for alias, found in draft.copies.items():
            copies[alias] += 0 if (draft.key, alias) in left_out else len(found)
    accounts = {
        aliases[a.id]: Node(a.id, _account_comment(a, copies[aliases[a.id]], len(inventory.customers.get(a.id, ()))))
        for a in sorted(inventory.accounts, key=lambda a: aliases[a.id])
    }
    return {
        "version": Node(1, above=("",)),
        "owner": Node(owner),
        "mode": Node(mode.value),
        "accounts": Node(accounts, above=("",)),
        "customers": Node({d.key: _customer(d, left_out) for d in drafts}, above=("",)),
    }


def _customer(draft: _Draft, left_out: _LeftOut) -> Node:
    shares: list[Node] = []
    notes: list[str] = []
    for alias, copies in draft.copies.items():
        reason = left_out.get((draft.key, alias))
        if reason is None:
            comment = "; ".join(m.comment for m in copies)
            kept = details_to_file(_kept_details(draft, alias))
            if kept:
                entry = {"account": alias, **kept}
                shares.append(Node({k: _node(v) for k, v in entry.items()}, comment))
            else:
                shares.append(Node(alias, comment))
        else:
            notes.append(f"{alias} left out: {reason}")
    accounts = Node(tuple(shares), below=tuple(notes))
    return Node({"id": Node(draft.customer.id), "accounts": accounts}, _person(draft.customer))


def _kept_details(draft: _Draft, alias: str) -> Details:
    """The details the copy on ``alias`` keeps as overrides (none when the pair has several copies)."""
    copies = draft.copies[alias]
    return differing_details(copies[0].copy, draft.customer) if len(copies) == 1 else NO_DETAILS


def _node(value: object) -> Node:
    """Plain file data (text, lists, mappings) as emitter Nodes."""
    if isinstance(value, dict):
        return Node({str(k): _node(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return Node(tuple(_node(item) for item in value))
    return Node(value)  # type: ignore[arg-type]


def _person(customer: Customer) -> str:
    """``Alice Liddell <alice@example.com>``, or whichever of the two is set."""
    name, email = customer.fields.name, customer.fields.email
    if name and email:
        return f"{name} <{email}>"
    return name or email or ""


def _account_comment(account: ConnectedAccount, copies: int, customers: int) -> str:
    who = " ".join(part for part in (account.name, f"<{account.email}>" if account.email else None) if part)
    counted = f"{copies} of its {customers} customer{'s' if customers != 1 else ''} listed below"
    return f"{who}; {counted}" if who else counted


def _header(
    inventory: Inventory,
    drafts: Sequence[_Draft],
    result: Plan,
    adopt_by: AdoptBy | None,
    path: str,
    foreign: int,
) -> tuple[str, ...]:
    command = f"reconcile plan {path}" + (f" --adopt-by {adopt_by}" if adopt_by else "")
    shows = ", ".join(f"{n} {kind}" for kind, n in result.counts().items() if n) or "no changes"
    lines = [
        "Written by `reconcile import`: what is live, as a desired-state file.",
        f"{len(drafts)} of the platform's {len(inventory.platform)} customers: those with a copy on these "
        f"{len(inventory.accounts)} accounts, or already ours.",
        "No fields are declared, so none is planned as a change: each is taken as it is.",
    ]
    if foreign:
        lines.append(f"{foreign} customers (on the platform or the accounts) of another owner are left alone.")
    return (
        *lines,
        "",
        "Review it, then adopt what is live (ownership metadata only; nothing is shared anew):",
        f"  {command}",
        f"  plans {shows}.",
    )


def _pattern(*path: str) -> str:
    """A pattern of the file's JSON Schema (its single source of truth), by its path there."""
    node: object = config.schema()
    for part in path:
        node = _mapping(node).get(part)
    return str(_mapping(node).get("pattern", ""))


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}
