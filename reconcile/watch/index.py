"""Which live customers the file manages, by id: decides from an event alone whether it is ours.

Built from each full observation and kept up to date from events and from what ``watch`` applies, so an
event for a customer the file does not manage is dropped without an API call, and the customers a
managed one touches are read again by id instead of by listing whole accounts. Besides our platform
customers and copies, a key's places include customers of other owners that name its platform customer
(``reconcile_platform_customer``): the planner reports those as conflicts, and a narrowed plan must see them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from reconcile.actions import CreateCustomer, Share, Unshare
from reconcile.model import KEY_KEY, OWNER_KEY, PLATFORM_CUSTOMER_KEY, Customer, DesiredState, ObservedState
from reconcile.report import ActionResult, Outcome
from reconcile.watch.events import Touch

Place = tuple[str | None, str]  # (account id, None for the platform; customer id)


class ManagedIndex:
    """Customer key -> the platform customers and copies carrying it, and the reverse (not thread-safe)."""

    def __init__(self, owner: str, accounts: Mapping[str, str]) -> None:
        self.owner = owner
        self.accounts = dict(accounts)  # alias -> acct_ id: the accounts the run covers
        self._key_of: dict[Place, str] = {}
        self._places: dict[str, set[Place]] = defaultdict(set)
        self._owned: set[Place] = set()  # the places that are ours (not another owner's copy)

    @classmethod
    def observed(cls, desired: DesiredState, observed: ObservedState, accounts: Mapping[str, str]) -> ManagedIndex:
        """The index of one full observation (``session.observe_for``)."""
        index = cls(desired.owner, accounts)
        adopted = {spec.id: spec.key for spec in desired.customers if spec.id}
        for customer in observed.platform:
            key = adopted.get(customer.id) or index._ours(customer.metadata)
            if key:
                index.add((None, customer.id), key)
        covered = set(accounts.values())
        for account, customers in observed.accounts.items():
            if account not in covered:
                continue
            for customer in customers:
                key = index._copy_of(customer.metadata)
                if key:
                    index.add((account, customer.id), key, ours=index._ours(customer.metadata) == key)
        return index

    # -- what an event touches ---------------------------------------------------------------------

    def key_of(self, touch: Touch) -> str | None:
        """The customer key an event touches, or None when it is about nothing the file manages."""
        if touch.customer is None or (touch.account is not None and touch.account not in self.accounts.values()):
            return None
        known = self._key_of.get((touch.account, touch.customer))
        if known is not None:
            return known
        # Not seen yet (made by a concurrent apply, say): ours if it carries our ownership metadata.
        metadata = touch.metadata or {}
        return self._ours(metadata) if touch.account is None else self._copy_of(metadata)

    def learn(self, touch: Touch, key: str) -> None:
        """Keep what an event about a managed customer tells: a new copy, or one that is gone."""
        assert touch.customer is not None
        place = (touch.account, touch.customer)
        if touch.deleted:
            self.forget(place)
        elif touch.metadata is not None and key == self._copy_of(touch.metadata):
            self.add(place, key, ours=self._ours(touch.metadata) == key)

    def learn_applied(self, results: Iterable[ActionResult]) -> None:
        """Keep the customers an apply made or removed."""
        for result in results:
            if result.outcome is not Outcome.DONE or result.object_id is None:
                continue
            action = result.action
            if isinstance(action, CreateCustomer):
                self.add((None, result.object_id), action.customer_key)
            elif isinstance(action, Share):
                self.add((action.account_id, result.object_id), action.customer_key)
            elif isinstance(action, Unshare):
                self.forget((action.account_id, action.copy))

    def learn_read(self, key: str, read: Mapping[Place, Customer | None]) -> None:
        """Keep what reading a key's customers again found: one that is gone, or no longer carries the key."""
        for place, customer in read.items():
            if place[0] is None:
                if customer is None:
                    self.forget(place)
                elif place not in self._key_of:
                    self.add(place, key)  # named by a copy of ours
            elif customer is None or self._copy_of(customer.metadata) != key:
                self.forget(place)
            else:
                self.add(place, key, ours=self._ours(customer.metadata) == key)

    # -- what a narrowed plan reads ----------------------------------------------------------------

    def places(self, key: str) -> set[Place]:
        return set(self._places.get(key, ()))

    def copies_held(self) -> dict[str, int]:
        """Copies per account alias, for the safety rule (a narrowed plan sees only its own copies)."""
        held: dict[str, int] = dict.fromkeys(self.accounts, 0)
        alias_of = {account: alias for alias, account in self.accounts.items()}
        for account, _customer in self._owned:
            if account is not None and account in alias_of:
                held[alias_of[account]] += 1
        return held

    def add(self, place: Place, key: str, *, ours: bool = True) -> None:
        old = self._key_of.get(place)
        if old is not None and old != key:
            self._places[old].discard(place)
        self._key_of[place] = key
        self._places[key].add(place)
        if ours:
            self._owned.add(place)
        else:
            self._owned.discard(place)

    def forget(self, place: Place) -> None:
        key = self._key_of.pop(place, None)
        if key is not None:
            self._places[key].discard(place)
        self._owned.discard(place)

    def _copy_of(self, metadata: Mapping[str, str]) -> str | None:
        """The key of a customer on an account: ours by its ownership metadata, or another owner's copy of
        a platform customer of ours."""
        ours = self._ours(metadata)
        if ours is not None:
            return ours
        platform = metadata.get(PLATFORM_CUSTOMER_KEY)
        return self._key_of.get((None, platform)) if platform else None

    def _ours(self, metadata: Mapping[str, str]) -> str | None:
        return metadata.get(KEY_KEY) if metadata.get(OWNER_KEY) == self.owner else None
