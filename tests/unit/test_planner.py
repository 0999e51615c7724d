"""Planner unit tests: two snapshots in (desired, observed), actions out; no HTTP."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from reconcile.actions import UNKNOWN, Action, ActionKind, Unshare
from reconcile.model import (
    Fields,
    ObservedState,
    Strategy,
    frozen_map,
)
from reconcile.plan import Plan
from reconcile.planner import plan
from tests.builders import (
    BOOKSHOP_ID,
    CARD,
    COFFEE_ID,
    OWNER,
    change,
    copy,
    desired,
    live,
    observed,
    platform,
    spec,
)


def summary(result: Plan) -> list[str]:
    """Each action as ``kind:key@alias``, in plan order (an unshare's id also names its copy)."""
    return [a.id.split("#")[0] for a in result.actions]


def only(result: Plan, kind: ActionKind) -> Action:
    found = [a for a in result.actions if a.kind is kind]
    assert len(found) == 1, summary(result)
    return found[0]


def changes(action: Action) -> dict[str, tuple[str | None, str | None]]:
    return {c.field: (c.before, c.after) for c in action.changes}


# A converged world: alice declared on both accounts, her platform customer and two copies in place.
ALICE = spec(
    "alice",
    shares=("bookshop", "coffee"),
    email="alice@example.com",
    name="Alice Liddell",
    phone="+15555550100",
    metadata={"tier": "gold"},
)
ALICE_FIELDS: dict[str, str] = {
    "email": "alice@example.com",
    "name": "Alice Liddell",
    "phone": "+15555550100",
}
ALICE_PLATFORM = platform("cus_PlatformAlice00", "alice", metadata={"tier": "gold"}, **ALICE_FIELDS)
ALICE_BOOKSHOP = copy(
    "cus_BookshopAlice00", "alice", of="cus_PlatformAlice00", metadata={"tier": "gold"}, **ALICE_FIELDS
)
ALICE_COFFEE = copy("cus_CoffeeAlice0000", "alice", of="cus_PlatformAlice00", metadata={"tier": "gold"}, **ALICE_FIELDS)
CONVERGED = observed(ALICE_PLATFORM, bookshop=(ALICE_BOOKSHOP,), coffee=(ALICE_COFFEE,))


# -- converged state and determinism -------------------------------------------------------------


def test_converged_state_gives_an_empty_plan() -> None:
    result = plan(desired(ALICE), CONVERGED, prune=True)
    assert result.actions == ()
    assert result.conflicts == ()
    assert result.warnings == ()
    assert not result.has_changes


def test_same_inputs_in_any_order_give_the_same_plan_and_digest() -> None:
    bob = spec("bob", shares=("coffee", "bookshop"), email="bob@example.com")
    carol = spec("carol", shares=("bookshop",), name="Carol")
    stale = copy("cus_BookshopStale00", "dave", of="cus_PlatformDave000")
    drifted = copy("cus_CoffeeAlice0000", "alice", of="cus_PlatformAlice00", email="old@example.com")
    world = observed(ALICE_PLATFORM, bookshop=(ALICE_BOOKSHOP, stale), coffee=(drifted,))
    first = plan(desired(ALICE, bob, carol), world, prune=True)

    shuffler = random.Random(7)
    for _ in range(5):
        customers = [ALICE, bob, carol]
        shuffler.shuffle(customers)
        books = [ALICE_BOOKSHOP, stale]
        shuffler.shuffle(books)
        again = plan(
            desired(*customers),
            observed(ALICE_PLATFORM, bookshop=tuple(books), coffee=(drifted,)),
            prune=True,
        )
        assert again.digest == first.digest
        assert again.to_json() == first.to_json()


def test_digest_changes_when_an_action_changes() -> None:
    one = plan(desired(spec("alice", email="a@example.com")), observed())
    other = plan(desired(spec("alice", email="b@example.com")), observed())
    assert one.digest != other.digest


# -- create_customer -----------------------------------------------------------------------------


def test_missing_platform_customer_is_created_with_declared_fields_and_ownership() -> None:
    result = plan(
        desired(spec("alice", email="alice@example.com", name="Alice", metadata={"tier": "gold"})), observed()
    )
    create = only(result, ActionKind.CREATE_CUSTOMER)
    assert create.account is None
    assert create.object_id is None
    assert changes(create) == {
        "email": (None, "alice@example.com"),
        "metadata.reconcile_key": (None, "alice"),
        "metadata.reconcile_owner": (None, OWNER),
        "metadata.tier": (None, "gold"),
        "name": (None, "Alice"),
    }


def test_created_customer_sets_only_declared_fields() -> None:
    create = only(plan(desired(spec("alice", name="Alice")), observed()), ActionKind.CREATE_CUSTOMER)
    assert set(changes(create)) == {"name", "metadata.reconcile_key", "metadata.reconcile_owner"}


def test_platform_customer_of_another_owner_is_not_ours_to_reuse() -> None:
    # Observing keeps only platform customers that are ours or adopted; one carrying another owner is ignored.
    theirs = platform("cus_PlatformTheirs0", "alice", owner="someone-else")
    result = plan(desired(spec("alice")), observed(theirs))
    assert summary(result)[:1] == ["create_customer:alice"]


# -- update_customer -----------------------------------------------------------------------------


def test_drifted_platform_field_is_updated() -> None:
    drifted = platform(
        "cus_PlatformAlice00",
        "alice",
        metadata={"tier": "gold"},
        **{**ALICE_FIELDS, "email": "old@example.com"},
    )
    result = plan(desired(ALICE), observed(drifted, bookshop=(ALICE_BOOKSHOP,), coffee=(ALICE_COFFEE,)))
    update = only(result, ActionKind.UPDATE_CUSTOMER)
    assert update.object_id == update.platform_customer == "cus_PlatformAlice00"
    assert update.changes == (change("email", "old@example.com", "alice@example.com"),)
    assert summary(result) == ["update_customer:alice"]


def test_platform_metadata_key_no_longer_declared_is_removed() -> None:
    extra = platform("cus_PlatformAlice00", "alice", metadata={"tier": "gold", "legacy": "1"}, **ALICE_FIELDS)
    result = plan(desired(ALICE), observed(extra, bookshop=(ALICE_BOOKSHOP,), coffee=(ALICE_COFFEE,)))
    assert only(result, ActionKind.UPDATE_CUSTOMER).changes == (change("metadata.legacy", "1", None),)


def test_platform_metadata_is_left_alone_when_the_file_declares_no_metadata() -> None:
    noted = platform("cus_PlatformAlice00", "alice", metadata={"crm": "42"}, name="Alice")
    result = plan(desired(spec("alice", name="Alice", shares=())), observed(noted))
    assert result.actions == ()


def test_platform_field_left_out_of_the_file_is_never_changed() -> None:
    with_phone = platform("cus_PlatformAlice00", "alice", name="Alice", phone="+15555550199")
    result = plan(desired(spec("alice", name="Alice", shares=())), observed(with_phone))
    assert result.actions == ()


def test_ignored_platform_field_is_not_updated() -> None:
    drifted = platform("cus_PlatformAlice00", "alice", name="Alice", phone="+15555550199")
    declared = spec("alice", name="Alice", phone="+15555550100", shares=(), ignore_changes=("phone",))
    assert plan(desired(declared), observed(drifted)).actions == ()


def test_ignored_metadata_key_is_neither_updated_nor_removed() -> None:
    drifted = platform("cus_PlatformAlice00", "alice", metadata={"tier": "gold", "loyalty": "B-2"})
    declared = spec(
        "alice", metadata={"tier": "gold", "loyalty": "A-1"}, shares=(), ignore_changes=("metadata.loyalty",)
    )
    assert plan(desired(declared), observed(drifted)).actions == ()
    undeclared = spec("alice", metadata={"tier": "gold"}, shares=(), ignore_changes=("metadata.loyalty",))
    assert plan(desired(undeclared), observed(drifted)).actions == ()


def test_ignored_metadata_covers_every_user_key_but_not_ownership() -> None:
    unowned = live("cus_PlatformBob0000", metadata={"tier": "silver", "crm": "9"}, default_source=CARD)
    declared = spec("bob", id="cus_PlatformBob0000", metadata={"tier": "gold"}, shares=(), ignore_changes=("metadata",))
    update = only(plan(desired(declared), observed(unowned)), ActionKind.UPDATE_CUSTOMER)
    assert changes(update) == {
        "metadata.reconcile_key": (None, "bob"),
        "metadata.reconcile_owner": (None, OWNER),
    }


# -- adoption by id: -----------------------------------------------------------------------------


def test_adopted_customer_gets_ownership_keys_through_update_customer() -> None:
    unowned = live("cus_PlatformBob0000", metadata={"crm": "9"}, email="bob@example.com", default_source=CARD)
    result = plan(desired(spec("bob", id="cus_PlatformBob0000", shares=())), observed(unowned))
    assert summary(result) == ["update_customer:bob"]
    update = result.actions[0]
    assert update.object_id == "cus_PlatformBob0000"
    assert changes(update) == {
        "metadata.reconcile_key": (None, "bob"),
        "metadata.reconcile_owner": (None, OWNER),
    }


def test_adopted_customer_fields_left_out_are_taken_as_they_are() -> None:
    unowned = live(
        "cus_PlatformBob0000",
        metadata={"crm": "9"},
        email="bob@example.com",
        name="Bob",
        phone="+15555550111",
        default_source=CARD,
    )
    result = plan(desired(spec("bob", id="cus_PlatformBob0000", name="Robert")), observed(unowned))
    update = only(result, ActionKind.UPDATE_CUSTOMER)
    assert set(changes(update)) == {"name", "metadata.reconcile_key", "metadata.reconcile_owner"}
    # The copy carries what the platform customer has for every field the file leaves out.
    share = only(result, ActionKind.SHARE)
    assert changes(share)["email"] == (None, "bob@example.com")
    assert changes(share)["phone"] == (None, "+15555550111")
    assert changes(share)["metadata.crm"] == (None, "9")
    assert changes(share)["name"] == (None, "Robert")


def test_adopted_and_owned_customer_that_matches_plans_nothing() -> None:
    adopted = platform("cus_PlatformBob0000", "bob", name="Bob", email="bob@example.com")
    assert plan(desired(spec("bob", id="cus_PlatformBob0000", shares=())), observed(adopted)).actions == ()


def test_platform_customer_adopted_by_another_key_is_not_found_by_its_old_key() -> None:
    renamed = platform("cus_PlatformBob0000", "robert", email="x@example.com")
    result = plan(
        desired(
            spec("bob", id="cus_PlatformBob0000", email="bob@example.com", shares=()),
            spec("robert", email="robert@example.com", shares=()),
        ),
        observed(renamed),
    )
    assert summary(result) == ["update_customer:bob", "create_customer:robert", "attach_source:robert"]
    assert changes(result.actions[0])["metadata.reconcile_key"] == ("robert", "bob")


def test_adopted_customer_keeps_its_own_payment_source() -> None:
    adopted = platform("cus_PlatformBob0000", "bob", default_source="card_1PlatformBob00001")
    result = plan(desired(spec("bob", id="cus_PlatformBob0000", payment_source=None)), observed(adopted))
    share = only(result, ActionKind.SHARE)
    assert share.source == "card_1PlatformBob00001"
    assert ActionKind.ATTACH_SOURCE not in {a.kind for a in result.actions}


# -- attach_source -------------------------------------------------------------------------------


def test_payment_source_is_attached_after_the_customer_is_created() -> None:
    result = plan(desired(spec("alice", shares=())), observed())
    assert summary(result) == ["create_customer:alice", "attach_source:alice"]
    attach = result.actions[1]
    assert attach.source == "tok_visa"
    assert attach.platform_customer is UNKNOWN
    assert attach.after == ("create_customer:alice",)


def test_payment_source_is_attached_when_the_platform_customer_has_none() -> None:
    bare = platform("cus_PlatformAlice00", "alice", default_source=None)
    result = plan(desired(spec("alice", shares=())), observed(bare))
    attach = only(result, ActionKind.ATTACH_SOURCE)
    assert attach.object_id == attach.platform_customer == "cus_PlatformAlice00"
    assert attach.after == ()


def test_payment_source_is_not_attached_over_an_existing_default() -> None:
    result = plan(desired(spec("alice", shares=())), observed(platform("cus_PlatformAlice00", "alice")))
    assert result.actions == ()


# -- share ---------------------------------------------------------------------------------------


def test_declared_pair_without_a_copy_is_shared_with_ownership_metadata() -> None:
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, coffee=(ALICE_COFFEE,)))
    share = only(result, ActionKind.SHARE)
    assert (share.account, share.account_id) == ("bookshop", BOOKSHOP_ID)
    assert share.platform_customer == "cus_PlatformAlice00"
    assert share.source == CARD
    assert share.strategy == "token"
    assert share.after == ()
    assert changes(share) == {
        "email": (None, "alice@example.com"),
        "metadata.reconcile_key": (None, "alice"),
        "metadata.reconcile_owner": (None, OWNER),
        "metadata.reconcile_platform_customer": (None, "cus_PlatformAlice00"),
        "metadata.reconcile_source": (None, CARD),
        "metadata.tier": (None, "gold"),
        "name": (None, "Alice Liddell"),
        "phone": (None, "+15555550100"),
    }


