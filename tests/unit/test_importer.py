"""reconcile import, offline: an inventory of live objects in, a desired-state file (and its plan) out."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from reconcile import config
from reconcile.errors import ReconcileError
from reconcile.importer import Imported, check_owner, import_platform, parse_account
from reconcile.inventory import Inventory
from reconcile.model import (
    KEY_KEY,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    AdoptBy,
    ConnectedAccount,
    Customer,
    Fields,
    Mode,
    frozen_map,
)

BOOKSHOP = ConnectedAccount(id="acct_1Bookshop", name="Bookshop Ltd", email="books@example.com")
COFFEE = ConnectedAccount(id="acct_1Coffee", email="hello@coffee.example")
VISA, MASTERCARD, AMEX = "fpVisa", "fpMastercard", "fpAmex"
LAST4 = {VISA: "4242", MASTERCARD: "4444", AMEX: "0005"}


def customer(
    id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    card: str | None = None,
    metadata: Mapping[str, str] | None = None,
    created: int = 1_700_000_000,
) -> Customer:
    return Customer(
        id=id,
        fields=Fields(email=email, name=name, metadata=frozen_map(metadata)),
        default_source=f"card_{id.removeprefix('cus_')}" if card else None,
        card_fingerprint=card,
        card_last4=LAST4.get(card or ""),
        created=created,
    )


ALICE = customer("cus_PAlice", email="alice@example.com", name="Alice Liddell", card=VISA, created=1)
BOB = customer("cus_PBob", email="bob@example.com", name="Bob Builder", card=MASTERCARD, created=2)
CAROL = customer("cus_PCarol", email="carol@example.com", card=AMEX, created=3)


def inventory(
    *platform: Customer,
    bookshop: tuple[Customer, ...] = (),
    coffee: tuple[Customer, ...] = (),
) -> Inventory:
    return Inventory(
        platform=platform,
        accounts=(BOOKSHOP, COFFEE),
        customers={BOOKSHOP.id: bookshop, COFFEE.id: coffee},
    )


def run(found: Inventory, *, owner: str = "imported", aliases: Mapping[str, str] | None = None) -> Imported:
    return import_platform(found, owner=owner, mode=Mode.TEST, aliases=aliases, path="imported.yaml")


def kinds(imported: Imported) -> list[str]:
    return [a.id for a in imported.plan.actions]


def line_of(imported: Imported, fragment: str) -> str:
    return next(line for line in imported.text.splitlines() if fragment in line)


SHARED = inventory(
    ALICE,
    BOB,
    CAROL,
    bookshop=(customer("cus_BAlice", email="alice@example.com", card=VISA),),
    coffee=(
        customer("cus_CAlice", email="alice@example.com", card=VISA),
        customer("cus_CBob", email="bob@example.com", card=MASTERCARD),
        customer("cus_CWalkIn", email="walk-in@example.com"),
    ),
)


def test_each_platform_customer_with_a_copy_becomes_a_key_that_adopts_it_by_id() -> None:
    imported = run(SHARED)

    desired = config.parse(imported.text, "imported.yaml")  # a valid version-1 file
    assert desired.owner == "imported"
    assert desired.mode is Mode.TEST
    assert dict(desired.accounts) == {"bookshop-ltd": BOOKSHOP.id, "hello-coffee.example": COFFEE.id}
    assert {c.key: (c.id, [s.alias for s in c.shares]) for c in desired.customers} == {
        "alice": (ALICE.id, ["bookshop-ltd", "hello-coffee.example"]),
        "bob": (BOB.id, ["hello-coffee.example"]),
    }
    # No fields declared: every field is taken as it is.
    assert all(c.fields == Fields() and c.payment_source is None for c in desired.customers)


def test_the_file_plans_as_ownership_on_the_platform_and_adoption_of_the_copies() -> None:
    imported = run(SHARED)

    assert imported.adopt_by is AdoptBy.FINGERPRINT
    assert kinds(imported) == [
        "update_customer:alice",
        "adopt:alice@bookshop-ltd",
        "adopt:alice@hello-coffee.example",
        "update_customer:bob",
        "adopt:bob@hello-coffee.example",
    ]
    assert imported.plan.conflicts == ()
    adopt = imported.plan.actions[1]
    assert (adopt.object_id, {c.field for c in adopt.changes}) == (
        "cus_BAlice",
        {f"metadata.{k}" for k in (OWNER_KEY, KEY_KEY, PLATFORM_CUSTOMER_KEY, SOURCE_KEY)},
    )
    assert "reconcile plan imported.yaml --adopt-by fingerprint" in imported.text
    assert "plans 2 update_customer, 3 adopt." in imported.text


def test_each_copy_says_how_it_was_matched_and_each_customer_who_it_is() -> None:
    bobs_new_card = customer("cus_CBob", email="bob@example.com", card=AMEX)
    named = customer("cus_BBob", email="robert@example.org", metadata={PLATFORM_CUSTOMER_KEY: BOB.id})
    imported = run(
        inventory(ALICE, BOB, bookshop=(named, customer("cus_BAlice", card=VISA)), coffee=(bobs_new_card,)),
        aliases={BOOKSHOP.id: "bookshop", COFFEE.id: "coffee"},
    )

    assert line_of(imported, "alice:").endswith("# Alice Liddell <alice@example.com>")
    assert line_of(imported, "- bookshop  # cus_BAlice").endswith("cus_BAlice, matched by card fingerprint (…4242)")
    assert line_of(imported, "cus_BBob").endswith("cus_BBob, matched by reconcile_platform_customer metadata")
    assert "cus_CBob, matched by e-mail;" in line_of(imported, "cus_CBob")  # left out: see the next tests
    assert line_of(imported, "bookshop: acct_1Bookshop").endswith(
        "# Bookshop Ltd <books@example.com>; 2 of its 2 customers listed below"
    )


def test_a_fingerprint_two_platform_customers_share_falls_back_to_the_email() -> None:
    # In test mode every tok_visa card has one fingerprint: the e-mail tells these two apart.
    twin = customer("cus_PTwin", email="twin@example.com", card=VISA, created=5)
    copies = (
        customer("cus_BTwin", email="twin@example.com", card=VISA),
        customer("cus_BAlice", email="alice@example.com", card=VISA),
    )
    imported = run(inventory(ALICE, twin, bookshop=copies))

    assert imported.adopt_by is AdoptBy.EMAIL  # by fingerprint both copies match both customers
    assert kinds(imported) == [
        "update_customer:alice",
        "adopt:alice@bookshop-ltd",
        "update_customer:twin",
        "adopt:twin@bookshop-ltd",
    ]
    assert "reconcile plan imported.yaml --adopt-by email" in imported.text


def test_platform_customers_without_a_copy_are_left_out() -> None:
    imported = run(SHARED)
    assert CAROL.id not in imported.text
    assert "2 of the platform's 3 customers" in imported.text


def test_another_owners_customers_and_copies_are_left_alone() -> None:
    theirs = customer("cus_PTheirs", email="t@example.com", card=AMEX, metadata={OWNER_KEY: "other"})
    their_copy = customer("cus_BTheirs", card=AMEX, metadata={OWNER_KEY: "other", PLATFORM_CUSTOMER_KEY: theirs.id})
    imported = run(inventory(ALICE, theirs, bookshop=(their_copy, customer("cus_BAlice", card=VISA))))

    assert [c.key for c in imported.desired.customers] == ["alice"]
    assert imported.foreign == 2
    assert "2 customers (on the platform or the accounts) of another owner are left alone." in imported.text


def test_two_copies_of_one_customer_on_an_account_are_left_out_with_the_reason() -> None:
    first = customer("cus_BAlice1", card=VISA, created=10)
    second = customer("cus_BAlice2", card=VISA, created=11)
    imported = run(inventory(ALICE, bookshop=(first, second), coffee=(customer("cus_CAlice", card=VISA),)))

    assert kinds(imported) == ["update_customer:alice", "adopt:alice@hello-coffee.example"]
    assert imported.plan.conflicts == ()
    assert imported.left_out == 1
    assert line_of(imported, "left out").strip() == (
        "# bookshop-ltd left out: 2 unowned customers match by card fingerprint (cus_BAlice1, cus_BAlice2); "
        "none is adopted"
    )


def test_the_criterion_that_adopts_more_copies_is_chosen_and_the_others_say_how_to_adopt_them() -> None:
    # Two copies share the e-mail only, one the card only: --adopt-by email adopts more.
    imported = run(
        inventory(
            ALICE,
            BOB,
            bookshop=(customer("cus_BAlice", email="ALICE@example.com"), customer("cus_BBob", email="bob@example.com")),
            coffee=(customer("cus_CAlice", email="a@elsewhere.example", card=VISA),),
        )
    )

    assert imported.adopt_by is AdoptBy.EMAIL
    assert kinds(imported) == [
        "update_customer:alice",
        "adopt:alice@bookshop-ltd",
        "update_customer:bob",
        "adopt:bob@bookshop-ltd",
    ]
    assert line_of(imported, "hello-coffee.example left out").strip() == (
        "# hello-coffee.example left out: cus_CAlice, matched by card fingerprint (…4242); --adopt-by email would "
        "not recognise it and would share a second copy (after this apply, import again: --adopt-by fingerprint "
        "recognises it)"
    )


def test_keys_come_from_the_email_then_the_name_then_the_id_and_never_repeat() -> None:
    platform = (
        customer("cus_P1", email="Info@shop.example", card=VISA, created=1),
        customer("cus_P2", email="info@other.example", card=MASTERCARD, created=2),
        customer("cus_P3", name="José Núñez", card=AMEX, created=3),
        customer("cus_P4", created=4),
    )
    copies = (
        customer("cus_B1", card=VISA),
        customer("cus_B2", card=MASTERCARD),
        customer("cus_B3", card=AMEX),
        customer("cus_B4", metadata={PLATFORM_CUSTOMER_KEY: "cus_P4"}),
    )
    imported = run(inventory(*platform, bookshop=copies))

    assert {c.id: c.key for c in imported.desired.customers} == {
        "cus_P1": "info",
        "cus_P2": "info-2",  # the older customer keeps the plain key
        "cus_P3": "jose-nunez",
        "cus_P4": "cus_P4",
    }


def test_account_aliases_come_from_the_name_the_email_or_the_id_and_the_users_win() -> None:
    nameless = ConnectedAccount(id="acct_1Nameless")
    same_name = ConnectedAccount(id="acct_1Other", name="Bookshop Ltd")
    found = Inventory(platform=(), accounts=(BOOKSHOP, COFFEE, nameless, same_name), customers={})

    assert dict(run(found).desired.accounts) == {
        "bookshop-ltd": BOOKSHOP.id,
        "bookshop-ltd-2": same_name.id,
        "hello-coffee.example": COFFEE.id,
        "acct_1Nameless": nameless.id,
    }
    chosen = run(found, aliases={same_name.id: "bookshop-ltd"}).desired.accounts
    assert (chosen["bookshop-ltd"], chosen["bookshop-ltd-2"]) == (same_name.id, BOOKSHOP.id)


def test_importing_our_own_platform_again_keeps_its_keys_and_plans_no_changes() -> None:
    owned = {OWNER_KEY: "acme", KEY_KEY: "alice-l"}
    alice = customer(ALICE.id, email="alice@example.com", card=VISA, metadata=owned)
    copy = customer(
        "cus_BAlice",
        email="alice@example.com",
        card=VISA,
        metadata={**owned, PLATFORM_CUSTOMER_KEY: ALICE.id, SOURCE_KEY: alice.default_source or ""},
    )
    imported = run(inventory(alice, bookshop=(copy,)), owner="acme")

    assert [(c.key, c.id) for c in imported.desired.customers] == [("alice-l", ALICE.id)]
    assert imported.plan.actions == ()
    assert imported.adopt_by is None
    assert "reconcile plan imported.yaml\n" in imported.text
    assert line_of(imported, "cus_BAlice").endswith("cus_BAlice, already ours")


def test_the_same_platform_read_in_another_order_gives_the_same_file() -> None:
    shuffled = Inventory(
        platform=tuple(reversed(SHARED.platform)),
        accounts=tuple(reversed(SHARED.accounts)),
        customers={k: tuple(reversed(v)) for k, v in reversed(SHARED.customers.items())},
    )
    assert run(shuffled).text == run(SHARED).text


@pytest.mark.parametrize("owner", ["Imported", "-x", "", "a" * 41, "acme marketplace"])
def test_an_owner_the_file_would_refuse_is_refused_first(owner: str) -> None:
    with pytest.raises(ReconcileError, match="--owner: invalid owner"):
        check_owner(owner)


def test_account_options_are_ids_or_alias_equals_id() -> None:
    assert parse_account("acct_1Bookshop") == (None, "acct_1Bookshop")
    assert parse_account("books=acct_1Bookshop") == ("books", "acct_1Bookshop")
    for bad in ("bookshop", "acct_", "=acct_1B", "bad alias=acct_1B", "books=cus_1"):
        with pytest.raises(ReconcileError, match="--account"):
            parse_account(bad)
