"""Plain data from libyaml's event stream, with where every value and key starts, within limits.

PyYAML's own loading composes a node tree and then constructs objects from it. Both steps recurse
(libyaml's C composer crashes the process on a few hundred kilobytes of nested brackets), expand
aliases by copying (a 500-byte "billion laughs" file becomes gigabytes) and forget positions. This
builder reads the events itself with an explicit stack, so nesting costs no stack; an alias shares
the value it names instead of copying it, and what aliases stand for is counted against the
budget in ``Limits`` before anything is expanded downstream; and each value's mark is kept beside
its container, keyed by the container's id (``Built.value_marks``), so positions cost no path tuples.

Scalars follow YAML 1.2 (what editors and the yaml-language-server use) where YAML 1.1 surprises:
only ``true``/``false`` are booleans (``name: No`` stays a string) and dates stay strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

import yaml
from yaml.constructor import SafeConstructor

from reconcile.yaml_limits import Limits

JsonPath = tuple[str | int, ...]


class Mark(Protocol):
    """Where an event starts: PyYAML's 0-based mark (its C and Python parsers have one class each)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def index(self) -> int: ...


# PyYAML's stubs make every event's mark optional; its parsers always set them.
Event = Any
# The marks of a container's values: by key for a mapping, by index for a sequence.
ValueMarks = dict[str, Mark] | list[Mark]

if TYPE_CHECKING:
    _Parser = yaml.SafeLoader
else:
    # libyaml parses several times faster; the pure-Python parser gives the same events and marks.
    _Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR = "tag:yaml.org,2002:str"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NON_SPECIFIC = "!"

_Constructor = Callable[[Any, yaml.ScalarNode], object]
_CONSTRUCTORS: dict[str, _Constructor] = {
    _INT: SafeConstructor.construct_yaml_int,
    _FLOAT: SafeConstructor.construct_yaml_float,
    _BOOL: SafeConstructor.construct_yaml_bool,
    _NULL: SafeConstructor.construct_yaml_null,
}
_NULL_TEXT = re.compile(r"~|null|Null|NULL|")


class Fault(NamedTuple):
    """A problem met while building: where it is written, the path of the value, and what is wrong."""

    mark: Mark | None
    where: JsonPath
    message: str


class Unexplained(Exception):
    """A fault whose message needs the positions a build without marks does not keep: build again with them."""


class Refused(Exception):
    """Building stopped (a syntax error or a limit): every fault found, the stopping one last."""

    def __init__(self, faults: list[Fault]) -> None:
        super().__init__(faults[-1].message)
        self.faults = faults


@dataclass
class Built:
    """The data of a single-document stream and where its parts start."""

    data: object
    root_mark: Mark | None
    value_marks: dict[int, ValueMarks]
    key_marks: dict[int, dict[str, Mark]]
    faults: list[Fault]


