"""Sandbox webhooks without HTTP: signatures, loopback targets, the retry schedule, previous_attributes."""

from __future__ import annotations

import time

import pytest
import stripe

from reconcile.sandbox.events import previous_attributes, type_pattern
from reconcile.sandbox.webhooks import DeliveryPolicy, Target, loopback_target, signature_header

SECRET = "whsec_0123456789abcdefghijklmnopqrstuv"


def test_the_official_sdk_verifies_the_signature_header() -> None:
    payload = b'{\n  "id": "evt_1",\n  "object": "event",\n  "type": "customer.created"\n}'
    header = signature_header(payload, SECRET, int(time.time()))
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, tolerance=300)


def test_the_signature_is_an_hmac_sha256_of_timestamp_dot_payload() -> None:
    # Computed independently: printf '1492774577.{"id": "evt_test"}' | openssl dgst -sha256 -hmac whsec_test
    header = signature_header(b'{"id": "evt_test"}', "whsec_test", 1492774577)
    assert header == "t=1492774577,v1=73052e61c35cb82f6e048de7724485805fce9dd9b05de3b30f165ea85d44fe5c"


def test_an_old_signature_fails_the_sdks_tolerance() -> None:
    payload = b"{}"
    header = signature_header(payload, SECRET, int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, tolerance=300)


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://127.0.0.1:8080/webhooks", Target(False, "127.0.0.1", 8080, "/webhooks")),
        ("http://127.5.6.7/a?b=c", Target(False, "127.5.6.7", 80, "/a?b=c")),
        ("https://[::1]:9443", Target(True, "::1", 9443, "/")),
        ("http://localhost:3000/stripe", Target(False, "localhost", 3000, "/stripe")),
    ],
)
def test_loopback_urls_are_targets(url: str, target: Target) -> None:
    assert loopback_target(url) == target


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "http://192.168.1.10/hook", "http://[fe80::1]/hook", "http://0.0.0.0/", "ftp://127.0.0.1/"],
)
def test_other_urls_are_refused_with_a_reason(url: str) -> None:
    assert isinstance(loopback_target(url), str)


def test_retries_double_from_the_base_until_the_window_ends() -> None:
    policy = DeliveryPolicy(retry_base_ms=1000, retry_for_s=10)
    assert policy.next_attempt(queued=0, failed_attempts=1, now=0) == 1
    assert policy.next_attempt(queued=0, failed_attempts=2, now=1) == 3
    assert policy.next_attempt(queued=0, failed_attempts=3, now=3) == 7
    assert policy.next_attempt(queued=0, failed_attempts=4, now=7) is None  # 15 s: past the 10 s window


def test_stripes_default_schedule_retries_for_three_days() -> None:
    policy, now, attempts = DeliveryPolicy(), 0.0, 1
    while (retry := policy.next_attempt(0, attempts, now)) is not None:
        now, attempts = retry, attempts + 1
    assert 2 * 24 * 3600 < now <= 3 * 24 * 3600
    assert attempts == 13  # the first and 12 retries, 1 min to 34 h apart, the last 2.8 days after the first


def test_previous_attributes_keep_only_what_changed() -> None:
    before = {"email": "a@example.com", "name": "A", "metadata": {"tier": "gold", "x": "1"}, "locales": ["en"]}
    after = {"email": "a@example.com", "name": "B", "metadata": {"tier": "gold", "y": "2"}, "locales": ["fr"]}
    assert previous_attributes(before, after) == {
        "name": "A",
        "metadata": {"y": None, "x": "1"},
        "locales": ["en"],
    }


def test_a_hash_set_from_null_is_shown_as_null() -> None:
    assert previous_attributes({"address": None}, {"address": {"city": "Oxford"}}) == {"address": None}


def test_type_patterns_treat_only_the_star_as_a_wildcard() -> None:
    assert type_pattern("customer.*") == "customer.*"
    assert type_pattern("customer.?[") == "customer.[?][[]"
