"""Customer details (address, shipping, locales, tax status, invoice settings) on copies, over HTTP.

Every check reads Stripe's side through the official SDK: what apply shares, what a hand edit on a
copy changes, how a plan shows it (``address.city``) and that apply repairs it, clears it, overrides
it per account, and leaves it alone when ``ignore_changes`` names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import stripe

from tests.support import BOOKSHOP, COFFEE, Reconcile


@dataclass(frozen=True)
class Detail:
    """One detail: how the file declares it, how it reads on Stripe, and a hand edit of one leaf."""

    path: str  # the leaf a plan names when the hand edit below drifts it
    declared: str  # YAML, under the customer
    value: object  # what `path` reads on Stripe once applied
    override: str  # YAML, under a per-account entry
    overridden: object
    drift: dict[str, Any]  # SDK update params a seller might send by hand
    drifted: object
    cleared: str  # the one form that clears it
    empty: object  # what `path` reads once cleared


ADDRESS = {"line1": "1 Rabbit Hole", "city": "Oxford", "postal_code": "OX1 1AA", "country": "GB"}

DETAILS = [
    Detail(
        path="address.city",
        declared="address: {line1: 1 Rabbit Hole, city: Oxford, postal_code: OX1 1AA, country: GB}",
        value="Oxford",
        override="address: {line1: 2 Pool of Tears, city: Cambridge, country: GB}",
        overridden="Cambridge",
        drift={"address": {**ADDRESS, "city": "London"}},
        drifted="London",
        cleared="address: {}",
        empty=None,
    ),
    Detail(
        path="shipping.name",
        declared="shipping: {name: Alice Liddell, phone: '+15555550100', address: {city: Oxford, country: GB}}",
        value="Alice Liddell",
        override="shipping: {name: Alice at the cafe, address: {city: Oxford, country: GB}}",
        overridden="Alice at the cafe",
        drift={
            "shipping": {"name": "Mallory", "phone": "+15555550100", "address": {"city": "Oxford", "country": "GB"}}
        },
        drifted="Mallory",
        cleared="shipping: {}",
        empty=None,
    ),
    Detail(
        path="preferred_locales",
        declared="preferred_locales: [en-GB, fr]",
        value=["en-GB", "fr"],
        override="preferred_locales: [de]",
        overridden=["de"],
        drift={"preferred_locales": ["es"]},
        drifted=["es"],
        cleared="preferred_locales: []",
        empty=[],
    ),
    Detail(
        path="tax_exempt",
        declared="tax_exempt: exempt",
        value="exempt",
        override="tax_exempt: reverse",
        overridden="reverse",
        drift={"tax_exempt": "none"},
        drifted="none",
        cleared="tax_exempt: none",
        empty="none",
    ),
]


def _file(customer: str, coffee: str = "coffee", ignore: str = "") -> str:
    ignored = f"\n    ignore_changes: [{ignore}]" if ignore else ""
    return f"""\
version: 1
owner: acme
mode: test
accounts: {{bookshop: {BOOKSHOP}, coffee: {COFFEE}}}
customers:
  alice:
    email: alice@example.com
    {customer}
    payment: {{source: tok_visa}}{ignored}
    accounts: [bookshop, {coffee}]
