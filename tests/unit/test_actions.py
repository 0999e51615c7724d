"""The plan vocabulary: kinds, field paths, and actions as plan files write them."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from reconcile.actions import Action, ActionKind
from reconcile.model import DEFAULT_PAYMENT_METHOD, MetadataKey, PlainField, field_path
from reconcile.plan import Plan, action_from_json, action_to_json
from reconcile.preconditions import stale_actions
from reconcile.render import FORMATS, render
from tests.builders import OWNER, example, observed, one_of_each_kind

KINDS = get_args(Action)


def test_every_kind_has_its_own_name_and_order() -> None:
    assert sorted(kind.KIND for kind in KINDS) == sorted(ActionKind)
    assert sorted(kind.ORDER for kind in KINDS) == list(range(len(KINDS)))


def test_the_examples_hold_one_action_of_every_kind() -> None:
    assert sorted(type(a).__name__ for a in one_of_each_kind()) == sorted(kind.__name__ for kind in KINDS)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("email", PlainField("email")),
        ("metadata.tier", MetadataKey("tier")),
        ("metadata.a.b", MetadataKey("a.b")),
        ("invoice_settings.default_payment_method", DEFAULT_PAYMENT_METHOD),
    ],
)
def test_a_field_path_is_read_back_from_the_text_it_is_written_as(text: str, path: object) -> None:
    assert field_path(text) == path
    assert field_path(text).text == text


@pytest.mark.parametrize("action", one_of_each_kind(), ids=lambda a: a.kind.value)
def test_every_kind_reads_back_from_its_plan_file_entry(action: Action) -> None:
    entry = json.loads(json.dumps(action_to_json(action)))
    assert action_from_json(entry) == action


def test_unknown_values_are_written_as_plan_files_always_wrote_them() -> None:
    share = action_to_json(next(a for a in one_of_each_kind() if a.kind is ActionKind.SHARE))
    assert (share["platform_customer"], share["source"]) == (None, None)
    assert share["changes"]["metadata.reconcile_platform_customer"] == [None, "(known after apply)"]


def test_the_digest_is_computed_once_and_survives_the_plan_file() -> None:
    plan = Plan(owner="acme", mode="test", actions=one_of_each_kind())
    assert plan.digest is plan.digest
    assert plan.digest == Plan.from_json(json.loads(json.dumps(plan.to_json()))).digest


def test_an_entry_missing_what_its_kind_needs_is_refused() -> None:
    entry = action_to_json(next(a for a in one_of_each_kind() if a.kind is ActionKind.UNSHARE))
    entry["object_id"] = None
    with pytest.raises(ValueError, match="unshare action of 'dave' has no object_id"):
        action_from_json(entry)


# -- every kind is handled everywhere: assert_never raises at run time where mypy would have named it --


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND.value)
def test_every_action_kind_has_a_precondition(kind: type[Action]) -> None:
    action = example(kind)
    saved = Plan(owner=OWNER, mode="test", actions=(action,))
    stale = stale_actions(saved, observed())  # nothing is live any more
    if action.object_id is not None:
        assert stale == [f"{action.id}: {_what(action)} {action.object_id} {_gone(action)}"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.KIND.value)
def test_every_action_kind_has_a_renderer(kind: type[Action], fmt: str) -> None:
    action = example(kind)
    shown = render(Plan(owner=OWNER, mode="test", actions=(action,)), fmt, redact=True, color=False)
    heading = f"{action.MARKER} {action.kind.value}" if fmt != "json" else f'"id": "{action.id}"'
    assert heading in shown
    assert action.customer_key in shown


def _what(action: Action) -> str:
    return "copy" if action.account else "platform customer"


def _gone(action: Action) -> str:
    return "is already gone" if action.kind is ActionKind.UNSHARE else "is gone"
