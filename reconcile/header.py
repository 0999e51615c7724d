"""The top of a desired-state file, read before the whole of it: its owner, mode and accounts.

That is all observing needs of a file (whose customers, with which key, on which accounts), and it is
written first in every file we know of. So a large file's lists can be read while the rest of it
loads (``loading``). The reading is deliberately narrow: it follows libyaml's events only until the
three keys are found, within the first ``MAX_EVENTS`` events, and gives up (None) on anything but plain
strings there (anchors, aliases, tags, a merge key, a repeated key, a mode other than live or test).
Giving up only means the file is loaded first, as it always was; and the header is compared with the
fully loaded file before anything is planned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from reconcile.model import Header, Mode

if TYPE_CHECKING:
    _Parser = yaml.SafeLoader
else:
    _Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Far past the header of any file written by hand, and a millisecond of libyaml's time.
MAX_EVENTS = 10_000
_WANTED = ("owner", "mode", "accounts")


class _GiveUp(Exception):
    """Not a header this reader vouches for: the file is loaded whole first."""


def read_header(text: str, path: str = "") -> Header | None:
    """The owner, mode and accounts at the top of ``text``, or None if they are not simply written there."""
    parser = _Parser(text)
    try:
        return _Events(parser).header(path)
    except (_GiveUp, yaml.YAMLError):
        return None
    finally:
        parser.dispose()


class _Events:
    def __init__(self, parser: yaml.SafeLoader) -> None:
        self.parser = parser
        self.count = 0

    def next(self) -> Any:
        self.count += 1
        if self.count > MAX_EVENTS:
            raise _GiveUp
        return self.parser.get_event()  # type: ignore[no-untyped-call]

    def header(self, path: str) -> Header:
        for expected in (yaml.StreamStartEvent, yaml.DocumentStartEvent, yaml.MappingStartEvent):
            event = self.next()
            if not isinstance(event, expected) or getattr(event, "anchor", None) or getattr(event, "tag", None):
                raise _GiveUp
        strings: dict[str, str] = {}
        accounts: dict[str, str] | None = None
        while len(strings) + (accounts is not None) < len(_WANTED):
            key = self.next()
            if not isinstance(key, yaml.ScalarEvent) or key.anchor or key.tag or key.value in strings:
                raise _GiveUp  # the end of the file's mapping, or a key that is not a plain string
            if key.value == "<<":
                raise _GiveUp  # a merge could bring in what the file does not spell out
            if key.value == "accounts":
                if accounts is not None:
                    raise _GiveUp
                accounts = self.accounts()
            elif key.value in _WANTED:
                strings[key.value] = self.string()
            else:
                self.skip()
        if strings["mode"] not in set(Mode):
            raise _GiveUp
        assert accounts is not None
        return Header(owner=strings["owner"], mode=Mode(strings["mode"]), accounts=accounts, path=path)

    def string(self) -> str:
        event = self.next()
        if not isinstance(event, yaml.ScalarEvent) or event.anchor or event.tag:
            raise _GiveUp
        return str(event.value)

    def accounts(self) -> dict[str, str]:
        start = self.next()
        if not isinstance(start, yaml.MappingStartEvent) or start.anchor or start.tag:
            raise _GiveUp
        accounts: dict[str, str] = {}
        while True:
            event = self.next()
            if isinstance(event, yaml.MappingEndEvent):
                return accounts
            if not isinstance(event, yaml.ScalarEvent) or event.anchor or event.tag or event.value in accounts:
                raise _GiveUp
            alias = str(event.value)
            if alias == "<<":
                raise _GiveUp
            accounts[alias] = self.string()

    def skip(self) -> None:
        """Past one value, however deep."""
        depth = 0
        while True:
            event = self.next()
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
            elif not isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                raise _GiveUp
            if depth == 0:
                return
