"""The YAML layer: positions per JSON path, duplicate keys, syntax errors, YAML 1.2 scalars."""

from __future__ import annotations

import textwrap

import pytest

from reconcile.errors import ConfigError
from reconcile.yaml_source import Document, Position, Unexplained, format_path, parse_document


def parse(text: str) -> Document:
    return parse_document(textwrap.dedent(text), "stripe.yaml")


def messages(document: Document) -> list[str]:
    return [str(problem) for problem in document.problems]


def test_values_and_keys_have_one_based_positions() -> None:
    document = parse(
        """\
        customers:
          alice:
            accounts: [bookshop, coffee]
        """
    )
    # A block collection starts at its first entry, on the line below: its key locates it better.
    assert document.position(("customers", "alice")) == Position(2, 3)
    assert document.key_position(("customers", "alice")) == Position(2, 3)
    assert document.position(("customers", "alice", "accounts")) == Position(3, 15)
    assert document.position(("customers", "alice", "accounts")) == Position(3, 15)
    assert document.position(("customers", "alice", "accounts", 1)) == Position(3, 26)


def test_block_sequence_items_have_positions() -> None:
    document = parse(
        """\
        accounts:
          - "*"
          - {account: coffee}
        """
    )
    assert document.position(("accounts", 0)) == Position(2, 5)
    assert document.position(("accounts", 1, "account")) == Position(3, 15)


def test_unrecorded_path_falls_back_to_nearest_ancestor() -> None:
    document = parse("customers:\n  alice: {}\n")
    assert document.position(("customers", "alice", "email")) == Position(2, 10)
    assert document.position(("nothing",)) == Position(1, 1)


def test_empty_value_is_located_at_its_key() -> None:
    document = parse("customers:\n  alice:\n  bob: {}\n")
    assert document.data == {"customers": {"alice": None, "bob": {}}}
    assert document.position(("customers", "alice")) == Position(2, 3)


def test_without_positions_the_data_is_the_same_and_every_position_is_the_start() -> None:
    text = "customers:\n  alice:\n    email: a@example.com\n    accounts: [shop, {alias: cafe}]\n"

    lean = parse_document(text, "stripe.yaml", marks=False)

    assert lean.data == parse_document(text, "stripe.yaml").data
    assert lean.position(("customers", "alice", "accounts", 1)) == Position(1, 1)


def test_without_positions_a_duplicate_key_asks_for_them() -> None:
    with pytest.raises(Unexplained):
        parse_document("a: 1\na: 2\n", "stripe.yaml", marks=False)


def test_duplicate_key_names_both_lines() -> None:
    document = parse(
        """\
        customers:
          alice:
            metadata:
              tier: gold
              tier: silver
        """
    )
    assert messages(document) == [
        "stripe.yaml:5:7: customers.alice.metadata: duplicate key 'tier': defined at line 4 and again at line 5"
    ]


def test_duplicate_top_level_key_is_reported() -> None:
    document = parse("owner: a\nmode: test\nowner: b\n")
    assert messages(document) == ["stripe.yaml:3:1: duplicate key 'owner': defined at line 1 and again at line 3"]


def test_duplicate_key_keeps_the_first_definition() -> None:
    document = parse("owner: first\nowner: second\n")
    assert document.data == {"owner": "first"}
    assert document.position(("owner",)) == Position(1, 8)


def test_syntax_error_is_one_problem_with_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("customers:\n  alice: [bookshop\n  bob: {}\n")
    # The middle of the message is the parser's own words (libyaml's or PyYAML's).
    assert str(caught.value).startswith("stripe.yaml:3:6: invalid YAML: ")
    assert str(caught.value).endswith("(while parsing a flow sequence at line 2)")


def test_tab_indentation_is_a_syntax_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("customers:\n\talice: {}\n")
    assert str(caught.value).startswith("stripe.yaml:2:1: invalid YAML: found character")
    assert str(caught.value).endswith("; YAML indents with spaces, not tabs")


