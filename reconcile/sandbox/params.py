"""Per-endpoint parameter specs: Stripe's validation errors in, typed values out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .errors import bad_param, missing_parameter, not_emulated, unknown_parameters
from .forms import Form, FormValue
from .metadata import METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH, MetadataPatch

_INTEGER = re.compile(r"-?[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _choices(values: Iterable[str]) -> str:
    listed = [v for v in values if v]
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + ", or " + listed[-1]


class Kind(Protocol):
    """How one parameter is checked and converted; `None` out means "unset" (an empty string in)."""

    def coerce(self, value: FormValue, name: str) -> object: ...


@dataclass(frozen=True, slots=True)
class Text:
    """A string up to `max_length` characters; an empty string unsets the field."""

    max_length: int = 5000

    def coerce(self, value: FormValue, name: str) -> str | None:
        if not isinstance(value, str):
            raise bad_param(f"Invalid {name}: expected a string, got a hash or an array.", name)
        if value == "":
            return None
        if len(value) > self.max_length:
            raise bad_param(f"Invalid string: {_short(value)}; must be at most {self.max_length} characters", name)
        return value


@dataclass(frozen=True, slots=True)
class Email:
    """An e-mail address, checked for its shape as Stripe does for customers."""

    def coerce(self, value: FormValue, name: str) -> str | None:
        text = Text(512).coerce(value, name)
        if text is not None and not _EMAIL.fullmatch(text):
            raise bad_param(f"Invalid email address: {_short(text)}", name, "email_invalid")
        return text


@dataclass(frozen=True, slots=True)
class Integer:
    """An integer, optionally bounded, with Stripe's messages for bad values."""

    minimum: int | None = None
    maximum: int | None = None

    def coerce(self, value: FormValue, name: str) -> int | None:
        if not isinstance(value, str) or (value and not _INTEGER.fullmatch(value)):
            shown = value if isinstance(value, str) else "a hash or an array"
            raise bad_param(f"Invalid integer: {_short(shown)}", name, "parameter_invalid_integer")
        if value == "":
            return None
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise bad_param(f"This value must be greater than or equal to {self.minimum}.", name)
        if self.maximum is not None and number > self.maximum:
            raise bad_param(f"This value must be less than or equal to {self.maximum}.", name)
        return number


@dataclass(frozen=True, slots=True)
class Boolean:
    """`true` or `false`, as Stripe's form encoding sends booleans."""

    def coerce(self, value: FormValue, name: str) -> bool:
        if value not in ("true", "false"):
            shown = value if isinstance(value, str) else "a hash or an array"
            raise bad_param(f"Invalid boolean: {_short(shown)}", name)
        return value == "true"


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set of strings (an empty string unsets, where Stripe allows it)."""

    values: tuple[str, ...]

    def coerce(self, value: FormValue, name: str) -> str | None:
        if value == "" and "" in self.values:
            return None
        if not isinstance(value, str) or value not in self.values:
            raise bad_param(f"Invalid {name}: must be one of {_choices(self.values)}", name)
        return value


@dataclass(frozen=True, slots=True)
class Strings:
    """An array of strings, sent as `a[]=x` or `a[0]=x`; an empty string is an empty array."""

    item: Text = field(default_factory=Text)

    def coerce(self, value: FormValue, name: str) -> list[str]:
        if value == "":
            return []
        if isinstance(value, dict) and all(key.isdigit() for key in value):
            value = [value[key] for key in sorted(value, key=int)]
        if not isinstance(value, list):
            raise bad_param("Invalid array", name)
        items = [self.item.coerce(item, f"{name}[{index}]") for index, item in enumerate(value)]
        return [item for item in items if item is not None]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A timestamp filter: `created=T` or `created[gt|gte|lt|lte]=T`."""

    def coerce(self, value: FormValue, name: str) -> dict[str, int]:
        if isinstance(value, str):
            exact = Integer().coerce(value, name)
            return {} if exact is None else {"gte": exact, "lte": exact}
        if not isinstance(value, dict):
            raise bad_param("Invalid hash", name)
        unknown = sorted(f"{name}[{key}]" for key in value if key not in ("gt", "gte", "lt", "lte"))
        if unknown:
            raise unknown_parameters(unknown)
        bounds: dict[str, int] = {}
        for key, item in value.items():
            number = Integer().coerce(item, f"{name}[{key}]")
            if number is not None:
                bounds[key] = number
        return bounds


@dataclass(frozen=True, slots=True)
class Metadata:
    """Stripe's metadata hash, with its key and value length limits."""

    def coerce(self, value: FormValue, name: str) -> MetadataPatch:
        if value == "":
            return MetadataPatch(clear=True)
        if not isinstance(value, dict):
            raise bad_param("Invalid hash", name)
        changes: list[tuple[str, str | None]] = []
        for key, item in value.items():
            if len(key) > METADATA_KEY_LENGTH:
                raise bad_param(
                    f"Invalid key: {_short(key, 60)} must be a string under {METADATA_KEY_LENGTH} characters",
                    name,
                )
            if not isinstance(item, str) or len(item) > METADATA_VALUE_LENGTH:
                shown = _short(item, 60) if isinstance(item, str) else "a hash or an array"
                raise bad_param(f"Invalid val: {shown} must be a string under {METADATA_VALUE_LENGTH} characters", name)
            changes.append((key, item or None))
        return MetadataPatch(changes=tuple(changes))


