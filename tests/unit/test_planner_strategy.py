"""Switching strategy: token copies are rotated onto clones in place, never re-created; no HTTP."""

from __future__ import annotations

from reconcile.actions import UNKNOWN, RotateSource
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
from reconcile.planner import plan
from reconcile.preconditions import stale_actions

OWNER = "acme"
BOOKSHOP = "acct_1BookshopAAAAAAAA"
CARD = "card_1PlatformAlice0001"
TOKEN_CARD = "card_1BookshopAlice001"


def desired(*, file: Strategy, alice: Strategy | None = None) -> DesiredState:
    customers = tuple(
        CustomerSpec(
            key=key,
            fields=Fields(email=f"{key}@example.com"),
            strategy=alice if alice is not None and key == "alice" else file,
            shares=(ShareSpec(alias="bookshop", account_id=BOOKSHOP),),
        )
        for key in ("alice", "bob")
    )
    return DesiredState(
        owner=OWNER, mode=Mode.TEST, strategy=file, accounts={"bookshop": BOOKSHOP}, customers=customers
    )


def platform(key: str) -> Customer:
    metadata = frozen_map({OWNER_KEY: OWNER, KEY_KEY: key})
    return Customer(
        id=f"cus_Platform{key}", fields=Fields(email=f"{key}@example.com", metadata=metadata), default_source=CARD
    )


def token_copy(key: str) -> Customer:
    """A copy made from a customer token: the token's card is its default source, no PaymentMethod."""
    metadata = {OWNER_KEY: OWNER, KEY_KEY: key, PLATFORM_CUSTOMER_KEY: f"cus_Platform{key}", SOURCE_KEY: CARD}
    fields = Fields(email=f"{key}@example.com", metadata=frozen_map(metadata))
    return Customer(id=f"cus_Bookshop{key}", fields=fields, default_source=TOKEN_CARD)


def clone_copy(key: str) -> Customer:
    copy = token_copy(key)
    return Customer(id=copy.id, fields=copy.fields, default_payment_method="pm_1Clone")


def observed(*copies: Customer) -> ObservedState:
    return ObservedState(platform=(platform("alice"), platform("bob")), accounts={BOOKSHOP: copies})


def test_switching_the_file_to_payment_method_rotates_every_token_copy_in_place() -> None:
    result = plan(desired(file=Strategy.PAYMENT_METHOD), observed(token_copy("alice"), token_copy("bob")))
    assert [a.id for a in result.actions] == ["rotate_source:alice@bookshop", "rotate_source:bob@bookshop"]
    for action in result.actions:
        assert isinstance(action, RotateSource)
        assert (action.strategy, action.source) == (Strategy.PAYMENT_METHOD, CARD)
        # The copy keeps its id; the token's card is deleted once the clone is the default.
        assert {c.field: (c.before, c.after) for c in action.changes} == {
            "default_source": (TOKEN_CARD, None),
            "invoice_settings.default_payment_method": (None, UNKNOWN),  # the clone apply makes
        }
        assert action.removed_source == TOKEN_CARD
        assert action.replaced is None


def test_switching_one_customer_rotates_only_its_copies() -> None:
    result = plan(
        desired(file=Strategy.TOKEN, alice=Strategy.PAYMENT_METHOD), observed(token_copy("alice"), token_copy("bob"))
    )
    assert [a.id for a in result.actions] == ["rotate_source:alice@bookshop"]


def test_a_copy_already_on_a_clone_is_not_rotated_again() -> None:
    assert plan(desired(file=Strategy.PAYMENT_METHOD), observed(clone_copy("alice"), clone_copy("bob"))).actions == ()


def test_token_copies_stay_as_they_are_under_the_token_strategy() -> None:
    assert plan(desired(file=Strategy.TOKEN), observed(token_copy("alice"), token_copy("bob"))).actions == ()


def test_a_saved_migration_is_stale_once_the_copy_lost_its_token_card() -> None:
    result = plan(desired(file=Strategy.PAYMENT_METHOD), observed(token_copy("alice"), token_copy("bob")))
    later = observed(clone_copy("alice"), token_copy("bob"))
    assert stale_actions(result, later) == [
        'rotate_source:alice@bookshop: default_source is now unset, the plan expected "card_1BookshopAlice001"',
        'rotate_source:alice@bookshop: invoice_settings.default_payment_method is now "pm_1Clone", '
        "the plan expected unset",
    ]
