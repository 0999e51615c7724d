"""Builders the unit tests share: plan vocabulary spelled as plan files spell it, one action of each kind."""

from __future__ import annotations

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
from reconcile.model import Strategy, field_path

BOOKSHOP = {"account": "bookshop", "account_id": "acct_1BookshopAAAAAAAA"}


def change(field: str, before: str | None, after: str | Unknown | None) -> FieldChange:
    """A FieldChange of the field a plan file names ``field`` (``email``, ``metadata.tier``)."""
    return FieldChange(field_path(field), before, after)


def one_of_each_kind() -> tuple[Action, ...]:
    """An action of every kind, as the planner makes them (values unknown until apply included)."""
    create = CreateCustomer(customer_key="alice", changes=(change("email", None, "alice@example.com"),))
    attach = AttachSource(customer_key="alice", platform_customer=UNKNOWN, source="tok_visa", after=(create.id,))
    return (
        create,
        UpdateCustomer(
            customer_key="bob", platform_customer="cus_PlatformBob0000", changes=(change("name", "B", "Bob"),)
        ),
        attach,
        Share(
            customer_key="alice",
            **BOOKSHOP,
            platform_customer=UNKNOWN,
            source=UNKNOWN,
            strategy=Strategy.TOKEN,
            changes=(
                change("email", None, "alice@example.com"),
                change("metadata.reconcile_platform_customer", None, UNKNOWN),
            ),
            after=(create.id, attach.id),
        ),
        UpdateShare(
            customer_key="bob",
            **BOOKSHOP,
            platform_customer="cus_PlatformBob0000",
            copy="cus_BookshopBob0000",
            changes=(change("metadata.note", "call first", None),),
        ),
        RotateSource(
            customer_key="carol",
            **BOOKSHOP,
            platform_customer="cus_PlatformCarol00",
            copy="cus_BookshopCarol00",
            source="card_1NewCard00000000",
            strategy=Strategy.PAYMENT_METHOD,
            changes=(
                change("invoice_settings.default_payment_method", "pm_1OldClone0000000", UNKNOWN),
                change("metadata.reconcile_source", "card_1OldCard00000000", "card_1NewCard00000000"),
            ),
        ),
        Unshare(customer_key="dave", **BOOKSHOP, platform_customer="cus_PlatformDave000", copy="cus_BookshopDave000"),
        Adopt(
            customer_key="erin",
            **BOOKSHOP,
            platform_customer="cus_PlatformErin000",
            copy="cus_BookshopWalkIn0",
            changes=(change("metadata.reconcile_owner", None, "acme"),),
        ),
    )
