"""Planner: --adopt-by makes an unowned customer already on an account the copy of a declared pair."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from reconcile.actions import ActionKind
from reconcile.executor import payload
from reconcile.model import (
    KEY_KEY,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    Customer,
    CustomerSpec,
    DesiredState,
    Fields,
    Mode,
    ObservedState,
    ShareSpec,
    Strategy,
    frozen_map,
)
from reconcile.plan import Plan
from reconcile.planner import plan

OWNER = "acme"
BOOKSHOP = "acct_1BookshopAAAAAAAA"
COFFEE = "acct_1CoffeeBBBBBBBBBB"
ACCOUNTS = {"bookshop": BOOKSHOP, "coffee": COFFEE}
VISA = "fp_Visa4242"
MASTERCARD = "fp_Mastercard4444"
PLATFORM_CARD = "card_PlatformAlice01"


def declared(
    key: str, *, id: str | None = None, email: str | None = None, shares: tuple[str, ...] = ("bookshop",)
) -> CustomerSpec:
    """A declared customer as `reconcile import` writes one: an id, no fields, accounts by alias."""
    return CustomerSpec(
        key=key,
        id=id,
        fields=Fields(email=email),
        shares=tuple(ShareSpec(alias=a, account_id=ACCOUNTS[a]) for a in shares),
    )


def desired(*customers: CustomerSpec) -> DesiredState:
    return DesiredState(owner=OWNER, mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=ACCOUNTS, customers=customers)


def customer(
    id: str,
    *,
    email: str | None = None,
    fingerprint: str | None = None,
    metadata: Mapping[str, str] | None = None,
    source: str | None = None,
    created: int = 1_700_000_000,
) -> Customer:
    """A live customer; with a fingerprint, its default source is a card with that fingerprint."""
    return Customer(
        id=id,
        fields=Fields(email=email, metadata=frozen_map(metadata)),
        default_source=source or (f"card_{id.removeprefix('cus_')}" if fingerprint else None),
        card_fingerprint=fingerprint,
        created=created,
    )


ALICE = customer("cus_PlatformAlice", email="alice@example.com", fingerprint=VISA, source=PLATFORM_CARD)
BOB = customer("cus_PlatformBob00", email="bob@example.com", fingerprint=MASTERCARD)


def world(*platform: Customer, bookshop: tuple[Customer, ...] = (), coffee: tuple[Customer, ...] = ()) -> ObservedState:
    return ObservedState(platform=platform, accounts={BOOKSHOP: bookshop, COFFEE: coffee})


def kinds(result: Plan) -> list[str]:
    return [a.id for a in result.actions]


def ownership(result: Plan, key: str, alias: str) -> dict[str, tuple[str | None, str | None]]:
    (adopt,) = [a for a in result.actions if a.kind is ActionKind.ADOPT and (a.customer_key, a.account) == (key, alias)]
    return {c.field: (c.before, c.after) for c in adopt.changes}


def test_adopt_by_fingerprint_adopts_the_one_unowned_customer_with_the_same_card() -> None:
    mine = customer("cus_BookshopAlice", email="a.liddell@example.org", fingerprint=VISA)
    stranger = customer("cus_BookshopStrange", email="alice@example.com", fingerprint=MASTERCARD)

    result = plan(
        desired(declared("alice", id=ALICE.id)),
        world(ALICE, bookshop=(stranger, mine)),
        adopt_by="fingerprint",
    )

    assert kinds(result) == ["update_customer:alice", "adopt:alice@bookshop"]
    assert result.conflicts == ()
    adopt = result.actions[1]
    assert (adopt.account_id, adopt.object_id, adopt.platform_customer) == (BOOKSHOP, mine.id, ALICE.id)
    assert ownership(result, "alice", "bookshop") == {
        f"metadata.{OWNER_KEY}": (None, OWNER),
        f"metadata.{KEY_KEY}": (None, "alice"),
        f"metadata.{PLATFORM_CUSTOMER_KEY}": (None, ALICE.id),
        f"metadata.{SOURCE_KEY}": (None, PLATFORM_CARD),
    }


def test_adopt_writes_ownership_metadata_and_nothing_else() -> None:
    mine = customer("cus_BookshopAlice", email="old@example.com", fingerprint=VISA, metadata={"crm": "7"})
    result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(mine,)), adopt_by="fingerprint")

    adopt = next(a for a in result.actions if a.kind is ActionKind.ADOPT)

    # The e-mail and metadata that differ from the platform customer are left for the next plan.
    assert payload(adopt) == {
        "metadata": {
            OWNER_KEY: OWNER,
            KEY_KEY: "alice",
            PLATFORM_CUSTOMER_KEY: ALICE.id,
            SOURCE_KEY: PLATFORM_CARD,
        }
    }


def test_adopt_by_email_matches_the_address_whatever_its_case() -> None:
    mine = customer("cus_BookshopAlice", email=" Alice@Example.COM", fingerprint=MASTERCARD)
    result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(mine,)), adopt_by="email")

    assert kinds(result) == ["update_customer:alice", "adopt:alice@bookshop"]
    # Another card: the copy does not claim the platform's source, so the next plan rotates it in.
    assert f"metadata.{SOURCE_KEY}" not in ownership(result, "alice", "bookshop")


def test_adopt_by_email_uses_the_declared_address_over_the_live_one() -> None:
    mine = customer("cus_BookshopAlice", email="alice@new.example")
    result = plan(
        desired(declared("alice", id=ALICE.id, email="alice@new.example")),
        world(ALICE, bookshop=(mine,)),
        adopt_by="email",
    )
    assert "adopt:alice@bookshop" in kinds(result)


def test_no_matching_customer_means_a_share_as_without_adopt_by() -> None:
    unrelated = customer("cus_BookshopOther", email="carol@example.com", fingerprint=MASTERCARD)
    for adopt_by in ("fingerprint", "email"):
        result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(unrelated,)), adopt_by=adopt_by)
        assert kinds(result) == ["update_customer:alice", "share:alice@bookshop"]


def test_without_adopt_by_a_lookalike_is_ignored_and_the_pair_shared() -> None:
    lookalike = customer("cus_BookshopAlice", email="alice@example.com", fingerprint=VISA)
    result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(lookalike,)))
    assert kinds(result) == ["update_customer:alice", "share:alice@bookshop"]


def test_two_unowned_matches_on_an_account_are_a_conflict_not_a_guess() -> None:
    first = customer("cus_BookshopAlice1", fingerprint=VISA)
    second = customer("cus_BookshopAlice2", fingerprint=VISA)
    result = plan(
        desired(declared("alice", id=ALICE.id, shares=("bookshop", "coffee"))),
        world(ALICE, bookshop=(first, second), coffee=(customer("cus_CoffeeAlice", fingerprint=VISA),)),
        adopt_by="fingerprint",
    )

    assert kinds(result) == ["update_customer:alice", "adopt:alice@coffee"]  # no share on bookshop either
    (conflict,) = result.conflicts
    assert (conflict.customer_key, conflict.account) == ("alice", "bookshop")
    assert conflict.reason == (
        "2 unowned customers match by card fingerprint (cus_BookshopAlice1, cus_BookshopAlice2); none is adopted"
    )


def test_one_unowned_customer_matching_two_declared_customers_is_a_conflict_for_both() -> None:
    twin = customer("cus_PlatformTwin0", email="twin@example.com", fingerprint=VISA)
    shared_card = customer("cus_BookshopVisa", fingerprint=VISA)
    result = plan(
        desired(declared("alice", id=ALICE.id), declared("twin", id=twin.id)),
        world(ALICE, twin, bookshop=(shared_card,)),
        adopt_by="fingerprint",
    )

    assert kinds(result) == ["update_customer:alice", "update_customer:twin"]
    assert [(c.customer_key, c.object_id) for c in result.conflicts] == [
        ("alice", shared_card.id),
        ("twin", shared_card.id),
    ]
    assert result.conflicts[0].reason == (
        "unowned customer cus_BookshopVisa matches alice, twin by card fingerprint; it is not adopted"
    )


@pytest.mark.parametrize("adopt_by", ["fingerprint", "email"])
def test_a_copy_we_own_is_unaffected_and_lookalikes_stay_unowned(adopt_by: str) -> None:
    owned_platform = customer(
        ALICE.id, email="alice@example.com", fingerprint=VISA, source=PLATFORM_CARD, metadata=_owned("alice")
    )
    ours = customer(
        "cus_BookshopOurs",
        email="alice@example.com",
        fingerprint=VISA,
        metadata={**_owned("alice"), PLATFORM_CUSTOMER_KEY: ALICE.id, SOURCE_KEY: PLATFORM_CARD},
    )
    lookalike = customer("cus_BookshopAlike", email="alice@example.com", fingerprint=VISA)

    result = plan(
        desired(declared("alice", id=ALICE.id)), world(owned_platform, bookshop=(lookalike, ours)), adopt_by=adopt_by
    )

    assert result.actions == ()
    assert result.conflicts == ()


def test_another_owners_customer_is_never_adopted() -> None:
    theirs = customer("cus_BookshopTheirs", email="alice@example.com", fingerprint=VISA, metadata={OWNER_KEY: "other"})
    result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(theirs,)), adopt_by="fingerprint")
    assert kinds(result) == ["update_customer:alice", "share:alice@bookshop"]


def test_unowned_copy_naming_the_platform_customer_is_adopted_by_either_criterion() -> None:
    # Made by hand (or stripped of its owner), it still says whose copy it is; another card, another address.
    named = customer("cus_BookshopNamed", email="x@example.com", metadata={PLATFORM_CUSTOMER_KEY: ALICE.id})
    lookalike = customer("cus_BookshopAlike", email="alice@example.com", fingerprint=VISA)
    for adopt_by in ("fingerprint", "email"):
        result = plan(
            desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(lookalike, named)), adopt_by=adopt_by
        )
        assert kinds(result) == ["update_customer:alice", "adopt:alice@bookshop"]
        assert result.actions[1].object_id == named.id
        assert f"metadata.{PLATFORM_CUSTOMER_KEY}" not in ownership(result, "alice", "bookshop")  # already right


def test_unowned_copy_naming_another_platform_customer_is_not_this_ones() -> None:
    bobs = customer("cus_BookshopBobs", fingerprint=VISA, metadata={PLATFORM_CUSTOMER_KEY: BOB.id})
    result = plan(desired(declared("alice", id=ALICE.id)), world(ALICE, bookshop=(bobs,)), adopt_by="fingerprint")
    assert kinds(result) == ["update_customer:alice", "share:alice@bookshop"]


def test_customer_created_by_this_plan_is_shared_not_adopted() -> None:
    # Its platform id exists only after apply, and adoption writes it into the copy's metadata.
    new = CustomerSpec(
        key="carol",
        fields=Fields(email="carol@example.com"),
        payment_source="tok_visa",
        shares=(ShareSpec(alias="bookshop", account_id=BOOKSHOP),),
    )
    lookalike = customer("cus_BookshopCarol", email="carol@example.com")
    result = plan(desired(new), world(bookshop=(lookalike,)), adopt_by="email")
    assert kinds(result) == ["create_customer:carol", "attach_source:carol", "share:carol@bookshop"]


def _owned(key: str) -> dict[str, str]:
    return {OWNER_KEY: OWNER, KEY_KEY: key}