def test_yes_no_on_off_stay_strings_as_in_yaml_1_2() -> None:
    document = parse("a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: false\n")
    assert document.data == {"a": "yes", "b": "No", "c": "on", "d": "OFF", "e": True, "f": False}


def test_dates_stay_strings() -> None:
    assert parse("description: 2024-01-31\n").data == {"description": "2024-01-31"}


def test_numbers_and_null_are_still_resolved() -> None:
    assert parse("a: 1\nb: 1.5\nc: ~\nd:\ne: '1'\n").data == {"a": 1, "b": 1.5, "c": None, "d": None, "e": "1"}


def test_non_string_key_asks_for_quotes() -> None:
    document = parse("customers:\n  1001: {}\n")
    assert document.data == {"customers": {"1001": {}}}
    assert messages(document) == ["stripe.yaml:2:3: customers: key 1001 is not a string; put it in quotes: '1001'"]


def test_unknown_tag_is_a_problem() -> None:
    document = parse("owner: !vault secret\nitems: !!set {a}\n")
    assert messages(document) == [
        "stripe.yaml:1:8: owner: unsupported YAML tag !vault (plain data only)",
        "stripe.yaml:2:8: items: unsupported YAML tag !!set (plain data only)",
    ]


def test_python_tags_are_refused_and_never_run() -> None:
    document = parse("owner: !!python/object/apply:os.system [ls]\nname: !!python/name:os.system\n")
    assert document.data == {"owner": ["ls"], "name": None}
    assert messages(document) == [
        "stripe.yaml:1:8: owner: unsupported YAML tag !!python/object/apply:os.system (plain data only)",
        "stripe.yaml:2:7: name: unsupported YAML tag !!python/name:os.system (plain data only)",
    ]


def test_merge_keys_are_honoured_and_own_keys_win() -> None:
    document = parse(
        """\
        defaults: &defaults {tier: gold, region: eu}
        alice: {<<: *defaults, tier: silver}
        bob: {<<: *defaults}
        """
    )
    assert document.problems == ()
    assert document.data == {
        "defaults": {"tier": "gold", "region": "eu"},
        "alice": {"tier": "silver", "region": "eu"},
        "bob": {"tier": "gold", "region": "eu"},
    }
    assert document.position(("alice", "tier")) == Position(2, 30)
    assert document.position(("alice", "region")) == Position(1, 42)


def test_mapping_reused_through_an_alias_is_checked_once() -> None:
    document = parse(
        """\
        base: &base {tier: gold}
        shared: &shared {<<: *base, region: eu}
        alice: *shared
        bob: *shared
        """
    )
    assert document.problems == ()
    assert document.data == {
        "base": {"tier": "gold"},
        "shared": {"tier": "gold", "region": "eu"},
        "alice": {"tier": "gold", "region": "eu"},
        "bob": {"tier": "gold", "region": "eu"},
    }


def test_recursive_alias_is_a_problem() -> None:
    document = parse("a: &loop [*loop]\n")
    assert messages(document) == ["stripe.yaml:1:11: a[0]: recursive YAML alias is not supported"]


def test_empty_text_is_an_empty_document() -> None:
    assert parse("# only a comment\n").data is None


def test_more_than_one_document_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("owner: a\n---\nowner: b\n")
    assert str(caught.value) == (
        "stripe.yaml:2:1: invalid YAML: but found another document (expected a single document in the stream at line 1)"
    )


def test_format_path_uses_dots_and_indexes() -> None:
    assert format_path(("customers", "alice", "accounts", 1, "metadata")) == "customers.alice.accounts[1].metadata"
    assert format_path(()) == ""


def test_format_path_quotes_keys_that_would_be_ambiguous() -> None:
    assert format_path(("customers", "alice.smith", "email")) == 'customers["alice.smith"].email'
