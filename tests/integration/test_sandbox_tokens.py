"""Sandbox: customer tokens, the legacy way to share a platform customer's card with a connected account."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

from reconcile.sandbox import running_sandbox


def on(account: str) -> stripe.RequestOptions:
    return {"stripe_account": account}


@pytest.fixture
def platform_customer(stripe_client: stripe.StripeClient) -> stripe.Customer:
    return stripe_client.v1.customers.create({"email": "alice@example.com", "source": "tok_visa"})


def test_customer_token_copies_the_platform_default_card(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, connected_account: str
) -> None:
    platform_card = stripe_client.v1.customers.payment_sources.retrieve(
        platform_customer.id, str(platform_customer.default_source)
    )
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id}, on(connected_account))
    assert token.id.startswith("tok_")
    assert (token.type, token.used) == ("card", False)
    copied = token.card
    assert copied is not None
    same = ("brand", "last4", "exp_month", "exp_year", "fingerprint", "funding", "country")
    assert {name: copied[name] for name in same} == {name: platform_card[name] for name in same}
    assert copied.id != platform_card.id


def test_copy_made_from_the_token_keeps_the_card_and_fingerprint(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, connected_account: str
) -> None:
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id}, on(connected_account))
    copy = stripe_client.v1.customers.create(
        {"email": "alice@example.com", "source": token.id, "expand": ["default_source"]}, on(connected_account)
    )
    platform = stripe_client.v1.customers.retrieve(platform_customer.id, {"expand": ["default_source"]})
    assert copy.default_source.id == token.card.id
    assert copy.default_source.fingerprint == platform.default_source.fingerprint
    assert stripe_client.v1.tokens.retrieve(token.id, options=on(connected_account)).used is True


def test_customer_token_is_single_use(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, connected_account: str
) -> None:
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id}, on(connected_account))
    stripe_client.v1.customers.create({"source": token.id}, on(connected_account))
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.customers.create({"source": token.id}, on(connected_account))
    assert refused.value.http_status == 400
    assert (refused.value.code, refused.value.param) == ("token_already_used", "source")
    assert refused.value.user_message == f"You cannot use a Stripe token more than once: {token.id}."
    assert len(stripe_client.v1.customers.list(options=on(connected_account)).data) == 1


def test_customer_token_works_only_on_the_account_it_was_made_for(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, make_account: Callable[..., str]
) -> None:
    made_for, other = make_account(), make_account()
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id}, on(made_for))
    for options in (on(other), None):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            stripe_client.v1.customers.create({"source": token.id}, options)
        assert (missing.value.code, missing.value.user_message) == ("resource_missing", f"No such token: '{token.id}'")
        with pytest.raises(stripe.InvalidRequestError):
            stripe_client.v1.tokens.retrieve(token.id, options=options)
    assert stripe_client.v1.customers.create({"source": token.id}, on(made_for)).default_source == token.card.id


def test_customer_token_needs_the_stripe_account_header(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.tokens.create({"customer": platform_customer.id})
    assert (refused.value.http_status, refused.value.param) == (400, "customer")
    assert "Stripe-Account" in (refused.value.user_message or "")


def test_customer_token_for_an_unknown_customer_is_refused(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.tokens.create({"customer": "cus_unknown"}, on(connected_account))
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (400, "resource_missing", "customer")
    assert missing.value.user_message == "No such customer: 'cus_unknown'"


def test_customer_token_needs_a_platform_customer_not_one_of_the_account(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    local = stripe_client.v1.customers.create({"source": "tok_visa"}, on(connected_account))
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.tokens.create({"customer": local.id}, on(connected_account))
    assert missing.value.code == "resource_missing"


def test_customer_token_for_a_customer_without_default_source_is_refused(
    stripe_client: stripe.StripeClient, connected_account: str
) -> None:
    bare = stripe_client.v1.customers.create({"email": "bare@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.tokens.create({"customer": bare.id}, on(connected_account))
    assert (refused.value.http_status, refused.value.param) == (400, "customer")
    assert refused.value.user_message == f"Customer {bare.id} has no default source to create a token from."


def test_customer_token_can_copy_a_chosen_card(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, connected_account: str
) -> None:
    amex = stripe_client.v1.customers.payment_sources.create(platform_customer.id, {"source": "tok_amex"})
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id, "card": amex.id}, on(connected_account))
    assert token.card.brand == "American Express"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.tokens.create({"customer": platform_customer.id, "card": "card_other"}, on(connected_account))
    assert refused.value.param == "card"


def test_token_request_without_customer_is_refused(stripe_client: stripe.StripeClient, connected_account: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.tokens.create({}, on(connected_account))
    assert refused.value.user_message == "You must supply either a card, customer, or bank account to create a token."


def test_test_tokens_can_be_used_again_and_again(stripe_client: stripe.StripeClient) -> None:
    first = stripe_client.v1.customers.create({"source": "tok_visa"})
    second = stripe_client.v1.customers.create({"source": "tok_visa"})
    assert first.default_source != second.default_source


def test_test_tokens_do_not_exist_in_live_mode() -> None:
    with running_sandbox(api_keys=("sk_live_platform",)) as sandbox:
        live = stripe.StripeClient("sk_live_platform", base_addresses={"api": sandbox.url}, max_network_retries=0)
        with pytest.raises(stripe.InvalidRequestError) as missing:
            live.v1.customers.create({"source": "tok_visa"})
        assert missing.value.user_message == "No such token: 'tok_visa'"


def test_tokens_expire_after_the_configured_time() -> None:
    with running_sandbox(token_ttl=0, accounts=["acct_1Shop"]) as sandbox:
        client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url}, max_network_retries=0)
        customer = client.v1.customers.create({"source": "tok_visa"})
        token = client.v1.tokens.create({"customer": customer.id}, on("acct_1Shop"))
        with pytest.raises(stripe.InvalidRequestError) as expired:
            client.v1.customers.create({"source": token.id}, on("acct_1Shop"))
        assert expired.value.user_message == f"No such token: '{token.id}'"
        with pytest.raises(stripe.InvalidRequestError) as gone:
            client.v1.tokens.retrieve(token.id, options=on("acct_1Shop"))
        assert gone.value.http_status == 404


def test_token_is_not_spent_by_a_create_that_fails(
    stripe_client: stripe.StripeClient, platform_customer: stripe.Customer, connected_account: str
) -> None:
    token = stripe_client.v1.tokens.create({"customer": platform_customer.id}, on(connected_account))
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.create({"source": token.id, "payment_method": "pm_unknown"}, on(connected_account))
    assert stripe_client.v1.customers.list(options=on(connected_account)).data == []
    assert stripe_client.v1.tokens.retrieve(token.id, options=on(connected_account)).used is False
    assert (
        stripe_client.v1.customers.create({"source": token.id}, on(connected_account)).default_source == token.card.id
    )
