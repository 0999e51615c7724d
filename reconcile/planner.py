"""plan(desired, observed) -> Plan: a pure function; no I/O, no clock, no randomness.

Field rule, for every customer: a declared field is managed; a field the file leaves out is
taken from the platform customer as it is (and so never planned as a change there). A copy
carries the customer's effective fields, with the per-account overrides on top. The details
(address, shipping, locales, tax status, invoice settings) are managed only where declared,
on the customer or per account: left out, they are left alone on the platform and on copies.
Details are compared whole first; only one that differs is diffed leaf by leaf (``address.city``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconcile.actions import (
    UNKNOWN,
    Action,
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
from reconcile.model import (
    DEFAULT_PAYMENT_METHOD,
    DEFAULT_SOURCE,
    DETAIL_LEAVES,
    FIELD_PATHS,
    FIELDS,
    KEY_KEY,
    OWNER_KEY,
    OWNERSHIP_KEYS,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    WHOLE_OBJECTS,
    AdoptBy,
    Customer,
    CustomerSpec,
    DesiredState,
    DetailField,
    Details,
    FieldPath,
    MetadataKey,
    ObservedState,
    ShareSpec,
    Strategy,
    Value,
    email_key,
    frozen_map,
    is_ownership,
    metadata_paths,
)
from reconcile.plan import Conflict, Plan

# Stripe's limit on metadata keys per object; the ownership keys count towards it.
MAX_METADATA_KEYS = 50
PLATFORM_OWNERSHIP_KEYS = 2  # reconcile_owner, reconcile_key

FlatFields = dict[FieldPath, Value | None]

_OWNER_PATH = MetadataKey(OWNER_KEY)
_KEY_PATH = MetadataKey(KEY_KEY)
_PLATFORM_CUSTOMER_PATH = MetadataKey(PLATFORM_CUSTOMER_KEY)
_SOURCE_PATH = MetadataKey(SOURCE_KEY)


def diff(
    before: Mapping[FieldPath, Value | None], after: Mapping[FieldPath, Value | Unknown | None]
) -> tuple[FieldChange, ...]:
    """Field-level changes from ``before`` to ``after`` (flat maps), sorted by field; absent equals None."""
    # A plain comparison, not DeepDiff: DeepDiff reports an empty side as one change of the
    # whole root (no per-key entries), which emptied the changes of create_customer and share.
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return tuple(FieldChange(k, before.get(k), after.get(k)) for k in sorted(changed, key=lambda path: path.text))


def plan(
    desired: DesiredState,
    observed: ObservedState,
    *,
    prune: bool = False,
    accounts: Iterable[str] | None = None,
    adopt_by: str | None = None,
) -> Plan:
    """Diff desired against observed state; ``accounts`` (aliases) narrows the copies considered.

    ``adopt_by`` (fingerprint or email) adopts an unowned customer already on an account as the
    copy of a declared pair that has none, when exactly one matches; see ``_Planner.adoptions``.
    """
    scope = frozenset(accounts) if accounts is not None else frozenset(desired.accounts)
    by = AdoptBy(adopt_by) if adopt_by else None
    planner = _Planner(desired, observed, prune=prune, scope=scope, adopt_by=by)
    for spec in sorted(desired.customers, key=lambda c: c.key):
        planner.customer(spec)
    planner.adoptions()
    planner.undeclared_copies()
    return planner.result()


class _Conflicted(Exception):
    """A conflict was reported for this customer; plan nothing more for it."""


@dataclass(frozen=True, slots=True)
class _PlatformSide:
    """What the plan knows about a customer's platform customer once platform actions are planned."""

    customer: Customer | None  # None: created by this plan
    source: str | Unknown | None  # the default source or PaymentMethod to clone; UNKNOWN: attached by this plan
    after: tuple[str, ...]  # platform action ids a share must wait for


@dataclass(frozen=True, slots=True)
class _Unshared:
    """A declared pair with no copy of ours, waiting for --adopt-by to find its copy among unowned customers."""

    spec: CustomerSpec
    share: ShareSpec
    side: _PlatformSide
    wanted: FlatFields  # the fields a share would give the copy
    matches: tuple[Customer, ...]  # unowned customers on the account that match
    by: str  # how they match, for messages


