"""YAML with positions: the parsed document plus a 1-based (line, column) for every JSON path in it.

PyYAML keeps the last of two equal keys without a word, and forgets where values came from once
they are Python objects. This loader walks the composed node tree itself, so it can refuse duplicate
keys at any depth (naming both lines) and record where each value and each mapping key starts, for
messages such as ``stripe.yaml:14:7: customers.alice.accounts[1]: ...``.

Scalars follow YAML 1.2 (what editors and the yaml-language-server use) where YAML 1.1 surprises:
only ``true``/``false`` are booleans (``name: No`` stays a string) and dates stay strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from reconcile.errors import ConfigError, Problem

JsonPath = tuple[str | int, ...]

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    # libyaml parses several times faster; the pure-Python parser gives the same nodes and marks.
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")


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
    # PyYAML's own 0-based marks, converted only when a message needs one: a large file has
    # hundreds of thousands of them and very few problems.
    value_marks: Mapping[JsonPath, yaml.Mark]
    key_marks: Mapping[JsonPath, yaml.Mark]
    problems: tuple[Problem, ...] = ()

    def position(self, where: JsonPath) -> Position:
        """Where the value at ``where`` starts, or its nearest recorded ancestor (1:1 for the root)."""
        for end in range(len(where), -1, -1):
            found = self.value_marks.get(where[:end])
            if found is not None:
                return _position(found)
        return Position(1, 1)

    def key_position(self, where: JsonPath) -> Position:
        """Where the mapping key of ``where`` starts, falling back to the value's position."""
        found = self.key_marks.get(where)
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