def test_share_of_a_new_customer_waits_for_it_and_is_known_after_apply() -> None:
    result = plan(desired(ALICE), observed())
    assert summary(result) == [
        "create_customer:alice",
        "attach_source:alice",
        "share:alice@bookshop",
        "share:alice@coffee",
    ]
    for share in result.actions[2:]:
        assert share.after == ("create_customer:alice", "attach_source:alice")
        assert share.platform_customer is UNKNOWN
        assert share.source is UNKNOWN
        assert changes(share)["metadata.reconcile_platform_customer"] == (None, UNKNOWN)
        assert changes(share)["metadata.reconcile_source"] == (None, UNKNOWN)


def test_share_of_an_existing_customer_waits_for_a_source_attached_in_the_same_plan() -> None:
    bare = platform("cus_PlatformAlice00", "alice", default_source=None)
    share = only(plan(desired(spec("alice")), observed(bare)), ActionKind.SHARE)
    assert share.after == ("attach_source:alice",)
    assert share.platform_customer == "cus_PlatformAlice00"
    assert changes(share)["metadata.reconcile_source"] == (None, UNKNOWN)


def test_share_carries_per_account_overrides() -> None:
    coffee = (
        "coffee",
        Fields(
            description="Coffee club member",
            email="club@example.com",
            metadata=frozen_map({"loyalty": "A-17"}),
        ),
    )
    declared = spec(
        "alice",
        email="alice@example.com",
        description="Shared",
        metadata={"tier": "gold"},
        shares=("bookshop", coffee),
    )
    result = plan(
        desired(declared),
        observed(
            platform(
                "cus_PlatformAlice00",
                "alice",
                email="alice@example.com",
                description="Shared",
                metadata={"tier": "gold"},
            )
        ),
    )
    by_account = {a.account: changes(a) for a in result.actions if a.kind is ActionKind.SHARE}
    assert by_account["bookshop"]["description"] == (None, "Shared")
    assert by_account["bookshop"]["email"] == (None, "alice@example.com")
    assert "metadata.loyalty" not in by_account["bookshop"]
    assert by_account["coffee"]["description"] == (None, "Coffee club member")
    assert by_account["coffee"]["email"] == (None, "club@example.com")
    assert by_account["coffee"]["metadata.loyalty"] == (None, "A-17")
    assert by_account["coffee"]["metadata.tier"] == (None, "gold")