class _AccountIndex:
    """One account's customers, indexed once so each pair is a lookup, not a scan of the account.

    Entries are tuples, not lists: an index of a million copies is mostly entries of one.
    """

    def __init__(self, customers: Iterable[Customer], owner: str) -> None:
        self.ours: list[Customer] = []  # every customer we own there, in the order listed
        self.ours_by_key: dict[str, tuple[Customer, ...]] = {}
        # Customers we do not own, by the reconcile_platform_customer they name: another owner's
        # copy, or an unowned one that --adopt-by may take. Our own copies are found by key.
        self.others_by_platform: dict[str, tuple[Customer, ...]] = {}
        self.unowned_by_fingerprint: dict[str, tuple[Customer, ...]] = {}
        self.unowned_by_email: dict[str, tuple[Customer, ...]] = {}
        for customer in customers:
            metadata = customer.fields.metadata or _NO_METADATA
            customer_owner = metadata.get(OWNER_KEY)
            if customer_owner == owner:
                self.ours.append(customer)
                key = metadata.get(KEY_KEY)
                if key:
                    _add(self.ours_by_key, key, customer)
                continue
            platform = metadata.get(PLATFORM_CUSTOMER_KEY)
            if platform:
                _add(self.others_by_platform, platform, customer)
            if customer_owner is None:
                if customer.card_fingerprint:
                    _add(self.unowned_by_fingerprint, customer.card_fingerprint, customer)
                if customer.fields.email:
                    _add(self.unowned_by_email, email_key(customer.fields.email), customer)


def _add(index: dict[str, tuple[Customer, ...]], key: str, customer: Customer) -> None:
    index[key] = (*index[key], customer) if key in index else (customer,)


_NO_METADATA: Mapping[str, str] = frozen_map()


# What an in-step copy holds: (email, name, phone, description, metadata) and the declared details.
_Expected = tuple[tuple[object, ...], Details]


class _CopyCache:
    """What every plain share of one customer has in common, worked out once for the customer.

    A share without per-account overrides wants the same fields on every account, so a customer
    shared with ten accounts compares ten copies against one expected value, and a first apply
    shares ten copies with one tuple of changes.
    """

    def __init__(self) -> None:
        self.wanted: FlatFields | None = None  # _copy_fields of a plain share
        self.expected: _Expected | None = None  # what an in-step copy holds; None: no copy can be (a conflict)
        self.expected_known = False
        self.share_changes: tuple[FieldChange, ...] | None = None  # the changes of a plain share


