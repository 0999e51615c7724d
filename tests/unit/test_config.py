"""The desired-state file: each check of the README's "The file" as an exact FILE:LINE:COL line, and resolution."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconcile import config
from reconcile.errors import ConfigError
from reconcile.model import DesiredState, Fields, Mode, ShareSpec, Strategy
from reconcile.sandbox.cards import TEST_TOKENS

BOOKSHOP = "acct_1BookshopAAAAAAAA"
COFFEE = "acct_1CoffeeBBBBBBBBBB"
TEA = "acct_1TeaCCCCCCCCCCCCC"

# Line numbers in the tests below refer to this file.
BASE = f"""\
version: 1
owner: acme-marketplace
mode: test
accounts:
  bookshop: {BOOKSHOP}
  coffee: {COFFEE}
customers:
  alice:
    email: alice@example.com
    name: Alice Liddell
    payment: {{source: tok_visa}}
    accounts: [bookshop, coffee]
"""

Problems = Callable[[str], list[str]]
Load = Callable[[str], DesiredState]


@pytest.fixture
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Load:
    """Write the text to stripe.yaml and load it by that relative name, as a user would."""
    monkeypatch.chdir(tmp_path)

    def run(text: str) -> DesiredState:
        Path("stripe.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        validators_agree(textwrap.dedent(text))
        return config.load("stripe.yaml")

    return run


def validators_agree(text: str) -> None:
    """The compiled schema (the fast check) accepts exactly what jsonschema accepts, on every file here."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    assert config.compiled_schema_accepts(data) == (not any(config._validator().iter_errors(data))), text


