"""Renderer tests: golden files for text, json and markdown, redaction, colour and the JSON shape.

Each golden plan is made by the real planner from two snapshots, so the files show real plans.
The expected outputs live in ``tests/golden/plan_<case>.txt|json|md`` (black's tests/data/cases).
After an intended change to the renderer or the planner, regenerate them and review the diff:

    RECONCILE_UPDATE_GOLDEN=1 pytest tests/unit/test_render.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconcile.actions import ActionKind, Adopt, UpdateCustomer
from reconcile.errors import ReconcileError
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
from reconcile.render import FORMATS, mask_email, mask_phone, mask_text, render
from tests.builders import change

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
PLAN_SCHEMA = ROOT / "docs" / "plan.schema.json"
UPDATE = os.environ.get("RECONCILE_UPDATE_GOLDEN") == "1"

OWNER = "acme-marketplace"
ACCOUNTS = {"bookshop": "acct_1BookshopAAAAAAAA", "coffee": "acct_1CoffeeBBBBBBBBBB"}
CARD = "card_1PlatformAlice0001"
ALICE = {"email": "alice@example.com", "name": "Alice Liddell", "phone": "+15555550100"}

# -- snapshots -------------------------------------------------------------------------------------


def spec(key: str, *shares: str | ShareSpec, **options: Any) -> CustomerSpec:
    """A declared customer; ``options`` are Fields names plus id, payment_source and ignore_changes."""
    metadata = options.pop("metadata", None)
    return CustomerSpec(
        key=key,
        id=options.pop("id", None),
        payment_source=options.pop("payment_source", "tok_visa"),
        ignore_changes=frozenset(options.pop("ignore_changes", ())),
        strategy=Strategy.TOKEN,
        fields=Fields(**options, metadata=frozen_map(metadata) if metadata is not None else None),
        shares=tuple(s if isinstance(s, ShareSpec) else ShareSpec(alias=s, account_id=ACCOUNTS[s]) for s in shares),
    )


def desired(*customers: CustomerSpec) -> DesiredState:
    return DesiredState(owner=OWNER, mode=Mode.TEST, strategy=Strategy.TOKEN, accounts=ACCOUNTS, customers=customers)


def customer(
    id: str, metadata: Mapping[str, str], *, default_source: str | None = None, created: int = 0, **fields: str
) -> Customer:
    return Customer(
        id=id,
        fields=Fields(**fields, metadata=frozen_map(metadata)),
        default_source=default_source,
        created=created,
    )


def ours(key: str, **extra: str) -> dict[str, str]:
    """A platform customer's metadata: ``extra`` beside our ownership keys."""
    return {**extra, OWNER_KEY: OWNER, KEY_KEY: key}


def copied(key: str, of: str, source: str = CARD, owner: str = OWNER, **extra: str) -> dict[str, str]:
    """A copy's metadata: ``extra`` beside the four ownership keys."""
    return {**extra, OWNER_KEY: owner, KEY_KEY: key, PLATFORM_CUSTOMER_KEY: of, SOURCE_KEY: source}


def observed(platform: tuple[Customer, ...] = (), **accounts: tuple[Customer, ...]) -> ObservedState:
    return ObservedState(platform=platform, accounts={ACCOUNTS[alias]: accounts.get(alias, ()) for alias in ACCOUNTS})


def first_apply() -> Plan:
    """Nothing exists yet: create, attach a test card, share on both accounts (one with overrides)."""
    coffee = ShareSpec(
        alias="coffee",
        account_id=ACCOUNTS["coffee"],
        overrides=Fields(
            description="Coffee club member", email="alice.coffee@example.com", metadata=frozen_map({"loyalty": "A-17"})
        ),
    )
    alice = spec("alice", "bookshop", coffee, description="Shared customer example", metadata={"tier": "gold"}, **ALICE)
    return plan(desired(alice), observed())


def drift() -> Plan:
    """Everything exists and has drifted; with --prune. Every kind the planner emits but create and attach."""
    platform = (
        customer("cus_PlatformAlice00", ours("alice", tier="gold"), default_source=CARD, **ALICE),
        customer(
            "cus_PlatformBob0000",
            {"crm": "9"},
            default_source="card_1PlatformBob00001",
            email="bob@old.example.com",
            phone="+15555550111",
        ),
        customer("cus_PlatformCarol00", ours("carol"), name="Carol"),
    )
    bookshop = (
        customer(
            "cus_BookshopAlice00",
            copied("alice", "cus_PlatformAlice00", tier="gold", note="call first"),
            **{**ALICE, "email": "alice.old@example.com"},
        ),
        customer("cus_BookshopDave000", copied("dave", "cus_PlatformDave000"), name="Dave"),
    )
    coffee = (
        customer(
            "cus_CoffeeAlice0000", copied("alice", "cus_PlatformAlice00", "card_1OldCard00000000", tier="gold"), **ALICE
        ),
    )
    declared = desired(
        spec("alice", "bookshop", "coffee", metadata={"tier": "gold"}, **ALICE),
        spec("bob", "coffee", id="cus_PlatformBob0000", email="bob@example.com", payment_source=None),
        spec("carol", "bookshop", name="Carol", payment_source=None),
    )
    return plan(declared, observed(platform, bookshop=bookshop, coffee=coffee), prune=True)