class _Planner:
    def __init__(
        self,
        desired: DesiredState,
        observed: ObservedState,
        *,
        prune: bool,
        scope: frozenset[str],
        adopt_by: AdoptBy | None = None,
    ) -> None:
        self.desired = desired
        self.observed = observed
        self.prune = prune
        self.scope = scope
        self.adopt_by = adopt_by
        self.unshared: list[_Unshared] = []  # with --adopt-by: decided once every pair is known
        self.actions: list[Action] = []
        self.conflicts: list[Conflict] = []
        self.warnings: list[str] = []
        self.claimed: set[str] = set()  # copy ids matched to a declared (customer, account) pair
        self.platform_by_id = {c.id: c for c in observed.platform}
        self.index = {
            account: _AccountIndex(customers, desired.owner) for account, customers in observed.accounts.items()
        }
        self.unobserved = _AccountIndex((), desired.owner)
        # A platform customer adopted by id belongs to the key that adopts it, whatever key it still carries.
        adopted = {spec.id for spec in desired.customers if spec.id}
        self.platform_by_key: dict[str, list[Customer]] = defaultdict(list)
        for customer in observed.platform:
            if customer.owner == desired.owner and customer.key and customer.id not in adopted:
                self.platform_by_key[customer.key].append(customer)

    # -- platform side -------------------------------------------------------------------------

    def customer(self, spec: CustomerSpec) -> None:
        shares = [s for s in spec.shares if s.alias in self.scope]
        if spec.shares and not shares and not self.scope >= self.desired.accounts.keys():
            # Narrowed (--account, --shard) to accounts this customer is not declared on. A customer
            # declared on no account at all belongs to every narrowed run, or to none.
            return
        try:
            platform = self._find_platform(spec)
        except _Conflicted:
            # Reported, never touched: claim its copies so --prune does not unshare a declared pair.
            for share in shares:
                self.claimed.update(c.id for c in self._ours(share, spec.key))
            return
        side = self._plan_platform(spec, platform)
        cache = _CopyCache()
        for share in shares:
            index = self.index.get(share.account_id, self.unobserved)
            ours = index.ours_by_key.get(spec.key, ())
            if len(ours) == 1 and self._in_step(spec, share, side, index, ours[0], cache):
                self.claimed.add(ours[0].id)
            else:
                self._plan_copy(spec, share, side, cache)

    def _find_platform(self, spec: CustomerSpec) -> Customer | None:
        """The platform customer of ``spec``, or None when it is to be created."""
        if spec.id:
            found = self.platform_by_id.get(spec.id)
            if found is None:
                self._conflict(spec.key, f"platform customer {spec.id} does not exist (or is deleted)")
                raise _Conflicted
            if found.owner and found.owner != self.desired.owner:
                self._conflict(
                    spec.key,
                    f"platform customer {spec.id} is owned by '{found.owner}', not '{self.desired.owner}'",
                    object_id=spec.id,
                )
                raise _Conflicted
            others = [c for c in self.platform_by_key.get(spec.key, []) if c.id != spec.id]
            if others:
                ids = ", ".join(c.id for c in others)
                self._conflict(spec.key, f"key is also carried by platform customer {ids}", object_id=spec.id)
                raise _Conflicted
            return self._fits(spec, found)
        candidates = self.platform_by_key.get(spec.key, [])
        if len(candidates) > 1:
            ids = ", ".join(sorted(c.id for c in candidates))
            self._conflict(spec.key, f"several platform customers carry this key: {ids}")
            raise _Conflicted
        return self._fits(spec, candidates[0]) if candidates else None

    def _fits(self, spec: CustomerSpec, platform: Customer) -> Customer:
        """``platform``, unless its metadata leaves no room for the ownership keys (an adopted customer's may not)."""
        user = spec.fields.metadata if spec.fields.metadata is not None else _user_metadata(platform)
        count = len(user) + PLATFORM_OWNERSHIP_KEYS
        if count > MAX_METADATA_KEYS:
            self._conflict(
                spec.key,
                f"platform customer {platform.id} would carry {count} metadata keys with the ownership keys; "
                f"Stripe allows {MAX_METADATA_KEYS}",
                object_id=platform.id,
            )
            raise _Conflicted
        return platform

    def _plan_platform(self, spec: CustomerSpec, platform: Customer | None) -> _PlatformSide:
        owned = {OWNER_KEY: self.desired.owner, KEY_KEY: spec.key}
        declared = _flatten_declared(spec)
        after: list[str] = []
        if platform is None:
            details = _set(_leaves(spec.fields.details))
            changes = diff({}, {**declared, **details, **metadata_paths(owned)})
            create = CreateCustomer(customer_key=spec.key, changes=changes)
            self.actions.append(create)
            after.append(create.id)
        elif not self._platform_in_step(spec, platform):
            live = _flatten(platform, declared_metadata=spec.fields.metadata is not None)
            live_details, declared_details = _differing(platform.fields.details, spec.fields.details)
            live.update(live_details)
            declared.update(declared_details)
            wanted = {**live, **_ignoring(spec.ignore_changes, declared, live), **metadata_paths(owned)}
            changes = diff(live, wanted)
            if changes:
                self.actions.append(
                    UpdateCustomer(
                        customer_key=spec.key,
                        platform_customer=platform.id,
                        changes=changes,
                        kept=_kept(changes, wanted),
                    )
                )
        source: str | Unknown | None = _platform_source(platform, spec.strategy)
        if spec.payment_source and (platform is None or platform.default_source is None):
            attach = AttachSource(
                customer_key=spec.key,
                platform_customer=platform.id if platform else UNKNOWN,
                source=spec.payment_source,
                after=tuple(after),
            )
            self.actions.append(attach)
            after.append(attach.id)
            source = UNKNOWN
        return _PlatformSide(customer=platform, source=source, after=tuple(after))

    def _platform_in_step(self, spec: CustomerSpec, platform: Customer) -> bool:
        """Whether the platform customer already holds what the file declares: a cheap check that
        only answers yes when the full comparison would find no change (see ``_in_step``)."""
        declared, live = spec.fields, platform.fields
        for name in FIELDS:
            value = declared.get(name)
            if value is not None and value != live.get(name):
                return False
        if live.details != declared.details and not all(
            live.details.same(declared.details, detail) for detail in declared.details.declared()
        ):
            return False
        metadata = live.metadata or _NO_METADATA
        if declared.metadata is None:
            return metadata.get(OWNER_KEY) == self.desired.owner and metadata.get(KEY_KEY) == spec.key
        expected = {key: value for key, value in declared.metadata.items() if value is not None}
        return metadata == expected | {OWNER_KEY: self.desired.owner, KEY_KEY: spec.key}

    # -- connected-account side ----------------------------------------------------------------

    def _plan_copy(self, spec: CustomerSpec, share: ShareSpec, side: _PlatformSide, cache: _CopyCache) -> None:
        platform_id = side.customer.id if side.customer else None
        ours = self._ours(share, spec.key)
        copies = [c for c in ours if platform_id and c.platform_customer == platform_id]
        copy = min(copies, key=_keeper_first) if copies else None
        if copy is not None:
            self._plan_duplicates(spec, share, copy, copies)
        foreign = [c for c in self._on(share).others_by_platform.get(platform_id or "", ()) if not self._adoptable(c)]
        if foreign:
            owner = foreign[0].owner or "nobody"
            self._conflict(
                spec.key,
                f"copy {foreign[0].id} of {platform_id} is owned by '{owner}'",
                share=share,
                object_id=foreign[0].id,
            )
            self.claimed.update(c.id for c in self._ours(share, spec.key))
            if copy is None:
                return  # sharing again would give the account a second copy of the same person
        plain = cache if share.overrides_nothing else None
        wanted = self._wanted(spec, share, side, plain)
        count = sum(1 for path in wanted if isinstance(path, MetadataKey)) + len(OWNERSHIP_KEYS)
        if count > MAX_METADATA_KEYS:
            self._conflict(
                spec.key,
                f"its copy would carry {count} metadata keys with the ownership keys; "
                f"Stripe allows {MAX_METADATA_KEYS}",
                share=share,
                object_id=copy.id if copy else None,
            )
            if copy is not None:
                self.claimed.add(copy.id)
            return
        if copy is None:
            if self.adopt_by and side.customer is not None:
                matches, by = self._matches(spec, share, side.customer)
                self.unshared.append(_Unshared(spec, share, side, wanted, matches, by))
            else:
                self._plan_share(spec, share, side, wanted, plain)
            return
        self.claimed.add(copy.id)
        assert platform_id is not None  # a copy is found by the platform customer it names
        live = _flatten(copy, declared_metadata=True)
        live_user = {k: v for k, v in live.items() if not is_ownership(k)}
        live_details, wanted_details = _differing(copy.fields.details, _copy_details(spec, share))
        live_user.update(live_details)
        target = {**live_user, **_ignoring(spec.ignore_changes, {**wanted, **wanted_details}, live_user)}
        changes = diff(live_user, target)
        if changes:
            self.actions.append(
                UpdateShare(
                    customer_key=spec.key,
                    account=share.alias,
                    account_id=share.account_id,
                    platform_customer=platform_id,
                    copy=copy.id,
                    changes=changes,
                    kept=_kept(changes, target),
                )
            )
        # A source attached in this same apply is new to every existing copy as well; a copy made by
        # a customer token is moved onto a clone when its customer's strategy becomes payment_method.
        if side.source and (copy.source != side.source or _token_copy(copy, spec.strategy)):
            self.actions.append(
                RotateSource(
                    customer_key=spec.key,
                    account=share.alias,
                    account_id=share.account_id,
                    platform_customer=platform_id,
                    copy=copy.id,
                    source=side.source,
                    strategy=spec.strategy,
                    changes=_rotation(copy, side.source, spec.strategy),
                    after=side.after if side.source is UNKNOWN else (),
                )
            )

    def _plan_duplicates(self, spec: CustomerSpec, share: ShareSpec, keep: Customer, copies: list[Customer]) -> None:
        """A second copy of ours for one pair, however it arose, is removed: it is a change, not a warning."""
        for duplicate in copies:
            if duplicate.id == keep.id:
                continue
            self.claimed.add(duplicate.id)
            self.actions.append(
                Unshare(
                    customer_key=spec.key,
                    account=share.alias,
                    account_id=share.account_id,
                    platform_customer=duplicate.platform_customer,
                    copy=duplicate.id,
                    duplicate_of=keep.id,
                )
            )

    def _plan_share(
        self,
        spec: CustomerSpec,
        share: ShareSpec,
        side: _PlatformSide,
        wanted: FlatFields,
        cache: _CopyCache | None = None,
    ) -> None:
        """``cache``: the customer's, when this share has no overrides (its changes are every plain share's)."""
        if side.source is None:
            self._conflict(
                spec.key,
                "the platform customer has no default payment source to share "
                "(declare payment.source in test mode, or attach one)",
                share=share,
            )
            return
        platform_id = side.customer.id if side.customer else UNKNOWN
        changes = cache.share_changes if cache else None
        if changes is None:
            ownership: dict[FieldPath, str | Unknown] = {
                _OWNER_PATH: self.desired.owner,
                _KEY_PATH: spec.key,
                _PLATFORM_CUSTOMER_PATH: platform_id,
                _SOURCE_PATH: side.source,
            }
            changes = diff({}, {**_set({**wanted, **_leaves(_copy_details(spec, share))}), **ownership})
            if cache:
                cache.share_changes = changes
        self.actions.append(
            Share(
                customer_key=spec.key,
                account=share.alias,
                account_id=share.account_id,
                platform_customer=platform_id,
                source=side.source,
                strategy=spec.strategy,
                changes=changes,
                after=side.after,
            )
        )

    def _in_step(
        self,
        spec: CustomerSpec,
        share: ShareSpec,
        side: _PlatformSide,
        index: _AccountIndex,
        copy: Customer,
        cache: _CopyCache,
    ) -> bool:
        """Whether the pair's one copy already is what the plan would make it: nothing to plan, nothing to report.

        A cheap check that only ever answers yes when ``_plan_copy`` would find no change, no
        rotation and no conflict; on no, the pair is planned the long way.
        """
        platform, source = side.customer, side.source
        if platform is None or not isinstance(source, str) or _token_copy(copy, spec.strategy):
            return False  # made or attached by this plan, or moving onto a clone: every such copy changes
        others = index.others_by_platform.get(platform.id)
        if others and any(not self._adoptable(c) for c in others):
            return False  # another owner holds a copy of this platform customer: a conflict to report
        if not share.overrides_nothing:
            expected = self._expected_copy(spec, share, side, source, None)
        else:
            if not cache.expected_known:
                cache.expected = self._expected_copy(spec, share, side, source, cache)
                cache.expected_known = True
            expected = cache.expected
        if expected is None:
            return False
        # The expected metadata names this platform customer and source: equal fields are the same pair, in step.
        fields, (compared, details) = copy.fields, expected
        # One tuple comparison, in C, answers for a copy in step (details equal as values included);
        # details that differ only in how "unset" is written are looked at detail by detail.
        live = (fields.email, fields.name, fields.phone, fields.description, fields.metadata, fields.details.values)
        if live == compared:
            return True
        return live[:-1] == compared[:-1] and all(fields.details.same(details, detail) for detail in details.declared())

    def _wanted(
        self, spec: CustomerSpec, share: ShareSpec, side: _PlatformSide, cache: _CopyCache | None
    ) -> FlatFields:
        """``_copy_fields``, worked out once per customer for its plain shares (``cache`` given)."""
        if cache is None:
            return self._copy_fields(spec, share, side)
        if cache.wanted is None:
            cache.wanted = self._copy_fields(spec, share, side)
        return cache.wanted

    def _expected_copy(
        self, spec: CustomerSpec, share: ShareSpec, side: _PlatformSide, source: str, cache: _CopyCache | None
    ) -> _Expected | None:
        """What a copy in step holds: its text fields and metadata (ownership included), as ``_in_step``
        compares them, and the details the file declares for it; None when no copy can be (a conflict)."""
        wanted = self._wanted(spec, share, side, cache)
        paths = [path for path in wanted if isinstance(path, MetadataKey)]
        if len(paths) + len(OWNERSHIP_KEYS) > MAX_METADATA_KEYS:
            return None  # a conflict: the long way reports it
        metadata = {path.key: value for path in paths if (value := wanted[path]) is not None}
        assert side.customer is not None
        metadata |= {
            OWNER_KEY: self.desired.owner,
            KEY_KEY: spec.key,
            PLATFORM_CUSTOMER_KEY: side.customer.id,
            SOURCE_KEY: source,
        }
        text = tuple(wanted.get(path) for path in FIELD_PATHS)
        details = _copy_details(spec, share)
        return (*text, metadata, details.values), details

    # -- adoption (--adopt-by) ---------------------------------------------------------------------

    def _adoptable(self, customer: Customer) -> bool:
        """Unowned (no reconcile_owner), so --adopt-by may make it ours."""
        return self.adopt_by is not None and customer.owner is None

    def _matches(self, spec: CustomerSpec, share: ShareSpec, platform: Customer) -> tuple[tuple[Customer, ...], str]:
        """The unowned customers on the account that look like this pair's copy, and how they match."""
        # One that names another platform customer in its metadata is that customer's copy, not this one's.
        index = self._on(share)
        named = tuple(c for c in index.others_by_platform.get(platform.id, ()) if self._adoptable(c))
        if named:
            return named, f"{PLATFORM_CUSTOMER_KEY} metadata"
        if self.adopt_by is AdoptBy.FINGERPRINT:
            found = index.unowned_by_fingerprint.get(platform.card_fingerprint or "", ())
            how = "card fingerprint"
        else:
            email = spec.fields.email or platform.fields.email
            found = index.unowned_by_email.get(email_key(email), ()) if email else ()
            how = "e-mail"
        return tuple(c for c in found if self._adoptable(c) and c.platform_customer in (None, platform.id)), how

    def adoptions(self) -> None:
        """Adopt the one unowned match of each unshared pair; share when there is none; never guess.

        Two matches for one pair, or one customer matching two pairs on an account, is a conflict:
        picking one would be a guess, and a wrong guess hands one person's customer to another.
        """
        claims: dict[tuple[str, str], list[str]] = defaultdict(list)
        for pair in self.unshared:
            for match in pair.matches:
                claims[(pair.share.account_id, match.id)].append(pair.spec.key)
        for pair in self.unshared:
            if not pair.matches:
                self._plan_share(pair.spec, pair.share, pair.side, pair.wanted)
                continue
            if len(pair.matches) > 1:
                ids = ", ".join(sorted(c.id for c in pair.matches))
                reason = f"{len(pair.matches)} unowned customers match by {pair.by} ({ids}); none is adopted"
                self._conflict(pair.spec.key, reason, share=pair.share)
                continue
            (match,) = pair.matches
            claimants = claims[(pair.share.account_id, match.id)]
            if len(claimants) > 1:
                keys = ", ".join(sorted(claimants))
                reason = f"unowned customer {match.id} matches {keys} by {pair.by}; it is not adopted"
                self._conflict(pair.spec.key, reason, share=pair.share, object_id=match.id)
                continue
            self._plan_adopt(pair, match)

    def _plan_adopt(self, pair: _Unshared, copy: Customer) -> None:
        """Ownership metadata on an unowned customer, and nothing else: its fields are planned next time."""
        platform = pair.side.customer
        assert platform is not None  # only pairs with a live platform customer wait for adoption
        live = metadata_paths({k: copy.metadata.get(k) for k in sorted(OWNERSHIP_KEYS)})
        owned = {OWNER_KEY: self.desired.owner, KEY_KEY: pair.spec.key, PLATFORM_CUSTOMER_KEY: platform.id}
        wanted = {**live, **metadata_paths(owned)}
        # Claim the source only for the same card: otherwise the next plan rotates the platform's card in.
        source = pair.side.source
        same_card = copy.card_fingerprint is not None and copy.card_fingerprint == platform.card_fingerprint
        if isinstance(source, str) and same_card:
            wanted[MetadataKey(SOURCE_KEY)] = source
        self.actions.append(
            Adopt(
                customer_key=pair.spec.key,
                account=pair.share.alias,
                account_id=pair.share.account_id,
                platform_customer=platform.id,
                copy=copy.id,
                changes=diff(live, wanted),
            )
        )

    def _copy_fields(self, spec: CustomerSpec, share: ShareSpec, side: _PlatformSide) -> FlatFields:
        """The user-visible fields a copy should carry: effective customer fields, then overrides."""
        platform = side.customer
        wanted: FlatFields = {}
        for path in FIELD_PATHS:
            declared = spec.fields.get(path.name)
            override = share.overrides.get(path.name)
            value = override if override is not None else declared
            if value is None and platform is not None:
                value = platform.fields.get(path.name)
            wanted[path] = value
        if spec.fields.metadata is not None:
            metadata = dict(spec.fields.metadata)
        elif platform is not None:
            metadata = _user_metadata(platform)
        else:
            metadata = {}
        metadata.update(share.overrides.metadata or {})
        wanted.update(metadata_paths(metadata))
        return wanted

    def undeclared_copies(self) -> None:
        """Copies we own that no declared pair claimed: unshare with --prune, else say they are kept."""
        kept = 0
        for alias, account_id in sorted(self.desired.accounts.items()):
            if alias not in self.scope:
                continue
            for copy in self.index[account_id].ours if account_id in self.index else ():
                if copy.id in self.claimed:
                    continue
                if not self.prune:
                    kept += 1
                    continue
                self.actions.append(
                    Unshare(
                        customer_key=copy.key or "?",
                        account=alias,
                        account_id=account_id,
                        platform_customer=copy.platform_customer,
                        copy=copy.id,
                    )
                )
        if kept:
            copies = "copy is" if kept == 1 else "copies are"
            self.warnings.append(f"{kept} undeclared {copies} kept (use --prune to unshare)")

    def _on(self, share: ShareSpec) -> _AccountIndex:
        return self.index.get(share.account_id) or self.unobserved

    def _ours(self, share: ShareSpec, key: str) -> tuple[Customer, ...]:
        """Copies on the pair's account that we own under ``key``."""
        return self._on(share).ours_by_key.get(key, ())

    def _conflict(self, key: str, reason: str, *, share: ShareSpec | None = None, object_id: str | None = None) -> None:
        self.conflicts.append(
            Conflict(
                customer_key=key,
                reason=reason,
                account=share.alias if share else None,
                account_id=share.account_id if share else None,
                object_id=object_id,
            )
        )

    def result(self) -> Plan:
        actions = sorted(
            self.actions,
            key=lambda a: (a.customer_key, a.account or "", a.ORDER, a.object_id or ""),
        )
        conflicts = sorted(self.conflicts, key=lambda c: (c.customer_key, c.account or "", c.reason))
        return Plan(
            owner=self.desired.owner,
            mode=self.desired.mode.value,
            actions=tuple(actions),
            conflicts=tuple(conflicts),
            warnings=tuple(self.warnings),
            copies_held=self._copies_held(),
            safety=self.desired.safety,
            accounts={
                alias: account for alias, account in sorted(self.desired.accounts.items()) if alias in self.scope
            },
        )

    def _copies_held(self) -> dict[str, int]:
        return {
            alias: len(self.index.get(self.desired.accounts[alias], self.unobserved).ours)
            for alias in sorted(self.scope & self.desired.accounts.keys())
        }


