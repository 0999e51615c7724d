"""The plan's JSON text and digest, written a batch of actions at a time, are exactly what json.dumps makes."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

import pytest

from reconcile.actions import UNKNOWN, Action, FieldChange, KeptValue, Share, Unshare, UpdateShare
from reconcile.model import CustomField, Strategy, field_path
from reconcile.plan import ActionEncoder, Conflict, Plan, action_to_json
from tests.builders import BOOKSHOP, change, one_of_each_kind

# Text json.dumps treats specially: quotes, backslashes, controls, DEL and C1, non-ASCII, astral planes.
AWKWARD = ['quote " and \\ back', "tab\tnew\nline", "\x00\x1f\x7f\x85\x9f", "é ü ß 東京", "emoji 🚀", "", " "]


def _awkward_actions(rng: random.Random, count: int) -> list[Action]:
    """Actions of every kind, many sharing one tuple of changes (as a first plan's shares do)."""
    shared = (change("email", None, rng.choice(AWKWARD)), change("metadata.note", rng.choice(AWKWARD), UNKNOWN))
    made: list[Action] = []
    for n in range(count):
        base = one_of_each_kind()[n % 8]
        key = f"{rng.choice(AWKWARD)}{n}"
        if isinstance(base, Share):
            made.append(replace(base, customer_key=key, changes=shared, source=rng.choice([UNKNOWN, "card_1"])))
        elif isinstance(base, Unshare):
            made.append(replace(base, customer_key=key, duplicate_of=rng.choice([None, "cus_Kept"])))
        else:
            made.append(replace(base, customer_key=key))
    # A field named twice: json.dumps keeps the last value, at the place of the first.
    made.append(
        Share(
            customer_key="twice",
            **BOOKSHOP,
            platform_customer="cus_P",
            source="card_1",
            strategy=Strategy.TOKEN,
            changes=(change("name", None, "A"), change("email", None, "e"), change("name", "A", "B")),
        )
    )
    # Values that are lists (locales, custom fields), and the parts of an address an update sends again.
    made.append(
        UpdateShare(
            customer_key="details é",
            **BOOKSHOP,
            platform_customer="cus_P",
            copy="cus_C",
            changes=(
                change("address.city", "Paris", "Lyon"),
                FieldChange(field_path("preferred_locales"), ("fr-FR", "en"), ()),
                FieldChange(
                    field_path("invoice_settings.custom_fields"),
                    None,
                    (CustomField("VAT", "FR 1 é"), CustomField("n", "")),
                ),
            ),
            kept=(KeptValue(field_path("address.country"), "FR"), KeptValue(field_path("address.line1"), "1 rue é")),
        )
    )
    return made


def _plan(actions: list[Action]) -> Plan:
    return Plan(
        owner="acme 東京",
        mode="test",
        actions=tuple(actions),
        conflicts=(Conflict(customer_key="k", reason="why \x85", account="bookshop"),),
        warnings=("a warning",),
        copies_held={"bookshop": 3},
        accounts={"bookshop": "acct_1BookshopAAAAAAAA"},
    )


@pytest.mark.parametrize("count", [0, 1, 7, 2_500])
def test_the_digest_is_the_sha256_of_the_canonical_action_list(count: int) -> None:
    plan = _plan(_awkward_actions(random.Random(count), count))
    canonical = json.dumps(
        [action_to_json(a) for a in plan.actions], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )

    assert plan.digest == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize("count", [0, 1, 7, 2_500])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_the_plan_text_is_what_json_dumps_writes(count: int, ensure_ascii: bool) -> None:
    plan = _plan(_awkward_actions(random.Random(count), count))

    written = "".join(plan.json_text(ensure_ascii=ensure_ascii))

    assert written == json.dumps(plan.to_json(), indent=2, ensure_ascii=ensure_ascii) + "\n"


def test_redacted_comes_second_and_another_digest_may_be_shown() -> None:
    plan = _plan(_awkward_actions(random.Random(3), 3))

    written = json.loads("".join(plan.json_text(redacted=True, digest="d" * 64)))

    assert list(written)[:3] == ["format_version", "redacted", "owner"]
    assert written["digest"] == "d" * 64
    assert written["actions"] == [action_to_json(a) for a in plan.actions]


def test_each_action_encodes_as_json_dumps_encodes_it() -> None:
    compact, indented = ActionEncoder(canonical=True), ActionEncoder(canonical=False)
    for action in _awkward_actions(random.Random(0), 40):
        entry = action_to_json(action)
        assert compact(action) == json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # An entry of the plan's action list sits two levels deep.
        nested = json.dumps({"a": [entry]}, indent=2, ensure_ascii=False)
        assert indented(action) in nested