def test_share_with_payment_method_strategy_clones_the_default_payment_method() -> None:
    with_pm = platform("cus_PlatformAlice00", "alice", default_payment_method="pm_1PlatformAlice000")
    declared = spec("alice", strategy=Strategy.PAYMENT_METHOD)
    share = only(plan(desired(declared), observed(with_pm)), ActionKind.SHARE)
    assert share.strategy == "payment_method"
    assert share.source == "pm_1PlatformAlice000"


# -- update_share --------------------------------------------------------------------------------


def test_drifted_copy_is_updated() -> None:
    drifted = copy(
        "cus_BookshopAlice00",
        "alice",
        of="cus_PlatformAlice00",
        metadata={"tier": "gold"},
        **{**ALICE_FIELDS, "name": "A. Liddell"},
    )
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(drifted,), coffee=(ALICE_COFFEE,)))
    assert summary(result) == ["update_share:alice@bookshop"]
    update = result.actions[0]
    assert (update.account_id, update.object_id, update.platform_customer) == (
        BOOKSHOP_ID,
        "cus_BookshopAlice00",
        "cus_PlatformAlice00",
    )
    assert update.changes == (change("name", "A. Liddell", "Alice Liddell"),)


def test_copy_metadata_key_not_declared_is_removed_and_ownership_kept() -> None:
    extra = copy(
        "cus_BookshopAlice00",
        "alice",
        of="cus_PlatformAlice00",
        metadata={"tier": "gold", "note": "x"},
        **ALICE_FIELDS,
    )
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(extra,), coffee=(ALICE_COFFEE,)))
    assert only(result, ActionKind.UPDATE_SHARE).changes == (change("metadata.note", "x", None),)


