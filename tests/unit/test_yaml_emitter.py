"""The YAML emitter: what it writes reads back as the same data, with comments where people look for them."""

from __future__ import annotations

import pytest
import yaml

from reconcile.yaml_emitter import Node, comment_text, emit, scalar


def test_what_it_writes_reads_back_as_the_same_data() -> None:
    text = emit(
        {
            "version": Node(1),
            "accounts": Node({"bookshop": Node("acct_1Bookshop"), "yes": Node("acct_1Yes")}),
            "customers": Node({"alice": Node({"id": Node("cus_1"), "accounts": Node((Node("bookshop"),))})}),
            "empty": Node(()),
            "nothing": Node({}),
        }
    )
    assert yaml.safe_load(text) == {
        "version": 1,
        "accounts": {"bookshop": "acct_1Bookshop", "yes": "acct_1Yes"},
        "customers": {"alice": {"id": "cus_1", "accounts": ["bookshop"]}},
        "empty": [],
        "nothing": {},
    }


@pytest.mark.parametrize(
    "value",
    ["yes", "no", "on", "null", "~", "true", "12", "1e3", "0x1F", "-a", "a b", "x: y", "#tag", "é", 'say "hi"', ""],
)
def test_a_string_yaml_would_read_as_something_else_is_quoted(value: str) -> None:
    written = scalar(value)
    assert yaml.safe_load(f"key: {written}") == {"key": value}


@pytest.mark.parametrize("value", ["acct_1Bookshop", "cus_ABC", "alice", "bookshop-ltd", "hello-coffee.example"])
def test_an_identifier_stays_plain(value: str) -> None:
    assert scalar(value) == value


def test_inline_comments_of_siblings_line_up_and_blank_lines_set_sections_apart() -> None:
    text = emit(
        {
            "accounts": Node(
                {"bookshop": Node("acct_1B", "Bookshop Ltd"), "coffee-house": Node("acct_1C", "Coffee")},
                above=("",),
            ),
        },
        header=("Written by a test",),
    )
    assert text.splitlines() == [
        "# Written by a test",
        "",
        "accounts:",
        "  bookshop: acct_1B      # Bookshop Ltd",
        "  coffee-house: acct_1C  # Coffee",
    ]


def test_comment_lines_below_a_list_sit_with_its_items() -> None:
    text = emit({"accounts": Node((Node("bookshop", "cus_1"),), below=("coffee left out: two match",))})
    assert text.splitlines() == [
        "accounts:",
        "  - bookshop  # cus_1",
        "  # coffee left out: two match",
    ]


def test_a_comment_cannot_break_out_of_its_line() -> None:
    # Names come from Stripe: a line break in one must not start a YAML line of its own.
    text = emit({"name": Node("x", "Mallory\nowner: evil\x85\x07")})
    assert yaml.safe_load(text) == {"name": "x"}
    assert comment_text("a\nb\tc\x9f") == "a b c"


def test_a_mapping_in_a_list_starts_at_its_dash_and_carries_the_item_comment() -> None:
    override = Node({"account": Node("coffee"), "address": Node({"city": Node("Shelbyville")})}, "cus_1, kept")
    text = emit({"accounts": Node((Node("bookshop", "cus_2"), override))})
    assert text == (
        "accounts:\n"
        "  - bookshop         # cus_2\n"
        "  - account: coffee  # cus_1, kept\n"
        "    address:\n"
        "      city: Shelbyville\n"
    )
    assert yaml.safe_load(text) == {"accounts": ["bookshop", {"account": "coffee", "address": {"city": "Shelbyville"}}]}