@dataclass(frozen=True, slots=True)
class Hash:
    """A nested hash with its own parameters; `nullable` lets an empty string unset it."""

    fields: Mapping[str, Kind]
    documented: frozenset[str] = frozenset()
    nullable: bool = False
    required: tuple[str, ...] = ()

    def coerce(self, value: FormValue, name: str) -> Params | None:
        if value == "" and self.nullable:
            return None
        if not isinstance(value, dict):
            raise bad_param("Invalid hash", name)
        return _parse(value, self.fields, self.documented, self.required, prefix=name)


@dataclass(frozen=True, slots=True)
class Records:
    """An array of hashes (`a[0][x]=1&a[0][y]=2`), at most `max_items` of them; an empty string unsets it."""

    item: Hash
    max_items: int

    def coerce(self, value: FormValue, name: str) -> list[Params] | None:
        if value == "":
            return None
        if isinstance(value, dict) and all(key.isdigit() for key in value):
            value = [value[key] for key in sorted(value, key=int)]
        if not isinstance(value, list):
            raise bad_param("Invalid array", name)
        if len(value) > self.max_items:
            raise bad_param(f"You may pass at most {self.max_items} items in {name}; you passed {len(value)}.", name)
        records = [self.item.coerce(item, f"{name}[{index}]") for index, item in enumerate(value)]
        return [record for record in records if record is not None]


@dataclass(frozen=True, slots=True)
class Spec:
    """The parameters of one endpoint: emulated ones, ones Stripe documents but we refuse, required ones."""

    fields: Mapping[str, Kind]
    documented: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()

    def parse(self, form: Form) -> Params:
        """Check the decoded form as Stripe does and return the typed values."""
        return _parse(form, self.fields, self.documented, self.required, prefix="")


def _parse(
    form: Mapping[str, FormValue],
    fields: Mapping[str, Kind],
    documented: frozenset[str],
    required: tuple[str, ...],
    *,
    prefix: str,
) -> Params:
    def full(name: str) -> str:
        return f"{prefix}[{name}]" if prefix else name

    unknown = [full(name) for name in form if name not in fields and name not in documented]
    if unknown:
        raise unknown_parameters(unknown)
    for name in form:
        if name in documented:
            raise not_emulated(f"the parameter {full(name)}", full(name))
    values = {name: fields[name].coerce(value, full(name)) for name, value in form.items()}
    for name in required:
        if values.get(name) in (None, ""):
            raise missing_parameter(full(name))
    return Params(values)


class Params:
    """Validated parameter values; a name present with `None` was sent empty (unset)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, object]) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        """The names that were sent."""
        return list(self._values)

    def text(self, name: str) -> str | None:
        """A string parameter, `None` when absent or unset."""
        value = self._values.get(name)
        assert value is None or isinstance(value, str), name
        return value

    def integer(self, name: str) -> int | None:
        """An integer parameter, `None` when absent or unset."""
        value = self._values.get(name)
        assert value is None or isinstance(value, int), name
        return value

    def boolean(self, name: str) -> bool | None:
        """A boolean parameter, `None` when absent."""
        value = self._values.get(name)
        assert value is None or isinstance(value, bool), name
        return value

    def hash(self, name: str) -> Params | None:
        """A nested hash, `None` when absent or unset."""
        value = self._values.get(name)
        assert value is None or isinstance(value, Params), name
        return value

    def records(self, name: str) -> list[Params] | None:
        """An array of hashes, `None` when absent or unset."""
        value = self._values.get(name)
        assert value is None or isinstance(value, list), name
        return value

    def metadata(self, name: str = "metadata") -> MetadataPatch | None:
        """The metadata change, `None` when metadata was not sent."""
        value = self._values.get(name)
        assert value is None or isinstance(value, MetadataPatch), name
        return value

    def strings(self, name: str) -> list[str]:
        """An array of strings (empty when absent)."""
        value = self._values.get(name, [])
        assert isinstance(value, list), name
        return [str(item) for item in value]

    def time_range(self, name: str) -> dict[str, int]:
        """A created-style filter as bounds (empty when absent)."""
        value = self._values.get(name, {})
        assert isinstance(value, dict), name
        return {str(key): int(bound) for key, bound in value.items()}

    def plain(self) -> dict[str, object]:
        """The values as JSON-ready data, nested hashes included (for fields stored as sent)."""
        return {name: value.plain() if isinstance(value, Params) else value for name, value in self._values.items()}