def test_copy_follows_the_platform_for_fields_the_file_leaves_out() -> None:
    adopted = platform("cus_PlatformBob0000", "bob", phone="+15555550111")
    stale = copy("cus_BookshopBob0000", "bob", of="cus_PlatformBob0000", phone="+15555550000")
    result = plan(desired(spec("bob", id="cus_PlatformBob0000")), observed(adopted, bookshop=(stale,)))
    assert only(result, ActionKind.UPDATE_SHARE).changes == (change("phone", "+15555550000", "+15555550111"),)


def test_drifted_per_account_override_is_updated() -> None:
    coffee = ("coffee", Fields(description="Coffee club member"))
    declared = spec("alice", description="Shared", shares=(coffee,))
    adopted = platform("cus_PlatformAlice00", "alice", description="Shared")
    stale = copy("cus_CoffeeAlice0000", "alice", of="cus_PlatformAlice00", description="Shared")
    update = only(plan(desired(declared), observed(adopted, coffee=(stale,))), ActionKind.UPDATE_SHARE)
    assert update.changes == (change("description", "Shared", "Coffee club member"),)


def test_ignored_field_drift_on_a_copy_is_not_updated() -> None:
    drifted = copy(
        "cus_BookshopAlice00",
        "alice",
        of="cus_PlatformAlice00",
        metadata={"tier": "gold", "loyalty": "Z"},
        **{**ALICE_FIELDS, "phone": "+15555550999"},
    )
    declared = spec(
        "alice",
        shares=("bookshop", "coffee"),
        ignore_changes=("phone", "metadata.loyalty"),
        **ALICE_FIELDS,
        metadata={"tier": "gold"},
    )
    result = plan(desired(declared), observed(ALICE_PLATFORM, bookshop=(drifted,), coffee=(ALICE_COFFEE,)))
    assert result.actions == ()