def conflicts() -> Plan:
    """Nothing to do but report: a copy owned by someone else, an adopted customer gone, a kept copy."""
    platform = (customer("cus_PlatformAlice00", ours("alice"), default_source=CARD, **ALICE),)
    bookshop = (
        customer("cus_BookshopTheirs0", copied("alice", "cus_PlatformAlice00", owner="someone-else"), **ALICE),
        customer("cus_BookshopDave000", copied("dave", "cus_PlatformDave000"), name="Dave"),
    )
    declared = desired(spec("alice", "bookshop", **ALICE), spec("bob", "coffee", id="cus_PlatformGone000"))
    return plan(declared, observed(platform, bookshop=bookshop))


def no_changes() -> Plan:
    """Live state matches the file."""
    platform = (customer("cus_PlatformAlice00", ours("alice", tier="gold"), default_source=CARD, **ALICE),)
    bookshop = (customer("cus_BookshopAlice00", copied("alice", "cus_PlatformAlice00", tier="gold"), **ALICE),)
    return plan(
        desired(spec("alice", "bookshop", metadata={"tier": "gold"}, **ALICE)), observed(platform, bookshop=bookshop)
    )


CASES: dict[str, Callable[[], Plan]] = {
    "first_apply": first_apply,
    "drift": drift,
    "conflicts": conflicts,
    "no_changes": no_changes,
}
# Each format as the cli renders it by default: markdown is the one redacted without --redact.
RENDERINGS = [("txt", "text", False), ("json", "json", False), ("md", "markdown", True)]


# -- golden files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ext", "fmt", "redact"), RENDERINGS, ids=[r[1] for r in RENDERINGS])
@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_matches_golden_file(case: str, ext: str, fmt: str, redact: bool) -> None:
    rendered = render(CASES[case](), fmt, redact=redact, color=False)
    golden = GOLDEN / f"plan_{case}.{ext}"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), f"regenerate with RECONCILE_UPDATE_GOLDEN=1 ({golden})"


def test_golden_cases_cover_every_action_kind_the_planner_emits() -> None:
    seen = {a.kind for make in CASES.values() for a in make().actions}
    assert seen == set(ActionKind) - {ActionKind.ADOPT}  # adopt needs --adopt-by, not planned yet


# -- text ------------------------------------------------------------------------------------------


def test_text_ends_with_the_summary_and_the_digest() -> None:
    result = drift()
    lines = render(result, "text", redact=False, color=False).splitlines()
    assert lines[-3:] == [
        "Plan: 0 to create, 1 to share, 3 to update, 1 to unshare.",
        "1 conflict, left untouched.",
        f"Digest: sha256:{result.digest}",
    ]


def test_text_of_an_empty_plan_says_no_changes() -> None:
    result = no_changes()
    assert render(result, "text", redact=False, color=False) == f"No changes.\nDigest: sha256:{result.digest}\n"


def test_text_marks_each_action_kind() -> None:
    text = render(drift(), "text", redact=False, color=False) + render(first_apply(), "text", redact=False, color=False)
    heads = {line.split(" ")[1]: line[0] for line in text.splitlines() if line[:2] in ("+ ", "~ ", "- ")}
    assert heads == {
        "create_customer": "+",
        "share": "+",
        "update_customer": "~",
        "attach_source": "~",
        "update_share": "~",
        "rotate_source": "~",
        "unshare": "-",
    }


def test_text_shows_field_diffs_under_update_lines() -> None:
    text = render(drift(), "text", redact=False, color=False)
    assert (
        "~ update_share alice @ bookshop (acct_1BookshopAAAAAAAA, cus_BookshopAlice00)\n"
        '    email: "alice.old@example.com" -> "alice@example.com"\n'
        '    metadata.note: "call first" -> null\n'
    ) in text


def test_text_has_no_escape_codes_without_color() -> None:
    for make in CASES.values():
        for fmt in FORMATS:
            assert "\x1b" not in render(make(), fmt, redact=False, color=False)


def test_text_is_coloured_only_on_request() -> None:
    coloured = render(drift(), "text", redact=False, color=True)
    assert "\x1b[32m+ share" in coloured
    assert "\x1b[31m- unshare" in coloured
    assert "\x1b[" not in render(drift(), "json", redact=False, color=True)


