"""A block-style YAML writer that keeps comments, for files people read and edit (PyYAML drops comments).

It writes mappings with string keys, lists (of scalars or of mappings) and scalars (strings and
integers): what a desired-state file needs. Each value may carry a comment at the end of its line and comment lines
above it; a collection may carry comment lines below its items. Inline comments of siblings line up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml

INDENT = 2
# What may stand unquoted; yaml.safe_load then decides (``yes``, ``null`` and ``1e3`` are not strings).
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@/+-]*")
# Characters a YAML stream may not hold (PyYAML's reader refuses them), and line breaks: not in comments.
_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Scalar = str | int


@dataclass(frozen=True, slots=True)
class Node:
    """A value, with a comment at the end of its line, comment lines above it and (collections) below.

    An empty comment line is written as a blank line.
    """

    value: Scalar | tuple[Node, ...] | Mapping[str, Node]
    comment: str = ""
    above: tuple[str, ...] = ()
    below: tuple[str, ...] = ()


def emit(root: Mapping[str, Node], *, header: tuple[str, ...] = ()) -> str:
    """The YAML text of a top-level mapping, after ``header`` comment lines."""
    lines = [_comment_line(0, text) for text in header]
    lines += _aligned(list(_mapping(root, 0)))
    return "\n".join(lines) + "\n"


def scalar(value: Scalar) -> str:
    """``value`` as a YAML scalar: plain when it reads back as the same string, else double-quoted."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not a string or an integer: {value!r}")
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    # A JSON string is a YAML double-quoted scalar; ASCII escapes keep it one safe line.
    return json.dumps(value)


def comment_text(text: str) -> str:
    """``text`` made safe for a ``#`` comment: one line of printable characters (indentation kept)."""
    return _UNPRINTABLE.sub(" ", text).rstrip()


# A line before alignment: (text, comment); a comment-only line has text None.
_Line = tuple[str | None, str]


def _mapping(mapping: Mapping[str, Node], depth: int) -> Iterator[_Line]:
    pad = " " * (INDENT * depth)
    for key, node in mapping.items():
        yield from ((None, _comment_line(depth, text)) for text in node.above)
        yield from _entry(f"{pad}{scalar(key)}:", node, depth)


def _sequence(items: tuple[Node, ...], depth: int) -> Iterator[_Line]:
    pad = " " * (INDENT * depth)
    for node in items:
        yield from ((None, _comment_line(depth, text)) for text in node.above)
        if isinstance(node.value, int | str):
            yield f"{pad}- {scalar(node.value)}", comment_text(node.comment)
        elif isinstance(node.value, Mapping) and node.value:
            # A mapping item: its first key follows the dash, the others line up under it.
            lines = list(_mapping(node.value, depth + 1))
            first, comment = lines[0]
            if first is None:
                raise TypeError("a mapping in a list cannot start with a comment line")
            lines[0] = f"{pad}- {first.lstrip()}", comment or comment_text(node.comment)
            yield from lines
        else:
            raise TypeError("list items are scalars or non-empty mappings here")


def _entry(lead: str, node: Node, depth: int) -> Iterator[_Line]:
    value, comment = node.value, comment_text(node.comment)
    if isinstance(value, int | str):
        yield f"{lead} {scalar(value)}", comment
        return
    if not value:
        yield f"{lead} {'[]' if isinstance(value, tuple) else '{}'}", comment
    else:
        yield lead, comment
        # Lists sit at their key's indentation plus one step, as most YAML in the wild does.
        children = _sequence(value, depth + 1) if isinstance(value, tuple) else _mapping(value, depth + 1)
        yield from _block(children)
    yield from ((None, _comment_line(depth + 1, text)) for text in node.below)


def _block(lines: Iterator[_Line]) -> Iterator[_Line]:
    """One collection's lines, already aligned, so a nested block lines up on its own."""
    for line in _aligned(list(lines)):
        yield None, line


def _aligned(lines: list[_Line]) -> list[str]:
    """Lines with their inline comments in one column (that of the longest commented line, plus two)."""
    column = max((len(text) for text, comment in lines if text is not None and comment), default=0) + 2
    out = []
    for text, comment in lines:
        if text is None:
            out.append(comment)
        elif comment:
            out.append(f"{text.ljust(column)}# {comment}")
        else:
            out.append(text)
    return out


def _comment_line(depth: int, text: str) -> str:
    """A whole-line comment; an empty one is a blank line, to set sections apart."""
    cleaned = comment_text(text)
    return f"{' ' * (INDENT * depth)}# {cleaned}" if cleaned else ""
