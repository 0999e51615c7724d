"""Builders the unit tests share: desired and observed snapshots, plan vocabulary, one action of each kind."""

from __future__ import annotations

from collections.abc import Mapping

from reconcile.actions import (
    UNKNOWN,
    Action,
    Adopt,
    AttachSource,
    CreateCustomer,
    FieldChange,
    RotateSource,
    Share,
    Unknown,
    Unshare,
    UpdateCustomer,
    UpdateShare,
)
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
    field_path,
    frozen_map,
)

# -- snapshots: desired and observed state, as config.py and observe.py make them ------------------

OWNER = "acme-marketplace"
BOOKSHOP_ID = "acct_1BookshopAAAAAAAA"
COFFEE_ID = "acct_1CoffeeBBBBBBBBBB"
ACCOUNTS = {"bookshop": BOOKSHOP_ID, "coffee": COFFEE_ID}
CARD = "card_1PlatformAlice0001"

SharedWith = str | tuple[str, Fields]  # an alias, or (alias, per-account overrides)


def spec(
    key: str,
    *,
    shares: tuple[SharedWith, ...] = ("bookshop",),
    id: str | None = None,
    payment_source: str | None = "tok_visa",
    ignore_changes: tuple[str, ...] = (),
    strategy: Strategy = Strategy.TOKEN,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> CustomerSpec:
    """A declared customer, as config.py would resolve it."""
    return CustomerSpec(
        key=key,
        id=id,
        fields=Fields(
            email=email,
            name=name,
            phone=phone,
            description=description,
            metadata=frozen_map(metadata) if metadata is not None else None,
        ),
        payment_source=payment_source,
        strategy=strategy,
        ignore_changes=frozenset(ignore_changes),
        shares=tuple(_share(s) for s in shares),
    )


def _share(share: SharedWith) -> ShareSpec:
    alias, overrides = (share, Fields()) if isinstance(share, str) else share
    return ShareSpec(alias=alias, account_id=ACCOUNTS[alias], overrides=overrides)


def desired(*customers: CustomerSpec) -> DesiredState:
    return DesiredState(owner=OWNER, mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=ACCOUNTS, customers=customers)


def live(
    id: str,
    *,
    metadata: Mapping[str, str] | None = None,
    default_source: str | None = None,
    default_payment_method: str | None = None,
    created: int = 1_700_000_000,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    description: str | None = None,
) -> Customer:
    """A live customer exactly as observed, with whatever metadata it carries."""
    return Customer(
        id=id,
        fields=Fields(email=email, name=name, phone=phone, description=description, metadata=frozen_map(metadata)),
        default_source=default_source,
        default_payment_method=default_payment_method,
        created=created,
    )


def platform(
    id: str,
    key: str,
    *,
    owner: str = OWNER,
    metadata: Mapping[str, str] | None = None,
    default_source: str | None = CARD,
    default_payment_method: str | None = None,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    description: str | None = None,
) -> Customer:
    """A platform customer carrying ownership metadata for ``key``."""
    return live(
        id,
        metadata={**(metadata or {}), OWNER_KEY: owner, KEY_KEY: key},
        default_source=default_source,
        default_payment_method=default_payment_method,
        email=email,
        name=name,
        phone=phone,
        description=description,
    )


def copy(
    id: str,
    key: str,
    *,
    of: str,
    source: str = CARD,
    owner: str = OWNER,
    metadata: Mapping[str, str] | None = None,
    created: int = 1_700_000_100,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    description: str | None = None,
) -> Customer:
    """A connected-account copy of platform customer ``of``, carrying the four ownership keys."""
    ownership = {OWNER_KEY: owner, KEY_KEY: key, PLATFORM_CUSTOMER_KEY: of, SOURCE_KEY: source}
    return live(
        id,
        metadata={**(metadata or {}), **ownership},
        created=created,
        email=email,
        name=name,
        phone=phone,
        description=description,
    )


def observed(
    *platform_customers: Customer,
    bookshop: tuple[Customer, ...] = (),
    coffee: tuple[Customer, ...] = (),
) -> ObservedState:
    return ObservedState(platform=platform_customers, accounts={BOOKSHOP_ID: bookshop, COFFEE_ID: coffee})



# -- plan vocabulary -------------------------------------------------------------------------------

# Where a copy action happens, as keyword arguments: Share(..., **BOOKSHOP).
BOOKSHOP = {"account": "bookshop", "account_id": BOOKSHOP_ID}


def change(field: str, before: str | None, after: str | Unknown | None) -> FieldChange:
    """A FieldChange of the field a plan file names ``field`` (``email``, ``metadata.tier``)."""
    return FieldChange(field_path(field), before, after)


def one_of_each_kind() -> tuple[Action, ...]:
    """A plan's worth of actions, one of every kind, each able to run once those it waits for have.

    Values known only at apply (UNKNOWN) are included: alice's share waits for her platform
    customer and its card.
    """
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "alice@example.com"),))
    attach = AttachSource(customer_key="alice", platform_customer=UNKNOWN, source="tok_visa", after=(create.id,))
    return (
        create,
        attach,
        Share(
            customer_key="alice",
            account="bookshop",
            account_id=BOOKSHOP_ID,
            platform_customer=UNKNOWN,
            source=UNKNOWN,
            strategy=Strategy.TOKEN,
            changes=(
                change("email", None, "alice@example.com"),
                change("metadata.reconcile_platform_customer", None, UNKNOWN),
            ),
            after=(create.id, attach.id),
        ),
        UpdateCustomer(
            customer_key="bob", platform_customer="cus_PlatformBob0000", changes=(change("name", "B", "Bob"),)
        ),
        UpdateShare(
            customer_key="bob",
            account="bookshop",
            account_id=BOOKSHOP_ID,
            platform_customer="cus_PlatformBob0000",
            copy="cus_BookshopBob0000",
            changes=(change("metadata.note", "call first", None),),
        ),
        RotateSource(
            customer_key="carol",
            account="bookshop",
            account_id=BOOKSHOP_ID,
            platform_customer="cus_PlatformCarol00",
            copy="cus_BookshopCarol00",
            source="card_1NewCard00000000",
            strategy=Strategy.PAYMENT_METHOD,
            changes=(
                change("invoice_settings.default_payment_method", "pm_1OldClone0000000", UNKNOWN),
                change("metadata.reconcile_source", "card_1OldCard00000000", "card_1NewCard00000000"),
            ),
        ),
        Unshare(
            customer_key="dave",
            account="bookshop",
            account_id=BOOKSHOP_ID,
            platform_customer="cus_PlatformDave000",
            copy="cus_BookshopDave000",
        ),
        Adopt(
            customer_key="erin",
            account="bookshop",
            account_id=BOOKSHOP_ID,
            platform_customer="cus_PlatformErin000",
            copy="cus_BookshopWalkIn0",
            changes=(change("metadata.reconcile_owner", None, OWNER),),
        ),
    )


def example(kind: type[Action]) -> Action:
    """The action of ``kind`` in ``one_of_each_kind``; a new kind needs one there."""
    found = [a for a in one_of_each_kind() if type(a) is kind]
    assert found, f"tests/builders.py has no {kind.__name__}: add one to one_of_each_kind()"
    return found[0]
