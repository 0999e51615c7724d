"""Decode Stripe's form encoding (`metadata[k]=v`, `expand[]=a`, `card[token]=t`) into nested values."""

from __future__ import annotations

from typing import TypeAlias
from urllib.parse import parse_qsl

from .errors import bad_param

# A decoded value: a string, a hash, or a list built by `key[]=`. Indexed keys (`expand[0]`) stay hash
# keys here; the parameter's kind decides whether a hash of numeric keys is a list (params.py), because
# `metadata[0]` is a metadata key while `expand[0]` is a list position.
FormValue: TypeAlias = "str | dict[str, FormValue] | list[FormValue]"
Form: TypeAlias = dict[str, FormValue]


def pairs(query: str) -> list[tuple[str, str]]:
    """The name/value pairs of a query string or form body, blanks kept (`metadata[k]=` unsets k)."""
    return parse_qsl(query, keep_blank_values=True)


def decode(items: list[tuple[str, str]]) -> Form:
    """Nest the pairs by their bracket keys; a later scalar for the same key wins, as on Stripe."""
    root: Form = {}
    for key, value in items:
        _insert(root, _split(key), value, key)
    return root


def _split(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    parts = [head]
    for piece in ("[" + rest).split("]"):
        if piece.startswith("["):
            parts.append(piece[1:])
    return parts


def _insert(node: Form, parts: list[str], value: str, key: str) -> None:
    name, rest = parts[0], parts[1:]
    if not rest:
        if isinstance(node.get(name), dict | list):
            raise _conflict(key)
        node[name] = value
        return
    if rest[0] == "":
        items = node.setdefault(name, [])
        if not isinstance(items, list):
            raise _conflict(key)
        _append(items, rest[1:], value, key)
        return
    child = node.setdefault(name, {})
    if not isinstance(child, dict):
        raise _conflict(key)
    _insert(child, rest, value, key)


def _append(items: list[FormValue], rest: list[str], value: str, key: str) -> None:
    if not rest:
        items.append(value)
        return
    # `a[][x]=1&a[][y]=2` fills one element; a key the last element already has starts the next one.
    last = items[-1] if items else None
    if not isinstance(last, dict) or rest[0] in last:
        last = {}
        items.append(last)
    _insert(last, rest, value, key)


def _conflict(key: str) -> Exception:
    name = key.partition("[")[0]
    return bad_param(f"Invalid {name}: the parameter was given both as a value and as a hash ({key}).", name)