def test_ignored_metadata_on_a_copy_keeps_its_user_keys() -> None:
    drifted = copy(
        "cus_BookshopAlice00",
        "alice",
        of="cus_PlatformAlice00",
        metadata={"tier": "bronze", "note": "x"},
        **ALICE_FIELDS,
    )
    declared = spec(
        "alice", shares=("bookshop", "coffee"), ignore_changes=("metadata",), **ALICE_FIELDS, metadata={"tier": "gold"}
    )
    result = plan(desired(declared), observed(ALICE_PLATFORM, bookshop=(drifted,), coffee=(ALICE_COFFEE,)))
    assert result.actions == ()


# -- rotate_source -------------------------------------------------------------------------------


def test_copy_made_from_an_old_platform_source_is_rotated() -> None:
    old = copy(
        "cus_BookshopAlice00",
        "alice",
        of="cus_PlatformAlice00",
        source="card_1OldCard00000000",
        metadata={"tier": "gold"},
        **ALICE_FIELDS,
    )
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(old,), coffee=(ALICE_COFFEE,)))
    rotate = only(result, ActionKind.ROTATE_SOURCE)
    assert (rotate.account, rotate.object_id, rotate.source, rotate.strategy) == (
        "bookshop",
        "cus_BookshopAlice00",
        CARD,
        "token",
    )
    assert rotate.changes == (change("metadata.reconcile_source", "card_1OldCard00000000", CARD),)


def test_copy_is_rotated_after_the_platform_source_is_attached() -> None:
    bare = platform("cus_PlatformAlice00", "alice", default_source=None)
    existing = copy("cus_BookshopAlice00", "alice", of="cus_PlatformAlice00", source="card_1OldCard00000000")
    result = plan(desired(spec("alice")), observed(bare, bookshop=(existing,)))
    assert summary(result) == ["attach_source:alice", "rotate_source:alice@bookshop"]
    assert result.actions[1].after == ("attach_source:alice",)


def test_undeclared_copy_is_kept_without_prune() -> None:
    only_bookshop = spec("alice", shares=("bookshop",), **ALICE_FIELDS, metadata={"tier": "gold"})
    result = plan(desired(only_bookshop), CONVERGED)
    assert result.actions == ()
    assert result.warnings == ("1 undeclared copy is kept (use --prune to unshare)",)


def test_undeclared_copy_is_unshared_with_prune() -> None:
    only_bookshop = spec("alice", shares=("bookshop",), **ALICE_FIELDS, metadata={"tier": "gold"})
    result = plan(desired(only_bookshop), CONVERGED, prune=True)
    assert summary(result) == ["unshare:alice@coffee"]
    unshare = result.actions[0]
    assert (unshare.account_id, unshare.object_id, unshare.platform_customer) == (
        COFFEE_ID,
        "cus_CoffeeAlice0000",
        "cus_PlatformAlice00",
    )
    assert result.warnings == ()


def test_copies_of_a_customer_removed_from_the_file_are_unshared_with_prune() -> None:
    result = plan(desired(), CONVERGED, prune=True)
    assert summary(result) == ["unshare:alice@bookshop", "unshare:alice@coffee"]


def test_several_kept_copies_are_counted_in_one_warning() -> None:
    assert plan(desired(), CONVERGED).warnings == ("2 undeclared copies are kept (use --prune to unshare)",)


def test_customers_we_do_not_own_are_never_unshared() -> None:
    theirs = copy("cus_BookshopTheirs0", "zed", of="cus_PlatformZed0000", owner="someone-else")
    stranger = live("cus_BookshopStrange", email="walk-in@example.com")
    result = plan(desired(), observed(bookshop=(theirs, stranger)), prune=True)
    assert result.actions == ()
    assert result.warnings == ()


def test_platform_customers_are_never_deleted() -> None:
    result = plan(desired(), CONVERGED, prune=True)
    assert all(a.account is not None for a in result.actions)


