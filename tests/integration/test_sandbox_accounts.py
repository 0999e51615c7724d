"""Sandbox: the platform account, connected accounts, and Stripe-Account scoping."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

from reconcile.sandbox import Sandbox, running_sandbox
from tests.conftest import RawRequest

BOOKSHOP = "acct_1BookshopAAAAAAAA"


def not_connected_message(account: str) -> str:
    return (
        f"The provided key 'sk_test_***dbox' does not have access to account '{account}' (or that account "
        "does not exist). Application access may have been revoked."
    )


def test_get_v1_account_is_the_platform(stripe_client: stripe.StripeClient, sandbox: Sandbox) -> None:
    platform = stripe_client.v1.accounts.retrieve_current()
    assert platform.id == sandbox.platform_account_id
    assert platform.object == "account"
    assert platform.id.startswith("acct_")
    assert len(platform.id) == 21


def test_get_v1_account_under_stripe_account_is_that_account(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    account = stripe_client.v1.accounts.retrieve_current(options={"stripe_account": connected_account})
    assert account.id == connected_account


def test_connected_account_can_be_created_retrieved_updated_and_deleted(stripe_client: stripe.StripeClient) -> None:
    created = stripe_client.v1.accounts.create(
        {"type": "express", "country": "GB", "email": "shop@example.com", "metadata": {"shop": "1"}}
    )
    assert (created.type, created.country, created.default_currency) == ("express", "GB", "gbp")
    assert stripe_client.v1.accounts.retrieve(created.id).email == "shop@example.com"
    updated = stripe_client.v1.accounts.update(
        created.id, {"business_profile": {"name": "The Shop"}, "metadata": {"tier": "gold"}}
    )
    assert updated.business_profile.name == "The Shop"
    assert updated.metadata.to_dict() == {"shop": "1", "tier": "gold"}
    deleted = stripe_client.v1.accounts.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.accounts.retrieve(created.id)


def test_accounts_are_listed_newest_first_without_the_platform(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    ids = [stripe_client.v1.accounts.create({"type": "standard"}).id for _ in range(3)]
    listed = stripe_client.v1.accounts.list({"limit": 2})
    assert [account.id for account in listed.data] == [ids[2], ids[1]]
    assert listed.has_more is True
    assert [account.id for account in stripe_client.v1.accounts.list().auto_paging_iter()] == ids[::-1]
    assert sandbox.platform_account_id not in ids


def test_account_with_a_given_id_is_kept_as_given(sandbox: Sandbox, stripe_client: stripe.StripeClient) -> None:
    sandbox.add_account(BOOKSHOP)
    sandbox.add_account(BOOKSHOP)  # a second time changes nothing
    assert [account.id for account in stripe_client.v1.accounts.list().data] == [BOOKSHOP]
    assert stripe_client.v1.accounts.retrieve(BOOKSHOP).id == BOOKSHOP


def test_running_sandbox_creates_the_accounts_it_is_given() -> None:
    with running_sandbox(accounts=[BOOKSHOP, "acct_1CoffeeBBBBBBBBBB"]) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url}, max_network_retries=0)
        customer = client.v1.customers.create({"email": "a@example.com"}, {"stripe_account": BOOKSHOP})
        assert customer.id.startswith("cus_")


def test_stripe_account_not_connected_is_refused_with_stripes_403(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/customers", headers={"Stripe-Account": "acct_1NotConnected000"})
    assert answer.status == 403
    assert answer.body == {
        "error": {
            "type": "invalid_request_error",
            "code": "account_invalid",
            "doc_url": "https://stripe.com/docs/error-codes/account-invalid",
            "message": not_connected_message("acct_1NotConnected000"),
        }
    }


def test_the_sdk_raises_permission_error_for_an_account_not_connected(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as refused:
        stripe_client.v1.customers.create({"email": "a@example.com"}, {"stripe_account": "acct_1Stranger0000"})
    assert refused.value.http_status == 403
    assert refused.value.json_body["error"]["code"] == "account_invalid"


def test_unknown_account_id_in_the_path_is_refused_like_stripe(raw: RawRequest) -> None:
    answer = raw("GET", "/v1/accounts/acct_1NotConnected000")
    assert answer.status == 403
    assert answer.error["message"] == not_connected_message("acct_1NotConnected000")


def test_deleted_account_is_no_longer_reachable(
    stripe_client: stripe.StripeClient, connected_account: str, raw: RawRequest
) -> None:
    stripe_client.v1.accounts.delete(connected_account)
    answer = raw("GET", "/v1/customers", headers={"Stripe-Account": connected_account})
    assert answer.status == 403


def test_objects_of_one_account_are_invisible_from_another(
    stripe_client: stripe.StripeClient, make_account: Callable[..., str]
) -> None:
    first, second = make_account(), make_account()
    on_first = stripe_client.v1.customers.create({"email": "a@example.com"}, {"stripe_account": first})
    on_platform = stripe_client.v1.customers.create({"email": "p@example.com"})
    assert [c.id for c in stripe_client.v1.customers.list(options={"stripe_account": first}).data] == [on_first.id]
    assert stripe_client.v1.customers.list(options={"stripe_account": second}).data == []
    assert [c.id for c in stripe_client.v1.customers.list().data] == [on_platform.id]
    for account, customer_id in ((second, on_first.id), (None, on_first.id), (first, on_platform.id)):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            stripe_client.v1.customers.retrieve(customer_id, options={"stripe_account": account})
        assert missing.value.http_status == 404


def test_a_connected_account_sees_no_connected_accounts(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    assert stripe_client.v1.accounts.list(options={"stripe_account": connected_account}).data == []


def test_an_account_id_must_look_like_one(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="not an account id"):
        sandbox.add_account("bookshop")
