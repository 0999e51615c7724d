"""Is a saved plan still true? Each action's precondition, checked against a fresh snapshot.

`apply PLAN.json` runs a plan made earlier (reviewed in a pull request, say). Between the two,
someone may have edited a copy, another run may have applied part of it, a copy may be gone.
Every action states what it expects to find (``changes[…][0]`` is the value it expects now);
one that no longer holds makes the whole plan stale, and nothing is applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import assert_never

from reconcile.actions import (
    Action,
    Adopt,
    AttachSource,
    CreateCustomer,
    RotateSource,
    Share,
    Unknown,
    Unshare,
    UpdateCustomer,
    UpdateShare,
)
from reconcile.model import Customer, ObservedState, Value, value_to_json
from reconcile.plan import Plan


def stale_actions(plan: Plan, observed: ObservedState) -> list[str]:
    """One line per action whose precondition no longer holds; empty when the plan can be applied."""
    check = _Checker(plan, observed)
    return [f"{action.id}: {reason}" for action in plan.actions for reason in check(action)]


class _Checker:
    def __init__(self, plan: Plan, observed: ObservedState) -> None:
        self.owner = plan.owner
        self.platform = {c.id: c for c in observed.platform}
        self.accounts = {account: {c.id: c for c in copies} for account, copies in observed.accounts.items()}

    def __call__(self, action: Action) -> Iterator[str]:
        match action:
            case CreateCustomer():
                made = [c.id for c in self.platform.values() if self._ours(c, action)]
                if made:
                    yield f"a platform customer now exists for it ({', '.join(made)})"
            case UpdateCustomer():
                yield from self._unchanged(self.platform.get(action.platform_customer), action, "platform customer")
            case AttachSource():
                if isinstance(action.platform_customer, Unknown):
                    return  # created by this plan: nothing to find yet
                customer = self.platform.get(action.platform_customer)
                if customer is None:
                    yield f"platform customer {action.platform_customer} is gone"
                elif customer.default_source:
                    yield (
                        f"platform customer {action.platform_customer} has a default source now "
                        f"({customer.default_source})"
                    )
            case Share():
                copies = self._copies(action).values()
                made = [c.id for c in copies if self._ours(c, action) and _same_platform(c, action)]
                if made:
                    yield f"a copy now exists on the account ({', '.join(made)})"
            case UpdateShare() | RotateSource() | Adopt():
                yield from self._unchanged(self._copies(action).get(action.copy), action, "copy")
            case Unshare():
                if action.copy not in self._copies(action):
                    yield f"copy {action.copy} is already gone"
            case _:
                assert_never(action)

    def _ours(self, customer: Customer, action: Action) -> bool:
        return customer.owner == self.owner and customer.key == action.customer_key

    def _copies(self, action: Share | UpdateShare | RotateSource | Unshare | Adopt) -> dict[str, Customer]:
        return self.accounts.get(action.account_id, {})

    def _unchanged(
        self, customer: Customer | None, action: UpdateCustomer | UpdateShare | RotateSource | Adopt, what: str
    ) -> Iterator[str]:
        """The object exists and still holds every value the action expects to change from."""
        if customer is None:
            yield f"{what} {action.object_id} is gone"
            return
        live = customer.flat()
        for change in action.changes:
            now = live.get(change.path)
            if now != change.before:
                yield f"{change.field} is now {_shown(now)}, the plan expected {_shown(change.before)}"
        # An update sends an address's unchanged parts again: one edited since would be overwritten.
        for kept in action.kept:
            now = live.get(kept.path)
            if now != kept.value:
                yield f"{kept.field} is now {_shown(now)}, the plan expected {_shown(kept.value)}"


def _same_platform(copy: Customer, action: Share) -> bool:
    return isinstance(action.platform_customer, Unknown) or copy.platform_customer == action.platform_customer


def _shown(value: Value | None) -> str:
    return "unset" if value is None else json.dumps(value_to_json(value), ensure_ascii=False)