# -- duplicates of our copies on one account -----------------------------------------------------


def _duplicates() -> ObservedState:
    newer = copy(
        "cus_BookshopAlice01",
        "alice",
        of="cus_PlatformAlice00",
        created=1_700_000_500,
        email="stale@example.com",
    )
    oldest = copy(
        "cus_BookshopAlice02",
        "alice",
        of="cus_PlatformAlice00",
        metadata={"tier": "gold"},
        created=1_700_000_200,
        **ALICE_FIELDS,
    )
    return observed(ALICE_PLATFORM, bookshop=(newer, oldest), coffee=(ALICE_COFFEE,))


def test_a_second_copy_of_a_pair_is_unshared_without_prune_keeping_the_oldest() -> None:
    # However it arose, a duplicate is a change to make, so a drift check fails on it.
    result = plan(desired(ALICE), _duplicates())
    assert summary(result) == ["unshare:alice@bookshop"]
    (unshare,) = result.actions
    assert isinstance(unshare, Unshare)
    assert (unshare.copy, unshare.duplicate_of) == ("cus_BookshopAlice01", "cus_BookshopAlice02")
    assert result.warnings == ()  # not also reported as an undeclared copy


def test_a_second_copy_is_unshared_once_with_prune() -> None:
    result = plan(desired(ALICE), _duplicates(), prune=True)
    assert summary(result) == ["unshare:alice@bookshop"]
    assert result.actions[0].object_id == "cus_BookshopAlice01"


def test_the_copy_that_holds_a_card_is_kept_over_an_older_one_without() -> None:
    older_without_card = copy("cus_BookshopAlice01", "alice", of="cus_PlatformAlice00", created=1, **ALICE_FIELDS)
    newer_with_card = replace(
        copy("cus_BookshopAlice02", "alice", of="cus_PlatformAlice00", created=2, **ALICE_FIELDS),
        default_source="card_copy",
    )
    state = observed(ALICE_PLATFORM, bookshop=(older_without_card, newer_with_card), coffee=(ALICE_COFFEE,))
    unshares = [a for a in plan(desired(ALICE), state).actions if isinstance(a, Unshare)]
    assert [(a.copy, a.duplicate_of) for a in unshares] == [("cus_BookshopAlice01", "cus_BookshopAlice02")]


def test_duplicate_copies_with_the_same_created_time_keep_the_smallest_id() -> None:
    a = copy(
        "cus_BookshopAlice0B",
        "alice",
        of="cus_PlatformAlice00",
        created=5,
        **ALICE_FIELDS,
        metadata={"tier": "gold"},
    )
    b = copy(
        "cus_BookshopAlice0A",
        "alice",
        of="cus_PlatformAlice00",
        created=5,
        **ALICE_FIELDS,
        metadata={"tier": "gold"},
    )
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(a, b), coffee=(ALICE_COFFEE,)), prune=True)
    assert [a.object_id for a in result.actions] == ["cus_BookshopAlice0B"]


def test_unshares_of_several_duplicates_have_distinct_ids() -> None:
    extra = copy("cus_BookshopAlice03", "alice", of="cus_PlatformAlice00", created=1_700_000_900)
    world = _duplicates()
    world = ObservedState(
        platform=world.platform, accounts={**world.accounts, BOOKSHOP_ID: (*world.accounts[BOOKSHOP_ID], extra)}
    )
    result = plan(desired(ALICE), world, prune=True)
    assert len(result.actions) == 2
    assert len({a.id for a in result.actions}) == 2


def test_copy_of_an_older_platform_customer_is_not_our_copy() -> None:
    # The key moved to another platform customer (re-adopted by id): the old copy is undeclared.
    old = copy("cus_BookshopAlice00", "alice", of="cus_PlatformAliceOld", **ALICE_FIELDS, metadata={"tier": "gold"})
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(old,), coffee=(ALICE_COFFEE,)), prune=True)
    assert summary(result) == ["share:alice@bookshop", "unshare:alice@bookshop"]


# -- conflicts -----------------------------------------------------------------------------------


def test_adopted_customer_that_does_not_exist_is_a_conflict() -> None:
    result = plan(desired(spec("bob", id="cus_PlatformGone000")), observed())
    assert result.actions == ()
    [conflict] = result.conflicts
    assert conflict.customer_key == "bob"
    assert conflict.account is None
    assert "cus_PlatformGone000 does not exist" in conflict.reason