@pytest.fixture
def problems(load: Load) -> Problems:
    """The problem lines of a file that must not load."""

    def run(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            load(text)
        lines = [str(problem) for problem in caught.value.problems]
        assert str(caught.value) == "\n".join(lines)
        return lines

    return run


def edit(old: str, new: str, text: str = BASE) -> str:
    """BASE with one exact piece replaced (failing loudly if the piece is not there)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def with_customer(block: str) -> str:
    """BASE with one more customer, indented under ``customers:`` (it starts at line 13)."""
    return BASE + textwrap.indent(textwrap.dedent(block), "  ")


# --- the file itself --------------------------------------------------------------------------------


def test_base_file_loads(load: Load) -> None:
    assert load(BASE).owner == "acme-marketplace"


def test_missing_file_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        config.load("nowhere.yaml")
    assert str(caught.value) == "nowhere.yaml:1:1: cannot read the file: No such file or directory"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^.*:1:1: cannot read the file: Is a directory$"):
        config.load(tmp_path)


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stripe.yaml"
    path.write_bytes(b"owner: caf\xe9\n")
    with pytest.raises(
        ConfigError, match=r":1:11: the file is not UTF-8 text \(invalid continuation byte at byte 10\)$"
    ):
        config.load(path)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "stripe.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert config.load(path).owner == "acme-marketplace"


def test_empty_file_says_what_is_expected(problems: Problems) -> None:
    assert problems("# nothing yet\n") == [
        "stripe.yaml:1:1: the file is empty (expected version, owner, mode, accounts and customers)"
    ]


def test_file_that_is_a_list_is_refused(problems: Problems) -> None:
    assert problems("- version: 1\n") == ["stripe.yaml:1:1: expected a mapping, got a list"]


def test_yaml_syntax_error_reports_line_and_column(problems: Problems) -> None:
    lines = problems(edit("    accounts: [bookshop, coffee]\n", "    accounts: [bookshop, coffee\n"))
    assert len(lines) == 1
    assert lines[0].startswith("stripe.yaml:13:1: invalid YAML: ")


# --- version ----------------------------------------------------------------------------------------


def test_unsupported_version_says_which_versions_this_build_reads(problems: Problems) -> None:
    text = edit("version: 1\n", "version: 2\n", edit("mode: test", "mode: prod"))
    # Only the version is reported: the rest of a file in another format would be noise.
    assert problems(text) == [
        "stripe.yaml:1:10: version: unsupported version 2 (this build of reconcile reads version 1)"
    ]


def test_version_true_is_not_version_1(problems: Problems) -> None:
    assert problems(edit("version: 1\n", "version: true\n")) == [
        "stripe.yaml:1:10: version: unsupported version true (this build of reconcile reads version 1)"
    ]


def test_quoted_version_is_not_version_1(problems: Problems) -> None:
    assert problems(edit("version: 1\n", "version: '1'\n")) == [
        "stripe.yaml:1:10: version: unsupported version '1' (this build of reconcile reads version 1)"
    ]


def test_missing_version_says_which_version_to_write(problems: Problems) -> None:
    assert problems(edit("version: 1\n", "")) == [
        "stripe.yaml:1:1: missing required field 'version' (this build of reconcile reads version 1)"
    ]


# --- schema: shape and values -----------------------------------------------------------------------


def test_missing_required_fields_are_each_reported(problems: Problems) -> None:
    text = edit("owner: acme-marketplace\nmode: test\n", "")
    assert problems(text) == [
        "stripe.yaml:1:1: missing required field 'mode'",
        "stripe.yaml:1:1: missing required field 'owner'",
    ]


def test_unknown_field_lists_expected_fields_and_suggests_the_closest(problems: Problems) -> None:
    assert problems(edit("    email:", "    emial:")) == [
        "stripe.yaml:9:5: customers.alice: unknown field 'emial' (expected one of: id, email, name, phone, "
        "description, metadata, address, shipping, preferred_locales, tax_exempt, invoice_settings, payment, "
        "strategy, ignore_changes, accounts); did you mean 'email'?"
    ]


def test_unknown_top_level_field(problems: Problems) -> None:
    assert problems(edit("mode: test\n", "mode: test\nmodes: live\n")) == [
        "stripe.yaml:4:1: unknown field 'modes' (expected one of: version, owner, mode, strategy, accounts, "
        "customers, safety); did you mean 'mode'?"
    ]


def test_invalid_mode_lists_allowed_values(problems: Problems) -> None:
    assert problems(edit("mode: test", "mode: prod")) == [
        "stripe.yaml:3:7: mode: invalid mode 'prod' (expected one of: test, live)"
    ]


def test_invalid_strategy_lists_allowed_values(problems: Problems) -> None:
    assert problems(edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    strategy: clone\n")) == [
        "stripe.yaml:11:15: customers.alice.strategy: invalid strategy 'clone' (expected one of: token, payment_method)"
    ]


def test_owner_must_match_its_pattern(problems: Problems) -> None:
    assert problems(edit("owner: acme-marketplace", "owner: Acme Marketplace")) == [
        "stripe.yaml:2:8: owner: invalid owner 'Acme Marketplace' (expected lowercase letters, digits, '_' or '-', "
        "starting with a letter or digit, at most 40 characters)"
    ]


def test_owner_longer_than_40_characters_is_refused(problems: Problems, load: Load) -> None:
    assert load(edit("owner: acme-marketplace", "owner: " + "a" * 40)).owner == "a" * 40
    assert problems(edit("owner: acme-marketplace", "owner: " + "a" * 41)) == [
        f"stripe.yaml:2:8: owner: invalid owner '{'a' * 41}' (expected lowercase letters, digits, '_' or '-', "
        "starting with a letter or digit, at most 40 characters)"
    ]


def test_malformed_account_id(problems: Problems) -> None:
    assert problems(edit(f"coffee: {COFFEE}", "coffee: acct-1Coffee")) == [
        "stripe.yaml:6:11: accounts.coffee: invalid account id 'acct-1Coffee' "
        "(expected acct_ followed by letters and digits)"
    ]


def test_malformed_customer_id(problems: Problems) -> None:
    assert problems(edit("    email:", "    id: cust_123\n    email:")) == [
        "stripe.yaml:9:9: customers.alice.id: invalid customer id 'cust_123' "
        "(expected cus_ followed by letters and digits)"
    ]


def test_invalid_customer_key(problems: Problems) -> None:
    assert problems(with_customer("bob smith: {}\n")) == [
        "stripe.yaml:13:3: customers: invalid customer key 'bob smith' (expected a letter or digit, then letters, "
        "digits, '.', '_' or '-', at most 100 characters)"
    ]


def test_invalid_account_alias(problems: Problems) -> None:
    assert problems(edit("  coffee:", "  _coffee:", edit("bookshop, coffee]", "bookshop]"))) == [
        "stripe.yaml:6:3: accounts: invalid account alias '_coffee' (expected a letter or digit, then letters, "
        "digits, '.', '_' or '-', at most 40 characters)"
    ]


def test_email_must_look_like_an_address(problems: Problems) -> None:
    assert problems(edit("alice@example.com", "alice@example")) == [
        "stripe.yaml:9:12: customers.alice.email: invalid e-mail address 'alice@example' "
        "(expected an address such as name@example.com)"
    ]


def test_unquoted_phone_asks_for_quotes(problems: Problems) -> None:
    assert problems(edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    phone: +15555550100\n")) == [
        "stripe.yaml:11:12: customers.alice.phone: expected a string, got the number 15555550100; put it in quotes"
    ]


def test_field_longer_than_stripe_allows(problems: Problems) -> None:
    assert problems(
        edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    phone: '+1 555 555 0100 ext 12'\n")
    ) == ["stripe.yaml:11:12: customers.alice.phone: phone is too long: 22 characters (Stripe allows at most 20)"]


def test_empty_customer_declaration_is_refused(problems: Problems) -> None:
    assert problems(with_customer("bob:\n")) == [
        "stripe.yaml:13:3: customers.bob: expected a mapping, got nothing (null)"
    ]


def test_payment_source_must_be_a_test_token(problems: Problems) -> None:
    assert problems(edit("source: tok_visa", "source: 4242424242424242")) == [
        "stripe.yaml:11:23: customers.alice.payment.source: expected a string, got the number 4242424242424242; "
        "put it in quotes"
    ]
    assert problems(edit("source: tok_visa", "source: card_visa")) == [
        f"stripe.yaml:11:23: customers.alice.payment.source: invalid test token 'card_visa' "
        f"(expected one of: {', '.join(TEST_TOKENS)})"
    ]
    [typo] = problems(edit("source: tok_visa", "source: tok_mastercrd"))
    assert typo.endswith("; did you mean 'tok_mastercard'?")


def test_payment_source_must_be_one_of_stripes_test_tokens_not_just_look_like_one(problems: Problems) -> None:
    # Stripe answers an unknown token at apply time, after other writes went through: validate says it first.
    [problem] = problems(edit("source: tok_visa", "source: tok_nope"))
    assert problem.startswith("stripe.yaml:11:23: customers.alice.payment.source: invalid test token 'tok_nope' ")
    assert "(expected one of: tok_visa, tok_visa_debit, tok_mastercard," in problem
    assert problem.endswith("tok_unionpay)")  # no far-fetched "did you mean"


def test_the_test_tokens_accepted_are_those_the_sandbox_emulates() -> None:
    source = config.schema()["$defs"]["payment"]["properties"]["source"]  # type: ignore[index]
    assert source["enum"] == list(TEST_TOKENS)


def test_empty_payment_says_what_it_may_hold(problems: Problems) -> None:
    assert problems(edit("{source: tok_visa}", "{}")) == [
        "stripe.yaml:11:14: customers.alice.payment: expected at least one of: source"
    ]


def test_ignore_changes_entries_are_fields_or_metadata_keys(problems: Problems) -> None:
    text = edit(
        "    name: Alice Liddell\n", "    name: Alice Liddell\n    ignore_changes: [phone, metadata.tier, colour]\n"
    )
    assert problems(text) == [
        "stripe.yaml:11:44: customers.alice.ignore_changes[2]: invalid ignore_changes entry 'colour' "
        "(expected one of: email, name, phone, description, metadata, metadata.<key>, address, address.<part>, "
        "shipping, shipping.name, shipping.phone, shipping.address, shipping.address.<part>, preferred_locales, "
        "tax_exempt, invoice_settings.footer, invoice_settings.custom_fields)"
    ]


def test_ignore_changes_must_not_repeat_an_entry(problems: Problems) -> None:
    text = edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    ignore_changes: [phone, phone]\n")
    assert problems(text) == ["stripe.yaml:11:21: customers.alice.ignore_changes: lists the same entry twice"]


def test_per_account_entry_needs_an_account(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", "[bookshop, {name: Alice}]")) == [
        "stripe.yaml:12:26: customers.alice.accounts[1]: missing required field 'account'"
    ]


def test_per_account_entry_rejects_unknown_fields(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", "[bookshop, {account: coffee, id: cus_X1}]")) == [
        "stripe.yaml:12:44: customers.alice.accounts[1]: unknown field 'id' (expected one of: account, email, name, "
        "phone, description, metadata, address, shipping, preferred_locales, tax_exempt, invoice_settings)"
    ]


# --- YAML-level checks, through load ----------------------------------------------------------------


def test_duplicate_customer_key_names_both_lines(problems: Problems) -> None:
    assert problems(with_customer("alice:\n  email: other@example.com\n")) == [
        "stripe.yaml:13:3: customers: duplicate key 'alice': defined at line 8 and again at line 13"
    ]


def test_duplicate_key_in_nested_mapping_names_both_lines(problems: Problems) -> None:
    text = edit(
        "    name: Alice Liddell\n", "    name: Alice Liddell\n    metadata:\n      tier: gold\n      tier: silver\n"
    )
    assert problems(text) == [
        "stripe.yaml:13:7: customers.alice.metadata: duplicate key 'tier': defined at line 12 and again at line 13"
    ]


def test_duplicate_account_alias_names_both_lines(problems: Problems) -> None:
    assert problems(edit(f"  coffee: {COFFEE}\n", f"  coffee: {COFFEE}\n  coffee: {TEA}\n")) == [
        "stripe.yaml:7:3: accounts: duplicate key 'coffee': defined at line 6 and again at line 7"
    ]


# --- semantic checks --------------------------------------------------------------------------------


def test_unknown_alias_lists_declared_aliases(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", "[bookshop, cofee]")) == [
        "stripe.yaml:12:26: customers.alice.accounts[1]: unknown account alias 'cofee' (declared: bookshop, coffee)"
    ]


def test_unknown_alias_in_block_list(problems: Problems) -> None:
    text = edit("    accounts: [bookshop, coffee]\n", "    accounts:\n      - bookshop\n      - cofee\n")
    assert problems(text) == [
        "stripe.yaml:14:9: customers.alice.accounts[1]: unknown account alias 'cofee' (declared: bookshop, coffee)"
    ]


def test_unknown_alias_in_per_account_entry(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", '["*", {account: tea, name: Al}]')) == [
        "stripe.yaml:12:31: customers.alice.accounts[1].account: "
        "unknown account alias 'tea' (declared: bookshop, coffee)"
    ]


def test_unknown_alias_when_no_account_is_declared(problems: Problems) -> None:
    text = edit(f"accounts:\n  bookshop: {BOOKSHOP}\n  coffee: {COFFEE}\n", "accounts: {}\n")
    assert problems(text) == [
        "stripe.yaml:10:16: customers.alice.accounts[0]: unknown account alias 'bookshop' (declared: none)",
        "stripe.yaml:10:26: customers.alice.accounts[1]: unknown account alias 'coffee' (declared: none)",
    ]


def test_alias_listed_twice_in_one_customer_names_the_first(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", "[bookshop, coffee, {account: bookshop, name: B}]")) == [
        "stripe.yaml:12:44: customers.alice.accounts[2].account: account 'bookshop' is listed twice "
        "(first as accounts[0], line 12)"
    ]


def test_star_listed_twice_is_reported(problems: Problems) -> None:
    assert problems(edit("[bookshop, coffee]", '["*", "*"]')) == [
        "stripe.yaml:12:21: customers.alice.accounts[1]: account '*' is listed twice (first as accounts[0], line 12)"
    ]


def test_star_with_explicit_alias_is_an_override_not_a_duplicate(load: Load) -> None:
    state = load(edit("[bookshop, coffee]", '["*", {account: coffee, name: Al}]'))
    assert [share.alias for share in state.customers[0].shares] == ["bookshop", "coffee"]


def test_same_account_id_under_two_aliases_names_both(problems: Problems) -> None:
    assert problems(edit(f"  coffee: {COFFEE}\n", f"  coffee: {COFFEE}\n  cafe: {COFFEE}\n")) == [
        f"stripe.yaml:7:9: accounts.cafe: account {COFFEE} is declared under two aliases: 'coffee' (line 6) and 'cafe'"
    ]


def test_platform_customer_adopted_by_two_keys_names_both(problems: Problems) -> None:
    text = with_customer("bob:\n  id: cus_PlatformBob0000\ncarol:\n  id: cus_PlatformBob0000\n")
    assert problems(text) == [
        "stripe.yaml:16:9: customers.carol.id: platform customer cus_PlatformBob0000 is adopted by two keys: "
        "'bob' (line 13) and 'carol'"
    ]


def test_payment_source_with_live_mode_is_refused(problems: Problems) -> None:
    assert problems(edit("mode: test", "mode: live")) == [
        "stripe.yaml:11:23: customers.alice.payment.source: payment.source is for test mode only (mode is live); "
        "live customers get their payment details through Stripe"
    ]


def test_live_mode_without_payment_source_loads(load: Load) -> None:
    state = load(edit("    payment: {source: tok_visa}\n", "", edit("mode: test", "mode: live")))
    assert state.mode is Mode.LIVE


# --- metadata limits --------------------------------------------------------------------------------


def metadata_block(count: int, indent: int = 4, prefix: str = "k") -> str:
    """A ``metadata:`` block of ``count`` keys."""
    pad = " " * indent
    return f"{pad}metadata:\n" + "".join(f"{pad}  {prefix}{index}: v\n" for index in range(count))


def with_metadata(count: int, *, shared: bool = True) -> str:
    text = edit("    name: Alice Liddell\n", "    name: Alice Liddell\n" + metadata_block(count))
    return text if shared else edit("    accounts: [bookshop, coffee]\n", "", text)


def test_reserved_metadata_key_is_refused(problems: Problems) -> None:
    text = edit(
        "    name: Alice Liddell\n", "    name: Alice Liddell\n    metadata: {tier: gold, reconcile_owner: me}\n"
    )
    assert problems(text) == [
        "stripe.yaml:11:28: customers.alice.metadata: metadata key 'reconcile_owner' is reserved: "
        "keys starting with reconcile_ belong to reconcile"
    ]


def test_reserved_metadata_key_in_per_account_metadata_is_refused(problems: Problems) -> None:
    text = edit("[bookshop, coffee]", "[bookshop, {account: coffee, metadata: {reconcile_key: x}}]")
    assert problems(text) == [
        "stripe.yaml:12:55: customers.alice.accounts[1].metadata: metadata key 'reconcile_key' is reserved: "
        "keys starting with reconcile_ belong to reconcile"
    ]


def test_metadata_key_longer_than_40_characters(problems: Problems) -> None:
    key = "k" * 41
    text = edit("    name: Alice Liddell\n", f"    name: Alice Liddell\n    metadata: {{{key}: v}}\n")
    assert problems(text) == [
        "stripe.yaml:11:16: customers.alice.metadata: "
        "metadata key is too long: 41 characters (Stripe allows at most 40)"
    ]


def test_metadata_value_longer_than_500_characters(problems: Problems) -> None:
    text = edit("    name: Alice Liddell\n", f"    name: Alice Liddell\n    metadata: {{note: {'x' * 501}}}\n")
    assert problems(text) == [
        "stripe.yaml:11:22: customers.alice.metadata.note: metadata value is too long: 501 characters "
        "(Stripe allows at most 500)"
    ]


def test_metadata_value_must_be_a_string(problems: Problems) -> None:
    text = edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    metadata: {visits: 3}\n")
    assert problems(text) == [
        "stripe.yaml:11:24: customers.alice.metadata.visits: expected a string, got the number 3; put it in quotes"
    ]


def test_metadata_key_with_square_brackets(problems: Problems) -> None:
    text = edit("    name: Alice Liddell\n", "    name: Alice Liddell\n    metadata: {'a[b]': v}\n")
    assert problems(text) == [
        "stripe.yaml:11:16: customers.alice.metadata: invalid metadata key 'a[b]' "
        "(Stripe metadata keys cannot contain square brackets)"
    ]


def test_48_metadata_keys_fit_an_unshared_platform_customer(load: Load) -> None:
    metadata = load(with_metadata(48, shared=False)).customers[0].fields.metadata
    assert metadata is not None
    assert len(metadata) == 48


def test_49_metadata_keys_leave_no_room_for_the_2_ownership_keys(problems: Problems) -> None:
    assert problems(with_metadata(49, shared=False)) == [
        "stripe.yaml:11:5: customers.alice.metadata: too many metadata keys: 49 declared, plus the ownership keys "
        "reconcile adds, make 51 (Stripe allows at most 50, so at most 48 here)"
    ]


def test_46_metadata_keys_fit_a_shared_customer(load: Load) -> None:
    assert len(load(with_metadata(46)).customers[0].shares) == 2


def test_47_metadata_keys_leave_no_room_for_the_4_ownership_keys_of_a_copy(problems: Problems) -> None:
    assert problems(with_metadata(47)) == [
        "stripe.yaml:11:5: customers.alice.metadata: too many metadata keys: 47 declared, plus the ownership keys "
        "reconcile adds, make 49 on the platform customer and 51 on each copy (Stripe allows at most 50, "
        "so at most 46 here)"
    ]


def with_account_metadata(customer_keys: int, account_metadata: str) -> str:
    """A customer with ``customer_keys`` metadata keys and one per-account entry with its own metadata."""
    entry = f"[{{account: coffee, metadata: {{{account_metadata}}}}}]"
    return edit("[bookshop, coffee]", entry, with_metadata(customer_keys))


def test_per_account_metadata_counts_after_merging_with_the_customers(problems: Problems) -> None:
    # k0 and k1 are the customer's own keys; x1..x7 are new: 40 + 7 = 47, + 4 ownership keys = 51.
    new_keys = ", ".join(f"x{index}: v" for index in range(1, 8))
    assert problems(with_account_metadata(40, f"k0: w, k1: w, {new_keys}")) == [
        "stripe.yaml:53:44: customers.alice.accounts[0].metadata: too many metadata keys on this account's copy: "
        "47 after merging the customer's, plus 4 ownership keys, make 51 (Stripe allows at most 50)"
    ]


def test_per_account_metadata_within_the_limit_loads(load: Load) -> None:
    # 40 + 6 new keys = 46, + 4 ownership keys = 50.
    new_keys = ", ".join(f"x{index}: v" for index in range(1, 7))
    (share,) = load(with_account_metadata(40, f"k0: w, {new_keys}")).customers[0].shares
    assert share.overrides.metadata is not None
    assert len(share.overrides.metadata) == 7


# --- all at once ------------------------------------------------------------------------------------


def test_all_problems_are_reported_at_once_sorted_by_position(problems: Problems) -> None:
    text = f"""\
        version: 1
        owner: acme
        mode: live
        accounts:
          bookshop: {BOOKSHOP}
          coffee: acct_bad-id
        customers:
          alice:
            emial: alice@example.com
            payment: {{source: tok_visa}}
            accounts: [bookshop, cofee]
          bob:
            id: cus_Bob1
          alice:
            name: again
          carol:
            id: cus_Bob1
            metadata: {{reconcile_key: x}}
        """
    assert problems(text) == [
        "stripe.yaml:6:11: accounts.coffee: invalid account id 'acct_bad-id' (expected acct_ followed by letters "
        "and digits)",
        "stripe.yaml:9:5: customers.alice: unknown field 'emial' (expected one of: id, email, name, phone, "
        "description, metadata, address, shipping, preferred_locales, tax_exempt, invoice_settings, payment, "
        "strategy, ignore_changes, accounts); did you mean 'email'?",
        "stripe.yaml:10:23: customers.alice.payment.source: payment.source is for test mode only (mode is live); "
        "live customers get their payment details through Stripe",
        "stripe.yaml:11:26: customers.alice.accounts[1]: unknown account alias 'cofee' (declared: bookshop, coffee)",
        "stripe.yaml:14:3: customers: duplicate key 'alice': defined at line 8 and again at line 14",
        "stripe.yaml:17:9: customers.carol.id: platform customer cus_Bob1 is adopted by two keys: 'bob' (line 12) "
        "and 'carol'",
        "stripe.yaml:18:16: customers.carol.metadata: metadata key 'reconcile_key' is reserved: keys starting with "
        "reconcile_ belong to reconcile",
    ]


# --- resolution -------------------------------------------------------------------------------------

RESOLVE = f"""\
version: 1
owner: acme-marketplace
mode: test
strategy: token
accounts:
  bookshop: {BOOKSHOP}
  coffee: {COFFEE}
  tea: {TEA}
customers:
  alice:
    email: alice@example.com
    name: Alice Liddell
    description: Shared customer example
    phone: "+15555550100"
    metadata: {{tier: gold}}
    payment: {{source: tok_visa}}
    accounts: [tea, bookshop]
  bob:
    id: cus_PlatformBob0000
    strategy: payment_method
    ignore_changes: [phone, metadata.loyalty]
    accounts:
      - {{account: coffee, description: "Coffee club member", metadata: {{loyalty: "A-17"}}}}
      - "*"
  carol:
    metadata: {{}}
"""


@pytest.fixture
def state(load: Load) -> DesiredState:
    return load(RESOLVE)


def test_file_wide_values_are_resolved(state: DesiredState) -> None:
    assert state.owner == "acme-marketplace"
    assert state.mode is Mode.TEST
    assert state.strategy is Strategy.TOKEN
    assert state.path == "stripe.yaml"


def test_accounts_keep_declaration_order(state: DesiredState) -> None:
    assert list(state.accounts.items()) == [("bookshop", BOOKSHOP), ("coffee", COFFEE), ("tea", TEA)]


def test_customers_keep_file_order(state: DesiredState) -> None:
    assert [customer.key for customer in state.customers] == ["alice", "bob", "carol"]


def test_declared_fields_are_resolved(state: DesiredState) -> None:
    alice = state.customers[0]
    assert alice.fields == Fields(
        email="alice@example.com",
        name="Alice Liddell",
        description="Shared customer example",
        phone="+15555550100",
        metadata={"tier": "gold"},
    )
    assert alice.payment_source == "tok_visa"
    assert alice.id is None


def test_undeclared_fields_are_none(state: DesiredState) -> None:
    assert state.customers[1].fields == Fields()
    assert state.customers[1].payment_source is None


def test_metadata_declared_empty_is_not_undeclared(state: DesiredState) -> None:
    assert state.customers[2].fields.metadata == {}
    assert state.customers[1].fields.metadata is None


def test_shares_follow_account_declaration_order_not_list_order(state: DesiredState) -> None:
    assert state.customers[0].shares == (
        ShareSpec(alias="bookshop", account_id=BOOKSHOP),
        ShareSpec(alias="tea", account_id=TEA),
    )


def test_star_shares_every_declared_account(state: DesiredState) -> None:
    assert [share.alias for share in state.customers[1].shares] == ["bookshop", "coffee", "tea"]


def test_explicit_entry_overrides_star_for_its_account(state: DesiredState) -> None:
    bookshop, coffee, tea = state.customers[1].shares
    assert coffee.overrides == Fields(description="Coffee club member", metadata={"loyalty": "A-17"})
    assert bookshop.overrides == Fields()
    assert tea.overrides == Fields()


def test_per_account_metadata_holds_only_the_override(load: Load) -> None:
    text = edit(
        "[bookshop, coffee]",
        "[{account: coffee, metadata: {tier: silver}}]",
        edit("name: Alice Liddell", "name: Al\n    metadata: {tier: gold, club: yes}"),
    )
    (share,) = load(text).customers[0].shares
    assert share.overrides.metadata == {"tier": "silver"}


def test_customer_without_accounts_is_not_shared(state: DesiredState) -> None:
    assert state.customers[2].shares == ()


def test_adoption_strategy_and_ignore_changes_are_resolved(state: DesiredState) -> None:
    bob = state.customers[1]
    assert bob.id == "cus_PlatformBob0000"
    assert bob.strategy is Strategy.PAYMENT_METHOD
    assert bob.ignore_changes == frozenset({"phone", "metadata.loyalty"})


def test_strategy_defaults_to_the_file_wide_one(load: Load) -> None:
    text = edit("mode: test\n", "mode: test\nstrategy: payment_method\n")
    state = load(text)
    assert state.strategy is Strategy.PAYMENT_METHOD
    assert state.customers[0].strategy is Strategy.PAYMENT_METHOD


def test_strategy_defaults_to_token(load: Load) -> None:
    state = load(BASE)
    assert state.strategy is Strategy.TOKEN
    assert state.customers[0].strategy is Strategy.TOKEN


def test_no_customers_is_an_empty_desired_state(load: Load) -> None:
    state = load("version: 1\nowner: acme\nmode: test\n")
    assert state.customers == ()
    assert dict(state.accounts) == {}


def test_parse_names_the_path_it_is_given() -> None:
    state = config.parse(BASE, "configs/prod.yaml")
    assert state.path == "configs/prod.yaml"
    with pytest.raises(ConfigError, match=r"^configs/prod\.yaml:3:7: mode: "):
        config.parse(edit("mode: test", "mode: prod"), "configs/prod.yaml")


def test_merge_keys_share_fields_between_customers(load: Load) -> None:
    text = BASE + textwrap.indent("bob: {<<: *alice_fields, email: bob@example.com}\n", "  ")
    text = edit("  alice:\n", "  alice: &alice_fields\n", text)
    bob = load(text).customers[1]
    assert (bob.fields.email, bob.fields.name) == ("bob@example.com", "Alice Liddell")


# --- the schema file --------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(dict(config.schema()))


def test_repository_schema_is_the_packaged_schema() -> None:
    root = Path(__file__).resolve().parents[2]
    linked = json.loads((root / "schemas" / "reconcile.schema.json").read_text(encoding="utf-8"))
    assert linked == config.schema()


def test_in_a_large_file_the_schema_problems_are_the_same_when_only_rejected_customers_are_explained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers = [f"  c{n}:\n    email: c{n}@example.com\n    accounts: [shop]\n" for n in range(1_200)]
    customers[7] = "  c7:\n    emial: c7@example.com\n"
    customers[500] = "  c500:\n    name: [not, text]\n    accounts: shop\n"
    customers[900] = "  -bad-key:\n    email: x@example.com\n"
    text = "version: 1\nowner: acme\nmode: test\nshape: round\naccounts: {shop: acct_1ShopAAAAAAAAAAA}\n"
    text += "customers:\n" + "".join(customers)

    with pytest.raises(ConfigError) as narrowed:
        config.parse(text, "stripe.yaml")
    monkeypatch.setattr(config, "CUSTOMERS_TO_NARROW_SCHEMA_ERRORS", 10_000)
    with pytest.raises(ConfigError) as whole:
        config.parse(text, "stripe.yaml")

    assert len(narrowed.value.problems) == 5
    assert [str(p) for p in narrowed.value.problems] == [str(p) for p in whole.value.problems]