def _keeper_first(copy: Customer) -> tuple[bool, int, str]:
    """Which of a pair's copies is kept: one that holds a card, then the oldest."""
    has_card = bool(copy.default_source or copy.default_payment_method)
    return (not has_card, copy.created, copy.id)


def _platform_source(platform: Customer | None, strategy: Strategy) -> str | None:
    """What a copy is made from: the default source, or for payment_method the default PaymentMethod.

    A card source is also a PaymentMethod to Stripe (its card_ id works where a pm_ id does), so a
    customer whose only card is its default source can still be shared by cloning.
    """
    if platform is None:
        return None
    if strategy is Strategy.PAYMENT_METHOD:
        return platform.default_payment_method or platform.default_source
    return platform.default_source


def _rotation(copy: Customer, source: str | Unknown, strategy: Strategy) -> tuple[FieldChange, ...]:
    """A rotation's changes: the source it records, and for clones the PaymentMethod it replaces.

    Moving a token copy to payment_method also deletes the card the token made (``default_source``),
    once the clone is the default: the copy keeps its id and ends with one card, as before.
    """
    changes = []
    if copy.source != source:
        changes.append(FieldChange(MetadataKey(SOURCE_KEY), copy.source, source))
    if strategy is Strategy.PAYMENT_METHOD:
        # The old clone is detached once the new one is the default: the seller keeps one card, as with tokens.
        changes.append(FieldChange(DEFAULT_PAYMENT_METHOD, copy.default_payment_method, UNKNOWN))
        if copy.default_source:
            changes.append(FieldChange(DEFAULT_SOURCE, copy.default_source, None))
    return tuple(sorted(changes, key=lambda change: change.field))