def test_adopted_customer_owned_by_another_owner_is_a_conflict() -> None:
    theirs = platform("cus_PlatformBob0000", "bob", owner="someone-else")
    result = plan(desired(spec("bob", id="cus_PlatformBob0000")), observed(theirs))
    assert result.actions == ()
    [conflict] = result.conflicts
    assert conflict.object_id == "cus_PlatformBob0000"
    assert "owned by 'someone-else'" in conflict.reason


def test_two_platform_customers_with_the_same_key_are_a_conflict() -> None:
    twin = platform("cus_PlatformAlice01", "alice")
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, twin, bookshop=(ALICE_BOOKSHOP,), coffee=(ALICE_COFFEE,)))
    assert result.actions == ()
    [conflict] = result.conflicts
    assert "cus_PlatformAlice00, cus_PlatformAlice01" in conflict.reason


def test_adopted_customer_whose_key_another_platform_customer_carries_is_a_conflict() -> None:
    carrier = platform("cus_PlatformBobOld0", "bob")
    adopted = live("cus_PlatformBob0000", default_source=CARD)
    result = plan(desired(spec("bob", id="cus_PlatformBob0000")), observed(carrier, adopted))
    assert result.actions == ()
    [conflict] = result.conflicts
    assert "cus_PlatformBobOld0" in conflict.reason


def test_copy_of_our_platform_customer_owned_by_another_owner_is_a_conflict() -> None:
    theirs = copy("cus_BookshopTheirs0", "alice", of="cus_PlatformAlice00", owner="someone-else")
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(theirs,), coffee=(ALICE_COFFEE,)), prune=True)
    assert result.actions == ()  # no share next to it, and the coffee copy matches
    [conflict] = result.conflicts
    assert (conflict.account, conflict.account_id, conflict.object_id) == (
        "bookshop",
        BOOKSHOP_ID,
        "cus_BookshopTheirs0",
    )
    assert "owned by 'someone-else'" in conflict.reason


def test_our_copy_beside_a_foreign_copy_is_still_managed_and_theirs_untouched() -> None:
    theirs = copy("cus_BookshopTheirs0", "alice", of="cus_PlatformAlice00", owner="someone-else")
    ours = copy("cus_BookshopAlice00", "alice", of="cus_PlatformAlice00", email="drifted@example.com")
    result = plan(desired(ALICE), observed(ALICE_PLATFORM, bookshop=(theirs, ours), coffee=(ALICE_COFFEE,)), prune=True)
    assert [(a.kind.value, a.object_id) for a in result.actions] == [("update_share", "cus_BookshopAlice00")]
    [conflict] = result.conflicts
    assert conflict.object_id == "cus_BookshopTheirs0"


def test_customer_without_a_payment_source_cannot_be_shared() -> None:
    result = plan(
        desired(spec("alice", payment_source=None)),
        observed(platform("cus_PlatformAlice00", "alice", default_source=None)),
    )
    assert result.actions == ()
    [conflict] = result.conflicts
    assert (conflict.customer_key, conflict.account) == ("alice", "bookshop")
    assert "no default payment source" in conflict.reason


def test_new_customer_without_a_payment_source_is_created_but_not_shared() -> None:
    result = plan(desired(spec("alice", name="Alice", payment_source=None)), observed())
    assert summary(result) == ["create_customer:alice"]
    assert [c.account for c in result.conflicts] == ["bookshop"]


@pytest.mark.parametrize(
    "world",
    [
        pytest.param(
            observed(
                ALICE_PLATFORM,
                platform("cus_PlatformAlice01", "alice"),
                bookshop=(ALICE_BOOKSHOP,),
                coffee=(ALICE_COFFEE,),
            ),
            id="same-key",
        ),
        pytest.param(observed(bookshop=(ALICE_BOOKSHOP,), coffee=(ALICE_COFFEE,)), id="adopted-missing"),
        pytest.param(
            observed(
                platform("cus_PlatformAlice00", "alice", owner="someone-else"),
                bookshop=(ALICE_BOOKSHOP,),
                coffee=(ALICE_COFFEE,),
            ),
            id="adopted-foreign",
        ),
    ],
)
def test_copies_of_a_conflicted_customer_are_not_unshared(world: ObservedState) -> None:
    adopted = spec(
        "alice",
        id="cus_PlatformAlice00",
        shares=("bookshop", "coffee"),
        **ALICE_FIELDS,
        metadata={"tier": "gold"},
    )
    result = plan(desired(adopted), world, prune=True)
    assert result.actions == ()
    assert len(result.conflicts) == 1
    assert plan(desired(adopted), world).warnings == ()


def test_conflicts_do_not_stop_other_customers() -> None:
    result = plan(desired(spec("bob", id="cus_PlatformGone000"), spec("carol", name="Carol")), observed())
    assert [c.customer_key for c in result.conflicts] == ["bob"]
    assert summary(result)[0] == "create_customer:carol"


