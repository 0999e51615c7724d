"""Customer details in plans: compared whole, diffed by path, cleared as Stripe clears them; no HTTP."""

from __future__ import annotations

from dataclasses import replace

from reconcile.actions import ActionKind, CreateCustomer, KeptValue, Share, UpdateShare
from reconcile.executor import payload
from reconcile.model import (
    KEY_KEY,
    OWNER_KEY,
    PLATFORM_CUSTOMER_KEY,
    SOURCE_KEY,
    Address,
    Customer,
    CustomerSpec,
    CustomField,
    DesiredState,
    Details,
    Fields,
    Mode,
    ObservedState,
    ShareSpec,
    Shipping,
    Strategy,
    field_path,
    frozen_map,
)
from reconcile.plan import Plan, action_from_json, action_to_json
from reconcile.planner import plan
from reconcile.render import render

OWNER = "acme"
BOOKSHOP = "acct_1BookshopAAAAAAAA"
COFFEE = "acct_1CoffeeBBBBBBBBBB"
CARD = "card_1PlatformAlice0001"
OXFORD = Address(line1="1 Rabbit Hole", city="Oxford", postal_code="OX1 1AA", country="GB")


def desired(details: Details, *, ignore: frozenset[str] = frozenset(), coffee: Details | None = None) -> DesiredState:
    shares = (
        ShareSpec(alias="bookshop", account_id=BOOKSHOP),
        ShareSpec(alias="coffee", account_id=COFFEE, overrides=Fields(details=coffee or Details())),
    )
    alice = CustomerSpec(
        key="alice",
        fields=Fields(email="alice@example.com", details=details),
        payment_source="tok_visa",
        ignore_changes=ignore,
        shares=shares,
    )
    return DesiredState(
        owner=OWNER,
        mode=Mode.TEST,
        strategy=Strategy.TOKEN,
        accounts={"bookshop": BOOKSHOP, "coffee": COFFEE},
        customers=(alice,),
    )


def customer(id: str, details: Details, **ownership: str) -> Customer:
    metadata = {OWNER_KEY: OWNER, KEY_KEY: "alice", **ownership}
    fields = Fields(email="alice@example.com", metadata=frozen_map(metadata), details=details)
    return Customer(id=id, fields=fields, default_source=CARD)


def observed(platform: Details, bookshop: Details, coffee: Details | None = None) -> ObservedState:
    copy = {PLATFORM_CUSTOMER_KEY: "cus_PlatformAlice00", SOURCE_KEY: CARD}
    return ObservedState(
        platform=(customer("cus_PlatformAlice00", platform),),
        accounts={
            BOOKSHOP: (customer("cus_BookshopAlice00", bookshop, **copy),),
            COFFEE: (customer("cus_CoffeeAlice0000", platform if coffee is None else coffee, **copy),),
        },
    )


def update_share(result: Plan) -> UpdateShare:
    (action,) = result.actions
    assert isinstance(action, UpdateShare), action
    return action


def changes(action: UpdateShare) -> dict[str, tuple[object, object]]:
    return {c.field: (c.before, c.after) for c in action.changes}


def test_converged_details_plan_nothing() -> None:
    details = Details(address=OXFORD, preferred_locales=("en-GB",), tax_exempt="exempt")
    assert plan(desired(details), observed(details, details)).actions == ()


def test_one_drifted_address_part_is_one_change_and_the_other_parts_are_kept() -> None:
    drifted = Details(address=replace(OXFORD, city="London"))
    action = update_share(plan(desired(Details(address=OXFORD)), observed(Details(address=OXFORD), drifted)))
    assert (action.account, changes(action)) == ("bookshop", {"address.city": ("London", "Oxford")})
    assert [(k.field, k.value) for k in action.kept] == [
        ("address.line1", "1 Rabbit Hole"),
        ("address.postal_code", "OX1 1AA"),
        ("address.country", "GB"),
    ]
    # Stripe replaces an address whole: the update sends every part, "" for the unset ones.
    assert payload(action) == {
        "address": {
            "line1": "1 Rabbit Hole",
            "line2": "",
            "city": "Oxford",
            "state": "",
            "postal_code": "OX1 1AA",
            "country": "GB",
        }
    }


def test_an_emptied_address_is_planned_as_cleared_never_skipped() -> None:
    result = plan(desired(Details(address=Address())), observed(Details(address=OXFORD), Details(address=OXFORD)))
    assert [a.kind for a in result.actions] == [
        ActionKind.UPDATE_CUSTOMER,
        ActionKind.UPDATE_SHARE,
        ActionKind.UPDATE_SHARE,
    ]
    for action in result.actions:
        assert isinstance(action, UpdateShare) or action.kind is ActionKind.UPDATE_CUSTOMER
        assert {c.field: c.after for c in action.changes} == {
            "address.city": None,
            "address.country": None,
            "address.line1": None,
            "address.postal_code": None,
        }
        assert action.kept == ()
        assert payload(action) == {"address": ""}  # how Stripe clears an address