def _token_copy(copy: Customer, strategy: Strategy) -> bool:
    """A copy made from a customer token (a card source, no PaymentMethod) of a payment_method customer."""
    return strategy is Strategy.PAYMENT_METHOD and copy.default_payment_method is None


def _copy_details(spec: CustomerSpec, share: ShareSpec) -> Details:
    """The details a copy should carry: the account's, over the customer's."""
    return share.overrides.details.over(spec.fields.details)


def _leaves(details: Details) -> FlatFields:
    """Every leaf of the declared details."""
    leaves: FlatFields = {}
    for detail in details.declared():
        leaves.update(details.leaves(detail))
    return leaves


def _differing(live: Details, wanted: Details) -> tuple[FlatFields, FlatFields]:
    """Leaf by leaf, live and wanted, of the declared details whose values differ (compared whole first)."""
    live_leaves: FlatFields = {}
    wanted_leaves: FlatFields = {}
    for detail in wanted.declared():
        if not live.same(wanted, detail):
            live_leaves.update(live.leaves(detail))
            wanted_leaves.update(wanted.leaves(detail))
    return live_leaves, wanted_leaves


def _kept(changes: tuple[FieldChange, ...], wanted: Mapping[FieldPath, Value | None]) -> tuple[KeptValue, ...]:
    """The set parts of each address or shipping that changes, which the update sends again unchanged."""
    changed = {c.path for c in changes}
    touched = {c.path.detail for c in changes if isinstance(c.path, DetailField)} & set(WHOLE_OBJECTS)
    kept = []
    for detail in sorted(touched):
        for leaf in DETAIL_LEAVES[detail]:
            value = wanted.get(leaf)
            if leaf not in changed and value is not None:
                kept.append(KeptValue(leaf, value))
    return tuple(kept)