def test_adopt_is_shown_as_a_change_to_the_copy_it_takes_over() -> None:
    adopt = Adopt(
        customer_key="alice",
        account="bookshop",
        account_id=ACCOUNTS["bookshop"],
        platform_customer="cus_PlatformAlice00",
        copy="cus_BookshopWalkIn0",
        changes=(change("metadata.reconcile_owner", None, OWNER),),
    )
    text = render(Plan(owner=OWNER, mode="test", actions=(adopt,)), "text", redact=False, color=False)
    assert text.startswith(
        "~ adopt alice @ bookshop (acct_1BookshopAAAAAAAA, cus_BookshopWalkIn0)\n"
        '    metadata.reconcile_owner: null -> "acme-marketplace"\n'
    )
    assert "Plan: 0 to create, 0 to share, 1 to update, 0 to unshare." in text


def test_values_cannot_forge_lines_or_escape_codes() -> None:
    hostile = spec("alice", "bookshop", description="x\x1b[2J\n+ share mallory -> bookshop\x9b31m", **ALICE)
    text = render(plan(desired(hostile), observed()), "text", redact=False, color=False)
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert not any(line.startswith("+ share mallory") for line in text.splitlines())
    assert '"x\\u001b[2J\\n+ share mallory -> bookshop\\u009b31m"' in text


# -- redaction -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_redaction_masks_emails_and_phones_in_every_format(fmt: str) -> None:
    for make in (first_apply, drift):
        rendered = render(make(), fmt, redact=True, color=False)
        for personal in ("alice@example.com", "alice.coffee@example.com", "bob@example.com", "+15555550100"):
            assert personal not in rendered
    rendered = render(first_apply(), fmt, redact=True, color=False)
    assert "a***@example.com" in rendered
    assert "+1******0100" in rendered
    assert "Alice Liddell" in rendered  # names are not masked: only e-mails and phones


@pytest.mark.parametrize("fmt", FORMATS)
def test_redaction_keeps_the_digest_of_the_unredacted_plan(fmt: str) -> None:
    result = first_apply()
    assert result.digest in render(result, fmt, redact=True, color=False)


def test_redacted_json_masks_change_values_and_says_so() -> None:
    data = json.loads(render(first_apply(), "json", redact=True, color=False))
    assert data["redacted"] is True
    shares = {a["account"]: a["changes"] for a in data["actions"] if a["action"] == "share"}
    assert shares["coffee"]["email"] == [None, "a***@example.com"]
    assert shares["coffee"]["phone"] == [None, "+1******0100"]
    assert shares["coffee"]["metadata.reconcile_owner"] == [None, OWNER]


def test_redaction_masks_addresses_and_numbers_in_free_text() -> None:
    result = Plan(
        owner=OWNER,
        mode="test",
        actions=(
            UpdateCustomer(
                customer_key="alice",
                platform_customer="cus_PlatformAlice00",
                changes=(change("description", None, "reach me at alice@example.com or +15555550100"),),
            ),
        ),
        warnings=("alice@example.com was seen twice",),
    )
    for fmt in FORMATS:
        rendered = render(result, fmt, redact=True, color=False)
        assert "alice@example.com" not in rendered
        assert "+15555550100" not in rendered


