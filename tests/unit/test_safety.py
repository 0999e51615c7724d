"""Safety, after octoDNS: changing over 30 % of an account's copies (10 or more) needs --force."""

from __future__ import annotations

import pytest

from reconcile.errors import UnsafePlanError
from reconcile.model import DesiredState, ObservedState
from reconcile.plan import Plan
from reconcile.planner import plan
from tests.builders import copy, desired, observed, platform, spec


def world(copies: int, drifted: int) -> tuple[DesiredState, ObservedState]:
    """``copies`` customers shared with bookshop, ``drifted`` of whose copies have a stale e-mail."""
    customers = [spec(f"c{i:02}", email=f"c{i}@example.com") for i in range(copies)]
    platforms = [platform(f"cus_P{i:02}", f"c{i:02}", email=f"c{i}@example.com") for i in range(copies)]
    held = tuple(
        copy(
            f"cus_B{i:02}",
            f"c{i:02}",
            of=f"cus_P{i:02}",
            email="old@example.com" if i < drifted else f"c{i}@example.com",
        )
        for i in range(copies)
    )
    return desired(*customers), observed(*platforms, bookshop=held)


def test_updating_over_30_percent_of_an_accounts_copies_is_unsafe() -> None:
    result = plan(*world(copies=10, drifted=4))
    assert result.copies_held == {"bookshop": 10, "coffee": 0}
    assert result.unsafe == (
        "would update or unshare 4 of the 10 copies on 'bookshop' "
        "(40%; the limit is 30% on accounts with 10 or more copies)",
    )
    with pytest.raises(UnsafePlanError, match=r"4 of the 10 copies on 'bookshop'.*--force"):
        result.check_safety()


def test_30_percent_exactly_is_safe() -> None:
    result = plan(*world(copies=10, drifted=3))
    assert result.unsafe == ()
    result.check_safety()


def test_small_accounts_are_never_unsafe() -> None:
    result = plan(*world(copies=9, drifted=9))
    assert len(result.actions) == 9
    assert result.unsafe == ()


def test_unshares_count_towards_the_threshold() -> None:
    wanted, seen = world(copies=10, drifted=0)
    fewer = desired(*wanted.customers[:6])
    result = plan(fewer, seen, prune=True)
    assert [a.kind.value for a in result.actions] == ["unshare"] * 4
    assert "4 of the 10 copies on 'bookshop'" in result.unsafe[0]


def test_the_safety_verdict_survives_the_plan_file() -> None:
    result = plan(*world(copies=10, drifted=4))
    assert Plan.from_json(result.to_json()).unsafe == result.unsafe