def _set(fields: Mapping[FieldPath, Value | None]) -> dict[FieldPath, Value]:
    """The fields that have a value (what a new customer is created with)."""
    return {path: value for path, value in fields.items() if value is not None}


def _user_metadata(customer: Customer) -> dict[str, str]:
    return {k: v for k, v in customer.metadata.items() if k not in OWNERSHIP_KEYS}


def _flatten_declared(spec: CustomerSpec) -> FlatFields:
    """The fields the file declares for the platform customer, each metadata key its own."""
    flat: FlatFields = {p: spec.fields.get(p.name) for p in FIELD_PATHS if spec.fields.get(p.name) is not None}
    flat.update(metadata_paths(spec.fields.metadata or {}))
    return flat


def _flatten(customer: Customer, *, declared_metadata: bool) -> FlatFields:
    """A live customer's fields; its user metadata only when the file manages it."""
    return {
        path: value
        for path, value in customer.flat().items()
        if path in FIELD_PATHS or (isinstance(path, MetadataKey) and (declared_metadata or is_ownership(path)))
    }


def _ignoring(
    ignored: frozenset[str], wanted: Mapping[FieldPath, Value | None], live: Mapping[FieldPath, Value | None]
) -> FlatFields:
    """``wanted``, with ignored fields held at their live value; metadata keys absent from
    ``wanted`` but present in ``live`` are removed (``None``) unless ignored."""
    result: FlatFields = dict(wanted)
    for path in live:
        if isinstance(path, MetadataKey) and path not in wanted and not is_ownership(path):
            result[path] = None
    for path in list(result):
        if _ignored(path, ignored):
            if path in live:
                result[path] = live[path]
            else:
                del result[path]
    return result


def _ignored(path: FieldPath, ignored: frozenset[str]) -> bool:
    """Whether ``ignore_changes`` names it, as the file spells entries: phone, metadata, metadata.tier,
    and for details the leaf or any part above it (address.line2, shipping.address, address)."""
    if not ignored:
        return False
    if path.text in ignored:
        return True
    if isinstance(path, DetailField):
        return any(".".join(path.parts[:end]) in ignored for end in range(1, len(path.parts)))
    return isinstance(path, MetadataKey) and "metadata" in ignored and not is_ownership(path)