# -- --account narrowing -------------------------------------------------------------------------


def test_account_narrowing_plans_only_the_copies_on_those_accounts() -> None:
    result = plan(desired(ALICE), observed(ALICE_PLATFORM), accounts=["coffee"])
    assert summary(result) == ["share:alice@coffee"]


def test_account_narrowing_skips_customers_not_declared_there() -> None:
    bob = spec("bob", shares=("bookshop",), name="Bob")
    result = plan(desired(ALICE, bob), observed(), accounts=["coffee"])
    assert [a.customer_key for a in result.actions] == ["alice", "alice", "alice"]
    assert summary(result)[-1] == "share:alice@coffee"


def test_account_narrowing_still_plans_the_platform_side_its_shares_need() -> None:
    drifted = platform("cus_PlatformAlice00", "alice", metadata={"tier": "gold"}, **{**ALICE_FIELDS, "name": "A."})
    result = plan(desired(ALICE), observed(drifted, coffee=(ALICE_COFFEE,)), accounts=["coffee"])
    assert summary(result) == ["update_customer:alice"]


def test_account_narrowing_leaves_copies_elsewhere_alone() -> None:
    result = plan(desired(), CONVERGED, prune=True, accounts=["bookshop"])
    assert summary(result) == ["unshare:alice@bookshop"]


def test_account_narrowing_with_an_alias_outside_the_file_still_narrows() -> None:
    bob = spec("bob", shares=("bookshop",), name="Bob")
    result = plan(desired(ALICE, bob), observed(), accounts=["coffee", "nowhere"])
    assert {a.customer_key for a in result.actions} == {"alice"}


# -- ordering and dependencies -------------------------------------------------------------------


def test_actions_are_ordered_by_customer_then_account_then_kind() -> None:
    old = copy(
        "cus_CoffeeAlice0000",
        "alice",
        of="cus_PlatformAlice00",
        source="card_1OldCard00000000",
        email="x@example.com",
    )
    stale = copy("cus_BookshopDave000", "dave", of="cus_PlatformDave000")
    result = plan(
        desired(spec("bob", name="Bob", shares=("coffee", "bookshop")), ALICE),
        observed(ALICE_PLATFORM, bookshop=(stale,), coffee=(old,)),
        prune=True,
    )
    assert summary(result) == [
        "share:alice@bookshop",
        "update_share:alice@coffee",
        "rotate_source:alice@coffee",
        "create_customer:bob",
        "attach_source:bob",
        "share:bob@bookshop",
        "share:bob@coffee",
        "unshare:dave@bookshop",
    ]


def test_every_dependency_names_an_earlier_action_of_the_plan() -> None:
    bare = platform("cus_PlatformCarol00", "carol", default_source=None)
    result = plan(desired(ALICE, spec("bob"), spec("carol")), observed(bare), prune=True)
    seen: set[str] = set()
    for action in result.actions:
        assert set(action.after) <= seen, action.id
        seen.add(action.id)
    assert len(seen) == len(result.actions)


def test_conflicts_are_sorted_by_customer_and_account() -> None:
    result = plan(
        desired(
            spec("carol", payment_source=None, shares=("coffee", "bookshop")),
            spec("bob", id="cus_PlatformGone000"),
        ),
        observed(platform("cus_PlatformCarol00", "carol", default_source=None)),
    )
    assert [(c.customer_key, c.account) for c in result.conflicts] == [
        ("bob", None),
        ("carol", "bookshop"),
        ("carol", "coffee"),
    ]


def test_adopted_customer_whose_metadata_leaves_no_room_for_ownership_is_a_conflict() -> None:
    crowded = {f"k{i:02}": "v" for i in range(49)}
    adopted = live("cus_PlatformBob0000", metadata=crowded, default_source=CARD)
    result = plan(desired(spec("bob", id="cus_PlatformBob0000")), observed(adopted))
    assert result.actions == ()
    [conflict] = result.conflicts
    assert "would carry 51 metadata keys" in conflict.reason


def test_copy_whose_metadata_would_exceed_stripes_limit_is_a_conflict_not_a_failing_share() -> None:
    roomy_platform = {f"k{i:02}": "v" for i in range(47)}  # 49 with the 2 ownership keys: fits
    adopted = live("cus_PlatformBob0000", metadata=roomy_platform, default_source=CARD)
    result = plan(desired(spec("bob", id="cus_PlatformBob0000")), observed(adopted))
    assert [a.kind.value for a in result.actions] == ["update_customer"]
    [conflict] = result.conflicts
    assert (conflict.account, "would carry 51 metadata keys" in conflict.reason) == ("bookshop", True)
