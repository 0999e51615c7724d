"""Preconditions of a saved plan, from snapshots: what each action expects to find."""

from __future__ import annotations

from reconcile.planner import plan
from reconcile.preconditions import stale_actions
from tests.builders import copy, desired, observed, platform, spec


def test_fresh_plan_is_never_stale() -> None:
    world = observed(platform("cus_PlatformAlice00", "alice", email="old@example.com"))
    fresh = plan(desired(spec("alice", email="alice@example.com")), world)
    assert fresh.actions
    assert stale_actions(fresh, world) == []


def test_update_is_stale_when_the_value_it_changes_from_moved() -> None:
    before = observed(platform("cus_PlatformAlice00", "alice", email="old@example.com"))
    saved = plan(desired(spec("alice", email="alice@example.com", shares=())), before)
    after = observed(platform("cus_PlatformAlice00", "alice", email="other@example.com"))
    assert stale_actions(saved, after) == [
        'update_customer:alice: email is now "other@example.com", the plan expected "old@example.com"'
    ]


def test_unshare_is_stale_once_the_copy_is_gone() -> None:
    alice = platform("cus_PlatformAlice00", "alice")
    orphan = copy("cus_BookshopAlice00", "alice", of="cus_PlatformAlice00")
    saved = plan(desired(spec("alice", shares=())), observed(alice, bookshop=(orphan,)), prune=True)
    assert [a.kind.value for a in saved.actions] == ["unshare"]
    assert stale_actions(saved, observed(alice)) == [
        "unshare:alice@bookshop#cus_BookshopAlice00: copy cus_BookshopAlice00 is already gone"
    ]


def test_attach_is_stale_once_a_source_was_attached() -> None:
    bare = platform("cus_PlatformAlice00", "alice", default_source=None)
    saved = plan(desired(spec("alice", shares=())), observed(bare))
    carded = platform("cus_PlatformAlice00", "alice", default_source="card_1New")
    assert stale_actions(saved, observed(carded)) == [
        "attach_source:alice: platform customer cus_PlatformAlice00 has a default source now (card_1New)"
    ]