def _yaml12_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers for plain scalars, as YAML 1.2 reads them (see the module doc)."""
    resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    booleans = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
    for first, entries in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        kept = [(tag, booleans if tag == _BOOL else regexp) for tag, regexp in entries if tag != _TIMESTAMP]
        if first in ("y", "Y", "n", "N", "o", "O"):
            kept = [(tag, regexp) for tag, regexp in kept if tag != _BOOL]  # yes/no/on/off: strings
        if kept:
            resolvers[first or ""] = kept
    return resolvers


_RESOLVERS = _yaml12_resolvers()


def resolve_plain(text: str) -> str:
    """The tag YAML gives an untagged plain scalar: int, float, bool, null, merge (``<<``) or str."""
    for tag, regexp in _RESOLVERS.get(text[:1], ()):
        if regexp.match(text):
            return tag
    return STR


_SHARED_UP_TO = 24  # characters; longer texts (emails, names) rarely repeat
_AWAITING_KEY = object()  # a mapping frame's pending key before the next key is read
_MERGE_KEY = object()  # the pending key is ``<<``: its value is merged, not stored


@dataclass(frozen=True)
class _Unmarked:
    """Where a key is recorded as seen, when no marks are kept."""

    line: int = -1
    column: int = -1
    index: int = -1


_SEEN = _Unmarked()


@dataclass(slots=True)
class _Frame:
    """A collection being built."""

    container: dict[str, object] | list[object]
    marks: ValueMarks
    where: JsonPath
    start_mark: Mark
    anchor: str | None
    size: int = 1  # values this collection stands for, itself included
    # A block collection starts at its first entry, on the line below its key: the key locates it.
    block: bool = False
    # Mappings only:
    key_marks: dict[str, Mark] = field(default_factory=dict)
    key: object = _AWAITING_KEY
    key_mark: Mark | None = None
    discard_value: bool = False  # the pending key repeats an earlier one: its value is dropped
    merges: list[tuple[object, Mark]] = field(default_factory=list)


def build(text: str, limits: Limits, *, marks: bool = True) -> Built:
    """Build the single document of ``text``; raise Refused on a syntax error or a broken limit.

    ``marks=False`` keeps no positions (``Built`` has none, and faults no mark): a third of the time and
    most of the memory for a large file, for a caller that builds again with them to explain a fault.
    """
    parser = _Parser(text)
    try:
        return _Builder(parser, text, limits, marks=marks).run()
    finally:
        parser.dispose()


class _Builder:
    """One pass over the events of a stream."""

    def __init__(self, parser: yaml.SafeLoader, text: str, limits: Limits, *, marks: bool = True) -> None:
        self.parser = parser
        self.text = text
        self.limits = limits
        self.marks = marks
        self.stack: list[_Frame] = []
        self.faults: list[Fault] = []
        self.value_marks: dict[int, ValueMarks] = {}
        self.key_marks: dict[int, dict[str, Mark]] = {}
        self.anchors: dict[str, tuple[object, int]] = {}  # name -> (value, values it stands for)
        self.open_anchors: set[str] = set()
        self.written = 0  # values written out in the file
        self.expanded = 0  # values stood for by aliases and merges
        # Values dropped (repeated keys) stay referenced, so no live container reuses their ids.
        self.dropped: list[object] = []
        # Short texts (keys, aliases, enums) repeat throughout a large file: one object for each, not one
        # per occurrence, is less memory and, for whatever reads them all afterwards, fewer cache misses.
        self.strings: dict[str, str] = {}
        self.root: object = None
        self.root_mark: Mark | None = None
        self.document_mark: Mark | None = None

    def run(self) -> Built:
        get_event = self.parser.get_event
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        while True:
            try:
                event = get_event()  # type: ignore[no-untyped-call]
            except yaml.MarkedYAMLError as error:
                raise Refused([*self.faults, self._syntax_fault(error)]) from None
            kind = type(event)
            if kind is scalar_event:
                self.written += 1
                self._scalar(event)
            elif kind is mapping_end or kind is sequence_end:
                self._end()
            elif kind is mapping_start or kind is sequence_start:
                self.written += 1
                self._start(event, {} if kind is mapping_start else [])
            elif kind is alias_event:
                self._alias(event)
            elif kind is yaml.DocumentStartEvent:
                if self.document_mark is not None:
                    first = f"expected a single document in the stream at line {self.document_mark.line + 1}"
                    message = f"invalid YAML: but found another document ({first})"
                    raise Refused([*self.faults, Fault(event.start_mark, (), message)])
                self.document_mark = event.start_mark
            elif kind is yaml.StreamEndEvent:
                return Built(self.root, self.root_mark, self.value_marks, self.key_marks, self.faults)

    # --- values --------------------------------------------------------------------------------

    def _scalar(self, event: Event) -> None:
        text: str = event.value
        if len(text) <= _SHARED_UP_TO:
            text = self.strings.setdefault(text, text)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.key is _AWAITING_KEY and type(frame.container) is dict:
            self._key(frame, event, text)
            return
        tag = event.tag
        if tag is None:
            tag = resolve_plain(text) if event.implicit[0] else STR
            if tag == _MERGE:
                tag = STR  # ``<<`` merges only as a key; elsewhere it is text
        explicit = event.tag is not None
        value = text if tag in (STR, _NON_SPECIFIC) else self._construct(tag, event, explicit=explicit)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        # An empty value has no text of its own: its key locates it best.
        self._add(value, event.start_mark, 1, located_by_key=not text and tag == _NULL)

    def _construct(self, tag: str, event: Event, *, explicit: bool) -> object:
        """A non-string scalar's value; a positioned fault (and None) for an unsupported tag or bad value."""
        constructor = _CONSTRUCTORS.get(tag)
        shown = short_tag(tag)
        if constructor is None:
            self._fault(event.start_mark, f"unsupported YAML tag {shown} (plain data only)")
            return None
        if explicit and tag == _NULL and not _NULL_TEXT.fullmatch(event.value):
            self._fault(event.start_mark, f"invalid YAML: {event.value!r} is not a valid {shown}")
            return None
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return constructor(self.parser, node)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError, yaml.YAMLError):
            # int("x"), int of an empty value, a bool neither true nor false, more digits than Python converts...
            self._fault(event.start_mark, f"invalid YAML: {_excerpt(event.value)} is not a valid {shown}")
            return None

    def _alias(self, event: Event) -> None:
        anchor: str = event.anchor
        value: object = None
        size = 1
        if anchor in self.open_anchors:
            self._fault(event.start_mark, "recursive YAML alias is not supported")
        elif anchor not in self.anchors:
            self._fault(event.start_mark, f"invalid YAML: found undefined alias '{anchor}'")
        else:
            value, size = self.anchors[anchor]
            self._count_expanded(size, event.start_mark)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.key is _AWAITING_KEY and type(frame.container) is dict:
            text = value if isinstance(value, str) else f"*{anchor}"
            if not isinstance(value, str):
                self._fault(event.start_mark, "mapping keys must be strings")
            self._set_key(frame, text, event.start_mark)
            return
        self._add(value, event.start_mark, size, located_by_key=False)

    def _count_expanded(self, size: int, mark: Mark) -> None:
        """Count values an alias or a merge stands for; refuse the file past the limits."""
        self.expanded += size
        budget = self.limits.alias_budget(self.written)
        if self.expanded > budget:
            message = (
                f"YAML aliases in this file stand for more than {budget:,} values "
                f"(the limit is {self.limits.alias_ratio}x the values written out, or "
                f"{self.limits.alias_allowance:,}); an alias bomb is refused"
            )
            self._refuse(mark, message)
        if self.written + self.expanded > self.limits.max_values:
            self._refuse(mark, f"the file stands for more than {self.limits.max_values:,} values")

    # --- collections ---------------------------------------------------------------------------

    def _start(self, event: Event, container: dict[str, object] | list[object]) -> None:
        parent = self.stack[-1] if self.stack else None
        if len(self.stack) >= self.limits.max_depth:
            message = f"collections nest deeper than {self.limits.max_depth} levels"
            # The whole path would be as deep as the nesting: its top names the place well enough.
            raise Refused([*self.faults, Fault(event.start_mark, self._where()[:2], message)])
        expected = MAP if type(container) is dict else SEQ
        if event.tag is not None and event.tag not in (expected, _NON_SPECIFIC):
            self._fault(event.start_mark, f"unsupported YAML tag {short_tag(event.tag)} (plain data only)")
        where: JsonPath
        if parent is None:
            where = ()
        elif type(parent.container) is list:
            where = (*parent.where, len(parent.container))
        elif isinstance(parent.key, str):
            where = (*parent.where, parent.key)
        else:
            where = parent.where
        marks: ValueMarks = {} if type(container) is dict else []
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.stack.append(_Frame(container, marks, where, event.start_mark, anchor, block=not event.flow_style))

    def _end(self) -> None:
        frame = self.stack.pop()
        value: object = frame.container
        if frame.merges:
            value = self._merged(frame)
        if self.marks:
            self.value_marks[id(value)] = frame.marks
            if type(value) is dict:
                self.key_marks[id(value)] = frame.key_marks
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (value, frame.size)
            self.open_anchors.discard(frame.anchor)
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.key is _AWAITING_KEY and type(parent.container) is dict:
            self._fault(frame.start_mark, "mapping keys must be strings", parent.where)
            self._set_key(parent, f"<{'mapping' if type(value) is dict else 'sequence'}>", frame.start_mark)
            return
        self._add(value, frame.start_mark, frame.size, located_by_key=frame.block)

    def _add(self, value: object, mark: Mark, size: int, *, located_by_key: bool) -> None:
        """Put a finished value into the collection being built (or make it the document)."""
        if not self.stack:
            self.root, self.root_mark = value, mark
            return
        frame = self.stack[-1]
        frame.size += size
        container = frame.container
        if type(container) is list:
            container.append(value)
            if self.marks:
                frame.marks.append(mark)  # type: ignore[union-attr]
            return
        key = frame.key
        frame.key = _AWAITING_KEY
        if key is _MERGE_KEY:
            frame.merges.append((value, mark))
        elif frame.discard_value:
            frame.discard_value = False
            self.dropped.append(value)
        else:
            name = cast(str, key)
            cast(dict[str, object], container)[name] = value
            if self.marks:
                key_mark = frame.key_mark if located_by_key and frame.key_mark is not None else mark
                cast(dict[str, Mark], frame.marks)[name] = key_mark

    def _key(self, frame: _Frame, event: Event, text: str) -> None:
        """Read a mapping key (``text``, the event's, shared): a positioned fault for keys YAML reads as
        numbers, booleans or null."""
        tag = event.tag
        if tag is None and event.implicit[0]:
            tag = resolve_plain(text)
            if tag == _MERGE:
                frame.key, frame.key_mark = _MERGE_KEY, event.start_mark
                return
        if tag not in (None, STR, _NON_SPECIFIC):
            if not text and tag == _NULL:
                text = "null"
            self._fault(event.start_mark, f"key {text} is not a string; put it in quotes: '{text}'", frame.where)
        if event.anchor is not None:
            self.anchors[event.anchor] = (text, 1)
        self._set_key(frame, text, event.start_mark)

    def _set_key(self, frame: _Frame, key: str, mark: Mark) -> None:
        """Make ``key`` the pending key of ``frame``, refusing a repeated key (its value is dropped)."""
        first = frame.key_marks.get(key)
        if first is not None and not self.marks:
            raise Unexplained  # the message names the line of the first definition
        if first is not None:
            message = f"duplicate key '{key}': defined at line {first.line + 1} and again at line {mark.line + 1}"
            self._fault(mark, message, frame.where)
            # The first definition is kept, so the problems reported are those of the text read first.
            frame.discard_value = True
        else:
            # Without marks, only whether a key was seen.
            frame.key_marks[key] = mark if self.marks else _SEEN
        frame.key, frame.key_mark = key, mark

    def _merged(self, frame: _Frame) -> dict[str, object]:
        """A mapping with merge keys (``<<``): merged entries first, the mapping's own keys winning."""
        # In a list of merged mappings the earlier wins, so they are applied last to first.
        sources: list[tuple[object, Mark]] = []
        for value, mark in frame.merges:
            if type(value) is list:
                sources.extend((item, mark) for item in reversed(value))
            else:
                sources.append((value, mark))
        merged: dict[str, object] = {}
        value_marks: dict[str, Mark] = {}
        key_marks: dict[str, Mark] = {}
        for source, mark in sources:
            if type(source) is not dict:
                self._fault(mark, "a merge key (<<) takes a mapping or a list of mappings", frame.where)
                continue
            self._count_expanded(len(source), mark)
            merged.update(source)
            value_marks.update(self.value_marks.get(id(source), {}))  # type: ignore[arg-type]
            key_marks.update(self.key_marks.get(id(source), {}))
        merged.update(frame.container)  # type: ignore[arg-type]
        value_marks.update(frame.marks)  # type: ignore[arg-type]
        key_marks.update(frame.key_marks)
        frame.marks, frame.key_marks = value_marks, key_marks
        self.dropped.append(frame.container)
        return merged

    # --- faults --------------------------------------------------------------------------------

    def _where(self) -> JsonPath:
        """The path of the value being read."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if type(frame.container) is list:
            return (*frame.where, len(frame.container))
        return (*frame.where, frame.key) if isinstance(frame.key, str) else frame.where

    def _fault(self, mark: Mark | None, message: str, where: JsonPath | None = None) -> None:
        self.faults.append(Fault(mark, self._where() if where is None else where, message))

    def _refuse(self, mark: Mark, message: str) -> None:
        raise Refused([*self.faults, Fault(mark, self._where(), message)])

    def _syntax_fault(self, error: yaml.MarkedYAMLError) -> Fault:
        """A YAML syntax error, at the position the parser gave up."""
        mark = error.problem_mark or error.context_mark
        message = f"invalid YAML: {error.problem or error.context}"
        if error.context and error.problem and error.context_mark is not None:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        if mark is not None and self.text[mark.index : mark.index + 1] == "\t":
            message += "; YAML indents with spaces, not tabs"  # libyaml only says it "cannot start any token"
        return Fault(mark, (), message)


def short_tag(tag: str) -> str:
    """YAML's standard tags as written in a file: ``!!set`` rather than ``tag:yaml.org,2002:set``."""
    return tag.replace("tag:yaml.org,2002:", "!!")


def _excerpt(text: str, limit: int = 40) -> str:
    """A scalar quoted for a message, shortened if long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