def _yaml12_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers without timestamps and with YAML 1.2 booleans."""
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    booleans = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
    for first, entries in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        kept = [(tag, booleans if tag == _BOOL else regexp) for tag, regexp in entries if tag != _TIMESTAMP]
        if first in ("y", "Y", "n", "N", "o", "O"):
            # yes/no/on/off: strings in YAML 1.2.
            kept = [(tag, regexp) for tag, regexp in kept if tag != _BOOL]
        if kept:
            resolvers[first] = kept
    return resolvers


@dataclass
class _Walk:
    """Mutable state of one walk over the node tree."""

    values: dict[JsonPath, yaml.Mark] = field(default_factory=dict)
    keys: dict[JsonPath, yaml.Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    active: set[int] = field(default_factory=set)  # ids of nodes being walked, to stop recursive aliases
    checked: set[int] = field(default_factory=set)  # mappings already checked for duplicate keys
    repeated: set[int] = field(default_factory=set)  # key nodes that repeat an earlier key: skipped


class Loader(_BaseLoader):
    """A safe loader that builds plain data while recording positions and refusing duplicate keys."""

    yaml_implicit_resolvers = _yaml12_resolvers()

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text)
        self.path = path
        self.text = text

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        """The tag of an untagged node; Resolver.resolve minus path resolvers, which we do not use."""
        # The generic version costs a third of a large file's load time.
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def document(self) -> Document:
        """Parse the single document of the stream; raise ConfigError on a YAML syntax error."""
        try:
            root = self.get_single_node()
            walk = _Walk()
            data = None if root is None else self._value(root, (), walk)
        except yaml.MarkedYAMLError as error:
            raise ConfigError([self._syntax_problem(error)]) from None
        except yaml.YAMLError as error:  # not marked: e.g. a control character in the stream
            raise ConfigError([Problem(self.path, 1, 1, "", f"invalid YAML: {error}")]) from None
        finally:
            self.dispose()
        return Document(self.path, data, walk.values, walk.keys, tuple(walk.problems))

    def _value(self, node: yaml.Node, where: JsonPath, walk: _Walk) -> object:
        """Build the value of ``node`` at ``where``, recording its position."""
        walk.values[where] = node.start_mark
        if _is_text(node):  # most values: no construction needed
            text: str = node.value
            return text
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, where, walk)
        if id(node) in walk.active:
            walk.problems.append(self._problem(node, where, "recursive YAML alias is not supported"))
            return None
        walk.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, where, walk)
            self._check_tag(node, _SEQ, where, walk)
            return [self._value(item, (*where, index), walk) for index, item in enumerate(node.value)]
        finally:
            walk.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, where: JsonPath, walk: _Walk) -> dict[str, object]:
        """Build a dict, reporting duplicate and non-string keys; merge keys (``<<``) are honoured."""
        self._check_tag(node, _MAP, where, walk)
        # flatten_mapping rewrites the node in place, so a mapping reached again through an alias
        # holds merged keys beside its own: check each mapping once, before it is flattened.
        if id(node) not in walk.checked:
            walk.checked.add(id(node))
            self._check_keys(node, where, walk)
        # Merged entries come first, so the mapping's own keys override them, as YAML specifies.
        self.flatten_mapping(node)
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if id(key_node) in walk.repeated:
                continue
            key = _key_text(key_node)
            at = (*where, key)
            walk.keys[at] = key_node.start_mark
            result[key] = self._value(value_node, at, walk)
            if _starts_below_its_key(value_node):
                # An empty value has no text of its own, and a block collection starts at its first
                # entry on the next line: either is best pointed at by its key.
                walk.values[at] = key_node.start_mark
        return result

    def _check_keys(self, node: yaml.MappingNode, where: JsonPath, walk: _Walk) -> None:
        """Report duplicate keys (naming both lines) and keys YAML reads as numbers, booleans or null."""
        first_seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = _key_text(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                walk.problems.append(self._problem(key_node, where, "mapping keys must be strings"))
            elif not _is_text(key_node):
                message = f"key {key} is not a string; put it in quotes: '{key}'"
                walk.problems.append(self._problem(key_node, where, message))
            if key in first_seen:
                first, again = first_seen[key].start_mark.line + 1, key_node.start_mark.line + 1
                message = f"duplicate key '{key}': defined at line {first} and again at line {again}"
                walk.problems.append(self._problem(key_node, where, message))
                # The first definition is kept, so the problems reported are those of the text read first.
                walk.repeated.add(id(key_node))
            else:
                first_seen[key] = key_node

    def _scalar(self, node: yaml.Node, where: JsonPath, walk: _Walk) -> object:
        """The Python value of a non-string scalar (int, float, bool or None)."""
        try:
            value: object = self.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            problem = _short_tags(error.problem or "unsupported value")
            walk.problems.append(self._problem(node, where, f"invalid YAML: {problem}"))
            return None
        return value

    def _check_tag(self, node: yaml.Node, expected: str, where: JsonPath, walk: _Walk) -> None:
        """Report explicit tags such as ``!!set`` or ``!custom`` on collections; plain data only."""
        if node.tag != expected:
            walk.problems.append(self._problem(node, where, f"unsupported YAML tag {_short_tags(node.tag)}"))

    def _problem(self, node: yaml.Node, where: JsonPath, message: str) -> Problem:
        """A Problem at the node's position, shown with the path ``where``."""
        mark = _position(node.start_mark)
        return Problem(self.path, mark.line, mark.column, format_path(where), message)

    def _syntax_problem(self, error: yaml.MarkedYAMLError) -> Problem:
        """A YAML syntax error as a Problem at the position the parser gave up."""
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark is not None else Position(1, 1)
        message = f"invalid YAML: {error.problem or error.context}"
        if error.context and error.problem and error.context_mark is not None:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        if mark is not None and self.text[mark.index : mark.index + 1] == "\t":
            # libyaml only says it "cannot start any token".
            message += "; YAML indents with spaces, not tabs"
        return Problem(self.path, position.line, position.column, "", message)


def _position(mark: yaml.Mark) -> Position:
    """PyYAML's 0-based mark as a 1-based Position."""
    return Position(mark.line + 1, mark.column + 1)


def _short_tags(text: str) -> str:
    """YAML's standard tags as written in a file: ``!!set`` rather than ``tag:yaml.org,2002:set``."""
    return text.replace("tag:yaml.org,2002:", "!!")


def _starts_below_its_key(node: yaml.Node) -> bool:
    """Whether a mapping value is empty or a block collection, which its key locates best."""
    if isinstance(node, yaml.CollectionNode):
        return not node.flow_style and bool(node.value)
    return node.tag == _NULL and not node.value


def _is_text(node: yaml.Node) -> bool:
    """Whether the node is a plain string scalar."""
    return node.tag == _STR and type(node) is yaml.ScalarNode


def _key_text(node: yaml.Node) -> str:
    """A mapping key as text; for a non-string key its source text, so later checks still run."""
    if isinstance(node, yaml.ScalarNode):
        text: str = node.value
        return text if text or node.tag == _STR else "null"
    return f"<{type(node).__name__}>"


def parse_document(text: str, path: str) -> Document:
    """Parse YAML text into a Document; raise ConfigError on a syntax error."""
    return Loader(text, path).document()
