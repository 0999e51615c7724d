"""The header read ahead of a file is the loaded file's, or nothing: it never guesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile import config
from reconcile.header import MAX_EVENTS, read_header
from reconcile.model import Mode

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").rglob("*.yaml"))

HEADER = "version: 1\nowner: acme\nmode: test\naccounts:\n  bookshop: acct_1Bookshop\n  coffee: acct_1Coffee\n"


def test_the_header_is_the_owner_mode_and_accounts_in_the_file_order() -> None:
    header = read_header(HEADER + "customers: {}\n", "stripe.yaml")

    assert header is not None
    assert (header.owner, header.mode, header.path) == ("acme", Mode.TEST, "stripe.yaml")
    assert list(header.accounts.items()) == [("bookshop", "acct_1Bookshop"), ("coffee", "acct_1Coffee")]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_every_example_reads_the_same_header_as_its_loaded_file(example: Path) -> None:
    header = read_header(example.read_text(encoding="utf-8"), str(example))

    assert header is not None
    assert header.same_as(config.load(example).header)


def test_keys_before_the_header_are_skipped_however_deep() -> None:
    text = "safety: {max_change_percent: 30}\ncustomers: {a: {accounts: [x, {y: [1, 2]}]}, b: null}\n" + HEADER

    header = read_header(text)

    assert header is not None
    assert header.owner == "acme"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("owner: &who acme\nmode: test\naccounts: {a: acct_1}\n", id="an anchor"),
        pytest.param("owner: !!str acme\nmode: test\naccounts: {a: acct_1}\n", id="a tag"),
        pytest.param("x: &a {b: acct_1}\nowner: acme\nmode: test\naccounts: *a\n", id="an alias"),
        pytest.param("x: &a {owner: acme}\n<<: *a\nmode: test\naccounts: {a: acct_1}\n", id="a merge key"),
        pytest.param("owner: acme\nmode: test\naccounts: {<<: {a: acct_1}}\n", id="a merge in accounts"),
        pytest.param("owner: acme\nowner: other\nmode: test\naccounts: {a: acct_1}\n", id="a repeated key"),
        pytest.param("owner: acme\nmode: test\naccounts: {a: acct_1, a: acct_2}\n", id="a repeated alias"),
        pytest.param("owner: acme\nmode: staging\naccounts: {a: acct_1}\n", id="an unknown mode"),
        pytest.param("owner: acme\nmode: test\naccounts: [acct_1]\n", id="accounts as a list"),
        pytest.param("owner: [acme]\nmode: test\naccounts: {a: acct_1}\n", id="an owner that is no string"),
        pytest.param("owner: acme\nmode: test\n", id="no accounts"),
        pytest.param("- owner: acme\n", id="not a mapping"),
        pytest.param("owner: acme\nmode: test\naccounts: {a: acct_1\n", id="broken YAML"),
        pytest.param("", id="empty"),
    ],
)
def test_anything_but_plain_strings_in_the_header_gives_up(text: str) -> None:
    assert read_header(text) is None


def test_a_header_written_after_many_customers_is_not_searched_for() -> None:
    customers = "".join(f"  c{n}: {{email: c{n}@example.com}}\n" for n in range(MAX_EVENTS // 4))
    text = "customers:\n" + customers + HEADER

    assert read_header(text) is None
    assert read_header(HEADER + "customers:\n" + customers) is not None