"""


def read(customer: Any, path: str) -> object:
    """A dotted path of a Stripe customer, as the SDK returns it."""
    node: object = customer.to_dict()
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def copy_on(client: stripe.StripeClient, account: str) -> Any:
    (copy,) = client.v1.customers.list({}, {"stripe_account": account}).data
    return copy


def platform(client: stripe.StripeClient) -> Any:
    (customer,) = client.v1.customers.list({"email": "alice@example.com"}).data
    return customer


def applied(reconcile: Reconcile, path: Any) -> None:
    result = reconcile("apply", path, "--auto-approve", "--max-rps", "1000")
    assert result.exit_code == 0, result.stdout + result.stderr


def no_changes(reconcile: Reconcile, path: Any) -> None:
    result = reconcile("plan", path, "--detailed-exitcode")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "No changes." in result.stdout


@pytest.mark.parametrize("detail", DETAILS, ids=lambda d: d.path)
def test_detail_is_shared_drift_is_repaired_and_the_empty_form_clears_it(
    detail: Detail, reconcile: Reconcile, write_file: Any, accounts: Any, stripe_client: stripe.StripeClient
) -> None:
    path = write_file(_file(detail.declared))
    applied(reconcile, path)
    assert read(platform(stripe_client), detail.path) == detail.value
    for account in (BOOKSHOP, COFFEE):
        assert read(copy_on(stripe_client, account), detail.path) == detail.value
    no_changes(reconcile, path)

    # A seller edits its copy by hand: the plan names the leaf, apply puts the file's value back.
    stripe_client.v1.customers.update(copy_on(stripe_client, BOOKSHOP).id, detail.drift, {"stripe_account": BOOKSHOP})
    planned = reconcile("plan", path, "--format", "json", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stdout + planned.stderr
    (action,) = json.loads(planned.stdout)["actions"]
    assert (action["action"], action["account"]) == ("update_share", "bookshop")
    assert list(action["changes"]) == [detail.path]
    assert action["changes"][detail.path] == [detail.drifted, detail.value]
    applied(reconcile, path)
    repaired = copy_on(stripe_client, BOOKSHOP)
    assert read(repaired, detail.path) == detail.value
    if detail.path == "address.city":  # sent whole: the parts that did not drift are still there
        assert repaired.address.to_dict() == {**ADDRESS, "line2": None, "state": None}
    no_changes(reconcile, path)

    # The empty form clears it on the platform customer and on every copy.
    write_file(_file(detail.cleared))
    applied(reconcile, path)
    assert read(platform(stripe_client), detail.path) in (detail.empty, None)
    for account in (BOOKSHOP, COFFEE):
        assert read(copy_on(stripe_client, account), detail.path) in (detail.empty, None)
    no_changes(reconcile, path)


@pytest.mark.parametrize("detail", DETAILS, ids=lambda d: d.path)
def test_detail_overridden_per_account_and_ignored_drift_is_left_alone(
    detail: Detail, reconcile: Reconcile, write_file: Any, accounts: Any, stripe_client: stripe.StripeClient
) -> None:
    path = write_file(_file(detail.declared, coffee=f"{{account: coffee, {detail.override}}}"))
    applied(reconcile, path)
    assert read(copy_on(stripe_client, BOOKSHOP), detail.path) == detail.value
    assert read(copy_on(stripe_client, COFFEE), detail.path) == detail.overridden
    assert read(platform(stripe_client), detail.path) == detail.value
    no_changes(reconcile, path)

    write_file(_file(detail.declared, coffee=f"{{account: coffee, {detail.override}}}", ignore=detail.path))
    stripe_client.v1.customers.update(copy_on(stripe_client, BOOKSHOP).id, detail.drift, {"stripe_account": BOOKSHOP})
    no_changes(reconcile, path)
    assert read(copy_on(stripe_client, BOOKSHOP), detail.path) == detail.drifted


def test_a_detail_left_out_of_the_file_is_not_managed(
    reconcile: Reconcile, write_file: Any, accounts: Any, stripe_client: stripe.StripeClient
) -> None:
    path = write_file(_file("name: Alice Liddell"))
    applied(reconcile, path)
    copy = copy_on(stripe_client, BOOKSHOP)
    stripe_client.v1.customers.update(
        copy.id, {"address": ADDRESS, "tax_exempt": "exempt"}, {"stripe_account": BOOKSHOP}
    )
    stripe_client.v1.customers.update(platform(stripe_client).id, {"preferred_locales": ["fr"]})
    no_changes(reconcile, path)


def test_ignoring_one_address_part_keeps_it_when_another_part_is_repaired(
    reconcile: Reconcile, write_file: Any, accounts: Any, stripe_client: stripe.StripeClient
) -> None:
    declared = "address: {line1: 1 Rabbit Hole, city: Oxford, country: GB}"
    path = write_file(_file(declared, ignore="address.line2"))
    applied(reconcile, path)
    copy = copy_on(stripe_client, BOOKSHOP)
    hand = {"line1": "1 Rabbit Hole", "line2": "Flat 2", "city": "London", "country": "GB"}
    stripe_client.v1.customers.update(copy.id, {"address": hand}, {"stripe_account": BOOKSHOP})
    planned = reconcile("plan", path, "--format", "json")
    (action,) = json.loads(planned.stdout)["actions"]
    assert action["changes"] == {"address.city": ["London", "Oxford"]}
    # Stripe replaces an address whole, so the parts that stay are sent again, the ignored one as it is.
    assert action["kept"] == {"address.line1": "1 Rabbit Hole", "address.line2": "Flat 2", "address.country": "GB"}
    applied(reconcile, path)
    assert copy_on(stripe_client, BOOKSHOP).address.to_dict() == {
        "line1": "1 Rabbit Hole",
        "line2": "Flat 2",
        "city": "Oxford",
        "state": None,
        "postal_code": None,
        "country": "GB",
    }


def test_a_nested_change_is_named_by_its_path_in_every_format(
    reconcile: Reconcile, write_file: Any, accounts: Any, stripe_client: stripe.StripeClient
) -> None:
    path = write_file(_file(DETAILS[0].declared))
    applied(reconcile, path)
    stripe_client.v1.customers.update(
        copy_on(stripe_client, COFFEE).id, {"address": {**ADDRESS, "city": "London"}}, {"stripe_account": COFFEE}
    )
    text = reconcile("plan", path).stdout
    assert "~ update_share alice @ coffee" in text
    assert '    address.city: "London" -> "Oxford"' in text.splitlines()
    markdown = reconcile("plan", path, "--format", "markdown").stdout
    assert '  - `address.city`: `"London"` → `"Oxford"`' in markdown.splitlines()
    (action,) = json.loads(reconcile("plan", path, "--format", "json").stdout)["actions"]
    assert action["changes"] == {"address.city": ["London", "Oxford"]}
