"""Property-based fuzzing of the loader: whatever the text, the answer is data or positioned problems.

A desired-state file comes from pull requests, so no input may end in anything but a DesiredState or
a ConfigError whose problems point into the file: no other exception, no crash, no hang.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import config
from reconcile.errors import ConfigError
from reconcile.yaml_source import parse_document

pytestmark = pytest.mark.reliability

EXAMPLE = (Path(__file__).parents[2] / "examples" / "marketplace.yaml").read_text()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of YAML syntax, so random text reaches deep into the parser rather than failing at once.
YAML_PIECES = st.sampled_from(
    [
        "version: 1\n",
        "owner: acme\n",
        "mode: test\n",
        "accounts:",
        "customers:",
        "alice:",
        "shop",
        "acct_1ShopAAAAAAAAAAA",
        " ",
        "  ",
        "\n",
        "\t",
        ":",
        "- ",
        "? ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "<<: ",
        "!!int ",
        "!!bool ",
        "!!set ",
        "!x ",
        "! ",
        "'",
        '"',
        "#",
        "|",
        ">",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "1",
        "0x1F",
        "1e9",
        "true",
        "no",
        "~",
        "null",
        "\x00",
        "\x07",
        "\x1b",
        "\u2028",
        "\ufeff",
        "\ud800",
        "é",
        "\\",
        "\r\n",
    ]
)


# YAML 1.1 (libyaml) breaks lines at these, so its line numbers count them.
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def problems_of(text: str) -> list[str]:
    """Parse ``text`` as a desired-state file; the problems, or [] when it is valid."""
    try:
        config.parse(text, "stripe.yaml")
    except ConfigError as error:
        lines = len(YAML_LINE_BREAK.split(text))
        for problem in error.problems:
            assert problem.path == "stripe.yaml"
            assert 1 <= problem.line <= lines + 1, problem
            assert problem.column >= 1, problem
        return [str(problem) for problem in error.problems]
    return []


@FUZZ
@given(st.text(max_size=400))
def test_any_text_is_data_or_positioned_problems(text: str) -> None:
    problems_of(text)


@FUZZ
@given(st.lists(YAML_PIECES, max_size=60).map("".join))
def test_text_made_of_yaml_syntax_is_data_or_positioned_problems(text: str) -> None:
    problems_of(text)


def mutated_example(data: st.DataObject, most: int) -> str:
    """The example file with 1 to ``most`` stretches of up to 8 characters replaced by text or YAML syntax."""
    text = EXAMPLE
    for _ in range(data.draw(st.integers(1, most))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(st.one_of(st.text(max_size=8), YAML_PIECES))
        text = text[:at] + insert + text[at + cut :]
    return text


@FUZZ
@given(st.data())
def test_a_mutated_example_is_data_or_positioned_problems(data: st.DataObject) -> None:
    problems_of(mutated_example(data, most=5))


# PyYAML's emitter writes NEL (U+0085) inside quotes, where every YAML 1.1 reader folds it to a space;
# lone surrogates are not text (a UTF-8 file cannot hold them, and YAML refuses their escapes).
TEXT = st.text(st.characters(exclude_characters="\x85", exclude_categories=["Cs"]), max_size=20)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT
)
JSON_DATA = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=30,
)


@FUZZ
@given(JSON_DATA)
def test_plain_data_written_by_pyyaml_reads_back_unchanged(data: object) -> None:
    text = yaml.safe_dump({"data": data, "again": data}, allow_unicode=True)  # shared values become aliases
    document = parse_document(text, "stripe.yaml")
    assert document.problems == ()
    assert document.data == {"data": data, "again": data}


REFERENCE = yaml.safe_load((Path(__file__).parents[2] / "examples" / "reference.yaml").read_text())


def _slots(node: object) -> list[tuple[dict[str, object] | list[object], object]]:
    """Every (container, key or index) of a document, at any depth."""
    found: list[tuple[dict[str, object] | list[object], object]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += [(node, key), *_slots(value)]
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += [(node, index), *_slots(value)]
    return found


@FUZZ
@given(st.data())
def test_the_compiled_schema_accepts_exactly_what_jsonschema_accepts(data: st.DataObject) -> None:
    # validate's fast path trusts the compiled schema's yes; it must never say yes where jsonschema says no.
    document = copy.deepcopy(REFERENCE)
    for _ in range(data.draw(st.integers(1, 4))):
        container, key = data.draw(st.sampled_from(_slots(document)))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del container[key]  # type: ignore[arg-type]
        elif action == "add" and isinstance(container, dict):
            container[data.draw(TEXT)] = data.draw(JSON_DATA)
        else:
            moved = data.draw(st.one_of(JSON_DATA, st.sampled_from(_values_seen())))
            container[key] = copy.deepcopy(moved)  # type: ignore[index]
    assert config.compiled_schema_accepts(document) == (not any(config._validator().iter_errors(document)))


def _values_seen() -> list[object]:
    """Values of the reference file, to move around: most are valid somewhere, invalid elsewhere."""
    return [value for container, key in _slots(REFERENCE) for value in [container[key]]]  # type: ignore[index]


@FUZZ
@given(st.data())
def test_reading_without_positions_accepts_exactly_what_reading_with_them_accepts(data: st.DataObject) -> None:
    # config.parse trusts the yes of a document read without positions, and reads again only on a no.
    text = mutated_example(data, most=3)
    try:
        document = parse_document(text, "stripe.yaml")
    except ConfigError:
        return  # refused while reading: the same refusal either way (its faults carry the parser's marks)
    valid = not document.problems and not config.check(document)
    lean = config._without_positions(text, "stripe.yaml")

    assert (lean is not None and config._valid(lean)) == valid
    if valid:
        assert lean is not None
        assert config._resolve(lean) == config._resolve(document)