def test_a_change_masked_alike_on_both_sides_says_so() -> None:
    text = render(drift(), "text", redact=True, color=False)
    assert '    email: "a***@example.com" -> "a***@example.com" (masked)\n' in text


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("a@b.co", "a***@b.co"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email_keeps_the_first_letter_and_the_domain(value: str, masked: str) -> None:
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+15555550100", "+1******0100"),
        ("+442071838750", "+4*******8750"),
        ("5555550100", "5*****0100"),
        ("+1234", "*****"),
    ],
)
def test_mask_phone_keeps_the_country_code_and_the_last_four_digits(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_mask_text_leaves_ids_alone() -> None:
    assert mask_text("copy cus_BookshopAlice00 of card_1PlatformAlice0001") == (
        "copy cus_BookshopAlice00 of card_1PlatformAlice0001"
    )


# -- json ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("redact", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_json_validates_against_the_documented_schema(case: str, redact: bool) -> None:
    schema = json.loads(PLAN_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(render(CASES[case](), "json", redact=redact, color=False))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_json_carries_counts_digest_and_has_changes() -> None:
    result = drift()
    data = json.loads(render(result, "json", redact=False, color=False))
    assert data["format_version"] == 1
    assert data["has_changes"] is True
    assert data["digest"] == result.digest
    assert data["counts"] == {
        "create_customer": 0,
        "update_customer": 1,
        "attach_source": 0,
        "share": 1,
        "update_share": 1,
        "rotate_source": 1,
        "unshare": 1,
        "adopt": 0,
    }
    assert next(iter(data)) == "format_version"


def test_unredacted_json_reads_back_as_the_same_plan() -> None:
    result = first_apply()
    again = Plan.from_json(json.loads(render(result, "json", redact=False, color=False)))
    assert again == result
    assert again.digest == result.digest


# -- markdown --------------------------------------------------------------------------------------


def test_markdown_code_spans_survive_backticks_in_values() -> None:
    tricky = spec("alice", "bookshop", name="Al `the` ``dev``", **{k: v for k, v in ALICE.items() if k != "name"})
    rendered = render(plan(desired(tricky), observed()), "markdown", redact=True, color=False)
    assert '``` "Al `the` ``dev``" ```' not in rendered  # no padding needed: the value starts with a quote
    assert '```"Al `the` ``dev``"```' in rendered


def test_markdown_says_when_values_are_masked() -> None:
    assert "masked" in render(first_apply(), "markdown", redact=True, color=False)
    assert "masked" not in render(first_apply(), "markdown", redact=False, color=False)


def test_unknown_format_is_a_one_line_error() -> None:
    with pytest.raises(ReconcileError, match=r"unknown plan format 'yaml' \(expected text, json, markdown\)"):
        render(no_changes(), "yaml", redact=False, color=False)


# -- the markdown budget (a pull-request comment) ---------------------------------------------------


def large_first_apply(customers: int) -> Plan:
    return plan(
        desired(*(spec(f"c{i:05d}", "bookshop", "coffee", email=f"c{i}@example.com") for i in range(customers))),
        observed(),
    )


def test_a_large_markdown_plan_stays_under_its_budget_and_starts_with_the_summary() -> None:
    large = large_first_apply(2_000)
    rendered = render(large, "markdown", redact=True, color=False, max_chars=20_000)

    assert len(rendered) <= 20_000
    lines = rendered.splitlines()
    assert lines[3] == "**Plan: 2000 to create, 4000 to share, 0 to update, 0 to unshare.**"
    assert lines[5:10] == [
        "| account | create_customer | attach_source | share | total |",
        "|---|---:|---:|---:|---:|",
        "| platform | 2,000 | 2,000 |  | 4,000 |",
        "| `bookshop` |  |  | 2,000 | 2,000 |",
        "| `coffee` |  |  | 2,000 | 2,000 |",
    ]
    shown = sum(1 for line in lines if line.startswith("- `"))
    assert 0 < shown < len(large.actions)
    assert f"_{len(large.actions) - shown:,} actions of 8,000 not shown: this comment is limited to 20,000" in rendered
    masked = "_E-mails and phones are masked; the digest is of the unmasked plan._"
    assert rendered.endswith(f"Digest: `sha256:{large.digest}`\n\n{masked}\n")


def test_a_long_text_plan_opens_with_its_counts_and_a_short_one_only_closes_with_them() -> None:
    long_text = render(large_first_apply(20), "text", redact=False, color=False).splitlines()
    counts = "Plan: 20 to create, 40 to share, 0 to update, 0 to unshare."
    assert long_text[0] == counts
    assert long_text[-2] == counts
    short_text = render(large_first_apply(2), "text", redact=False, color=False).splitlines()
    assert short_text[0] != short_text[-2] == "Plan: 2 to create, 4 to share, 0 to update, 0 to unshare."


def test_conflicts_come_before_the_actions_and_are_counted_when_they_do_not_fit() -> None:
    many = drift()
    conflicts = tuple(replace(many.conflicts[0], customer_key=f"c{i}") for i in range(500))
    crowded = Plan(owner=many.owner, mode=many.mode, actions=many.actions, conflicts=conflicts)
    rendered = render(crowded, "markdown", redact=False, color=False, max_chars=4_000)

    assert len(rendered) <= 4_000
    assert rendered.index("### Conflicts") < rendered.index("### Actions")
    assert "(the JSON plan lists them all)_" in rendered


def test_the_card_of_a_new_customer_is_part_of_its_create_and_a_card_for_an_existing_one_an_update() -> None:
    new = plan(desired(spec("alice")), observed())
    assert [a.kind.value for a in new.actions] == ["create_customer", "attach_source"]
    assert new.summary_counts() == {"create": 1, "share": 0, "update": 0, "unshare": 0}

    existing = plan(desired(spec("alice")), observed((customer("cus_PlatformAlice00", ours("alice")),)))
    assert [a.kind.value for a in existing.actions] == ["attach_source"]
    assert existing.summary_counts() == {"create": 0, "share": 0, "update": 1, "unshare": 0}