def test_emptied_lists_footer_and_shipping_are_sent_as_empty_strings() -> None:
    live = Details(
        shipping=Shipping(name="Alice", address=OXFORD),
        preferred_locales=("fr",),
        invoice_footer="Thanks",
        invoice_custom_fields=(CustomField("VAT", "GB1"),),
        tax_exempt="exempt",
    )
    cleared = Details(
        shipping=Shipping(), preferred_locales=(), invoice_footer="", invoice_custom_fields=(), tax_exempt="none"
    )
    action = update_share(plan(desired(cleared, coffee=live), observed(cleared, live, coffee=live)))
    assert payload(action) == {
        "shipping": "",
        "preferred_locales": "",
        "tax_exempt": "none",
        "invoice_settings": {"footer": "", "custom_fields": ""},
    }


def test_a_detail_the_file_leaves_out_is_not_planned() -> None:
    assert plan(desired(Details()), observed(Details(address=OXFORD), Details(tax_exempt="reverse"))).actions == ()


def test_a_per_account_detail_replaces_the_customers_on_that_copy_only() -> None:
    cambridge = Address(line1="2 Pool of Tears", city="Cambridge", country="GB")
    result = plan(
        desired(Details(address=OXFORD), coffee=Details(address=cambridge)),
        observed(Details(address=OXFORD), Details(address=OXFORD), coffee=Details(address=OXFORD)),
    )
    action = update_share(result)
    assert action.account == "coffee"
    assert changes(action) == {
        "address.city": ("Oxford", "Cambridge"),
        "address.line1": ("1 Rabbit Hole", "2 Pool of Tears"),
        "address.postal_code": ("OX1 1AA", None),
    }
    assert [(k.field, k.value) for k in action.kept] == [("address.country", "GB")]


def test_ignoring_an_address_part_holds_it_and_sends_it_again() -> None:
    hand = replace(OXFORD, line2="Flat 2", city="London")
    action = update_share(
        plan(
            desired(Details(address=OXFORD), ignore=frozenset({"address.line2"})),
            observed(Details(address=OXFORD), Details(address=hand)),
        )
    )
    assert changes(action) == {"address.city": ("London", "Oxford")}
    assert KeptValue(field_path("address.line2"), "Flat 2") in action.kept


def test_ignoring_a_detail_covers_every_part_of_it() -> None:
    declared = Details(shipping=Shipping(name="Alice", address=OXFORD))
    hand = Details(shipping=Shipping(name="Mallory", phone="+15555550199", address=replace(OXFORD, city="Leeds")))
    result = plan(desired(declared, ignore=frozenset({"shipping"})), observed(declared, hand))
    assert result.actions == ()
    result = plan(desired(declared, ignore=frozenset({"shipping.address"})), observed(declared, hand))
    assert changes(update_share(result)) == {
        "shipping.name": ("Mallory", "Alice"),
        "shipping.phone": ("+15555550199", None),
    }


def test_locales_are_one_ordered_value() -> None:
    action = update_share(
        plan(
            desired(Details(preferred_locales=("en-GB", "fr"))),
            observed(Details(preferred_locales=("en-GB", "fr")), Details(preferred_locales=("fr", "en-GB"))),
        )
    )
    assert changes(action) == {"preferred_locales": (("fr", "en-GB"), ("en-GB", "fr"))}
    assert payload(action) == {"preferred_locales": ["en-GB", "fr"]}


def test_tax_exempt_none_is_stripes_default_not_a_change() -> None:
    assert plan(desired(Details(tax_exempt="none")), observed(Details(), Details())).actions == ()


def test_new_customer_and_copies_carry_the_declared_details() -> None:
    details = Details(address=OXFORD, invoice_custom_fields=(CustomField("VAT", "GB1"),))
    result = plan(desired(details), ObservedState(platform=(), accounts={}))
    create = next(a for a in result.actions if isinstance(a, CreateCustomer))
    assert payload(create)["address"]["city"] == "Oxford"
    assert payload(create)["invoice_settings"] == {"custom_fields": [{"name": "VAT", "value": "GB1"}]}
    share = next(a for a in result.actions if isinstance(a, Share))
    assert {c.field for c in share.changes} >= {"address.city", "address.line1", "invoice_settings.custom_fields"}


def test_detail_changes_and_kept_parts_survive_a_plan_file() -> None:
    live = Details(address=replace(OXFORD, city="London"), invoice_custom_fields=(CustomField("VAT", "GB0"),))
    wanted = Details(address=OXFORD, invoice_custom_fields=(CustomField("VAT", "GB1"),), preferred_locales=("fr",))
    action = update_share(plan(desired(wanted), observed(wanted, live)))
    assert action_from_json(action_to_json(action)) == action
    assert action_to_json(action)["changes"]["invoice_settings.custom_fields"] == [
        [{"name": "VAT", "value": "GB0"}],
        [{"name": "VAT", "value": "GB1"}],
    ]


def test_redaction_masks_a_shipping_phone() -> None:
    declared = Details(shipping=Shipping(name="Alice", phone="+15555550100", address=OXFORD))
    result = plan(desired(declared), observed(declared, Details()))
    text = render(result, "text", redact=True, color=False)
    assert '    shipping.phone: null -> "+1******0100"' in text.splitlines()
