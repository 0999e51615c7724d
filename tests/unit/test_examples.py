"""Every example under examples/ loads without problems, and points editors at the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile import config
from reconcile.model import Mode

# Desired-state files; examples/ci/ holds pipeline definitions, not desired state.
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
SCHEMA_COMMENT = "# yaml-language-server: $schema="


def test_there_are_examples() -> None:
    assert {path.name for path in EXAMPLES} >= {"marketplace.yaml", "reference.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_loads_without_problems(path: Path) -> None:
    assert config.load(path).customers


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_names_the_schema_for_editors(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(SCHEMA_COMMENT)
    schema = (path.parent / first_line.removeprefix(SCHEMA_COMMENT)).resolve()
    assert schema.is_file()


def test_marketplace_runs_on_a_fresh_sandbox() -> None:
    """Test mode, no adopted ids (a fresh sandbox has none), a test card for every shared customer."""
    state = config.load(next(path for path in EXAMPLES if path.name == "marketplace.yaml"))
    assert state.mode is Mode.TEST
    assert all(customer.id is None for customer in state.customers)
    assert all(customer.payment_source for customer in state.customers if customer.shares)


def test_reference_covers_every_field_of_the_schema() -> None:
    text = next(path for path in EXAMPLES if path.name == "reference.yaml").read_text(encoding="utf-8")
    fields = set(_schema_fields(config.schema()))
    missing = sorted(name for name in fields if f"{name}:" not in text)
    assert missing == []


def _schema_fields(node: object) -> list[str]:
    """Every property name the schema declares, at any depth."""
    if isinstance(node, list):
        return [name for item in node for name in _schema_fields(item)]
    if not isinstance(node, dict):
        return []
    own = list(node.get("properties", {})) if isinstance(node.get("properties"), dict) else []
    return own + [name for value in node.values() for name in _schema_fields(value)]
