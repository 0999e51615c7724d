"""YAML with positions: the parsed document plus a 1-based (line, column) for every JSON path in it.

PyYAML keeps the last of two equal keys without a word, and forgets where values came from once
they are Python objects. ``yaml_builder`` reads libyaml's events itself, so it can refuse duplicate
keys at any depth (naming both lines), refuse hostile files within ``yaml_limits``, and record where
each value and each mapping key starts, for messages such as
``stripe.yaml:14:7: customers.alice.accounts[1]: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from reconcile.errors import ConfigError, Problem
from reconcile.yaml_builder import Fault, JsonPath, Mark, Refused, Unexplained, ValueMarks, build
from reconcile.yaml_limits import DEFAULT_LIMITS, Limits

__all__ = ["Document", "JsonPath", "Position", "Unexplained", "format_path", "parse_document"]

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# What YAML lets a stream contain (its c-printable set); libyaml stops at the first other character
# without saying where in the file it is, so they are found, reported and blanked out beforehand.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL_CHARACTERS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in the file."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML document: its data, where each value and key starts, and its YAML-level problems."""

    path: str
    data: object
    root_mark: Mark | None
    # Keyed by id() of each mapping and sequence in ``data``: the marks of its values (and keys).
    # PyYAML's own 0-based marks are converted only when a message needs one: a large file has
    # hundreds of thousands of them and very few problems.
    value_marks: Mapping[int, ValueMarks]
    key_marks: Mapping[int, Mapping[str, Mark]]
    problems: tuple[Problem, ...] = ()

    def position(self, where: JsonPath) -> Position:
        """Where the value at ``where`` starts, or its nearest recorded ancestor (1:1 for the root)."""
        found = self.root_mark
        node = self.data
        for part in where:
            marks = self.value_marks.get(id(node))
            try:
                found = marks[part]  # type: ignore[index]
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                break
        return Position(1, 1) if found is None else _position(found)

    def key_position(self, where: JsonPath) -> Position:
        """Where the mapping key of ``where`` starts, falling back to the value's position."""
        node = self.data
        for part in where[:-1]:
            try:
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return self.position(where)
        found = self.key_marks.get(id(node), {}).get(where[-1]) if where and isinstance(where[-1], str) else None
        return self.position(where) if found is None else _position(found)

    def problem(self, where: JsonPath, message: str) -> Problem:
        """A Problem about the value at ``where``, located where that value starts."""
        mark = self.position(where)
        return Problem(self.path, mark.line, mark.column, format_path(where), message)

    def key_problem(self, mapping: JsonPath, key: str, message: str) -> Problem:
        """A Problem about a key of the mapping at ``mapping``, located at the key."""
        mark = self.key_position((*mapping, key))
        return Problem(self.path, mark.line, mark.column, format_path(mapping), message)


def format_path(where: JsonPath) -> str:
    """``("customers", "alice", "accounts", 1)`` -> ``customers.alice.accounts[1]``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            # Keys with dots or spaces are quoted, so the path stays unambiguous.
            text += f'["{part}"]'
    return text


def parse_document(text: str, path: str, limits: Limits = DEFAULT_LIMITS, *, marks: bool = True) -> Document:
    """Parse YAML text into a Document; raise ConfigError on a syntax error or a broken limit.

    ``marks=False``: a Document without positions, for a file expected to be valid (see ``build``); it
    raises Unexplained on a problem whose message needs them.
    """
    if len(text) > limits.max_bytes:
        # Characters, not bytes, but a file read from disk was refused by its size before this.
        line, column = position_of(text, limits.max_bytes)
        message = f"the file is larger than the {limits.max_bytes // (1024 * 1024)} MiB a desired-state file may be"
        raise ConfigError([Problem(path, line, column, "", message)])
    problems, text = _control_characters(text, path)
    try:
        built = build(text, limits, marks=marks)
    except Refused as refused:
        raise ConfigError([*problems, *(_problem(path, fault) for fault in refused.faults)]) from None
    except yaml.YAMLError as error:  # not marked: the reader's, which the blanking above should prevent
        index = getattr(error, "position", 0) or 0
        line, column = position_of(text, index)
        raise ConfigError([*problems, Problem(path, line, column, "", f"invalid YAML: {error}")]) from None
    problems.extend(_problem(path, fault) for fault in built.faults)
    return Document(path, built.data, built.root_mark, built.value_marks, built.key_marks, tuple(problems))


def position_of(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of the character at ``index``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _control_characters(text: str, path: str) -> tuple[list[Problem], str]:
    """Problems for characters YAML does not allow, and the text with them blanked out."""
    found = list(_NOT_PRINTABLE.finditer(text))
    if not found:
        return [], text
    problems = []
    for match in found[:_CONTROL_CHARACTERS_SHOWN]:
        line, column = position_of(text, match.start())
        message = f"character U+{ord(match.group()):04X} is not allowed in YAML (a control character?); remove it"
        problems.append(Problem(path, line, column, "", message))
    if len(found) > _CONTROL_CHARACTERS_SHOWN:
        line, column = position_of(text, found[_CONTROL_CHARACTERS_SHOWN].start())
        more = len(found) - _CONTROL_CHARACTERS_SHOWN
        problems.append(Problem(path, line, column, "", f"and {more} more characters YAML does not allow"))
    # Blanked rather than removed, so every position after them stays true.
    return problems, _NOT_PRINTABLE.sub(" ", text)


def _problem(path: str, fault: Fault) -> Problem:
    position = Position(1, 1) if fault.mark is None else _position(fault.mark)
    return Problem(path, position.line, position.column, format_path(fault.where), fault.message)


def _position(mark: Mark) -> Position:
    """PyYAML's 0-based mark as a 1-based Position."""
    return Position(mark.line + 1, mark.column + 1)
