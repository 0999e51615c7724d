"""The desired-state file: YAML with positions -> JSON Schema -> semantic checks -> DesiredState.

Every check runs before any network call, and every problem of a file is reported at once, each as
``FILE:LINE:COL: path: message``. Resolution (aliases, ``"*"``, per-account overrides) only runs on a
file without problems, so it can trust the shape the schema promised.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypedDict, cast

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from reconcile.collector import collector_paused
from reconcile.countries import COUNTRY_CODES
from reconcile.errors import ConfigError, Problem
from reconcile.model import (
    KEY_KEY,
    NO_DETAILS,
    OWNER_KEY,
    OWNERSHIP_KEYS,
    Address,
    CustomerSpec,
    CustomField,
    DesiredState,
    Details,
    Fields,
    Mode,
    ShareSpec,
    Shipping,
    Strategy,
    frozen_map,
)
from reconcile.safety import Safety
from reconcile.yaml_limits import DEFAULT_LIMITS, MIB
from reconcile.yaml_source import Document, JsonPath, Unexplained, parse_document

SUPPORTED_VERSIONS = (1,)
EVERY_ACCOUNT = "*"
RESERVED_PREFIX = "reconcile_"
# Stripe's limit on metadata keys per object; the tool's ownership keys count against it.
MAX_METADATA_KEYS = 50
PLATFORM_OWNERSHIP_KEYS = len({OWNER_KEY, KEY_KEY})
COPY_OWNERSHIP_KEYS = len(OWNERSHIP_KEYS)
_DETAIL_KEYS = frozenset({"address", "shipping", "preferred_locales", "tax_exempt", "invoice_settings"})

_TYPE_NAMES = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class _RawAddress(TypedDict, total=False):
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str


class _RawShipping(TypedDict, total=False):
    name: str
    phone: str
    address: _RawAddress


class _RawCustomField(TypedDict):
    name: str
    value: str


class _RawInvoiceSettings(TypedDict, total=False):
    footer: str
    custom_fields: list[_RawCustomField]


class _RawFields(TypedDict, total=False):
    email: str
    name: str
    phone: str
    description: str
    metadata: dict[str, str]
    address: _RawAddress
    shipping: _RawShipping
    preferred_locales: list[str]
    tax_exempt: str
    invoice_settings: _RawInvoiceSettings


class _RawShare(_RawFields):
    account: str


class _RawPayment(TypedDict, total=False):
    source: str


class _RawCustomer(_RawFields, total=False):
    id: str
    payment: _RawPayment
    strategy: str
    ignore_changes: list[str]
    accounts: list[str | _RawShare]


class _RawFile(TypedDict, total=False):
    version: int
    owner: str
    mode: str
    strategy: str
    safety: dict[str, Any]
    accounts: dict[str, str]
    customers: dict[str, _RawCustomer]


def load(path: str | Path) -> DesiredState:
    """Read, check and resolve a desired-state file; raise ConfigError listing every problem."""
    return parse(read_text(path), str(path))


def read_text(path: str | Path) -> str:
    """The text of a desired-state file, within the size limit; raise a positioned ConfigError if not."""
    shown = str(path)
    limit = DEFAULT_LIMITS.max_bytes
    try:
        with Path(path).open("rb") as file:
            # Read one byte past the limit rather than the whole of a file that may be huge.
            data = file.read(limit + 1)
        if len(data) > limit:
            line, column = _byte_position(data, limit)
            message = f"the file is larger than the {limit // MIB} MiB a desired-state file may be"
            raise ConfigError([Problem(shown, line, column, "", message)])
        # utf-8-sig: editors on Windows may start the file with a byte order mark.
        text = data.decode("utf-8-sig")
    except OSError as error:
        raise ConfigError([Problem(shown, 1, 1, "", f"cannot read the file: {error.strerror}")]) from None
    except UnicodeDecodeError as error:
        line, column = _byte_position(data, error.start)
        message = f"the file is not UTF-8 text ({error.reason} at byte {error.start})"
        raise ConfigError([Problem(shown, line, column, "", message)]) from None
    return text


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and (byte) column of ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1, offset - data.rfind(b"\n", 0, offset)


def parse(text: str, path: str = "<string>") -> DesiredState:
    """Check and resolve desired-state YAML text; ``path`` names the file in messages."""
    return parse_if_valid(text, path) or explain(text, path)


def parse_if_valid(text: str, path: str = "<string>") -> DesiredState | None:
    """The state of a file without problems; None, without saying why, if it has any (see ``explain``).

    Most files are valid, so they are read without positions: a third faster, and a third of the memory
    for a large file. A refusal while reading (syntax, limits) is raised at once: it carries its position.
    """
    with collector_paused():
        lean = _without_positions(text, path)
        return _resolve(lean) if lean is not None and _valid(lean) else None


def explain(text: str, path: str = "<string>") -> DesiredState:
    """Read ``text`` again with positions and raise ConfigError with every problem, each where it is written
    (or, if there is none after all, return its state)."""
    with collector_paused():
        document = parse_document(text, path)
        # A value YAML could not read (``!!int x``) is null to the schema, which would only repeat it.
        unreadable = {(problem.line, problem.column) for problem in document.problems}
        checked = [problem for problem in check(document) if (problem.line, problem.column) not in unreadable]
        problems = [*document.problems, *checked]
        if problems:
            raise ConfigError(problems)
        return _resolve(document)


def _without_positions(text: str, path: str) -> Document | None:
    """The document without positions, or None if a problem in it needs them to be told."""
    try:
        return parse_document(text, path, marks=False)
    except Unexplained:
        return None


def _valid(document: Document) -> bool:
    """Whether a document has no problem at all, without saying what any would be."""
    if document.problems or document.data is None or _version_problem(document) is not None:
        return False
    return compiled_schema_accepts(document.data) and not _semantic_problems(document)


def check(document: Document) -> list[Problem]:
    """Every schema and semantic problem of a parsed document (YAML-level ones are on the document)."""
    if document.data is None:
        message = "the file is empty (expected version, owner, mode, accounts and customers)"
        return [Problem(document.path, 1, 1, "", message)]
    version = _version_problem(document)
    if version is not None:
        # The rest of a file in another format version would only produce noise.
        return [version]
    return [*_schema_problems(document), *_semantic_problems(document)]


def _version_problem(document: Document) -> Problem | None:
    """A Problem if the file declares a version this build does not read."""
    root = _mapping(document.data)
    if "version" not in root:
        return None  # the schema reports it as missing
    version = root["version"]
    # type() rather than isinstance: YAML's true is a bool, and True == 1 in Python.
    if type(version) is int and version in SUPPORTED_VERSIONS:
        return None
    return document.problem(("version",), f"unsupported version {_show(version)} ({_versions_hint()})")


def _versions_hint() -> str:
    """Which format versions this build reads, for messages."""
    return "this build of reconcile reads version " + " or ".join(map(str, SUPPORTED_VERSIONS))


# --- JSON Schema -----------------------------------------------------------------------------------


@cache
def schema() -> Mapping[str, object]:
    """The JSON Schema of the desired-state file, as shipped in the package."""
    text = resources.files("reconcile").joinpath("schemas/reconcile.schema.json").read_text("utf-8")
    return cast(Mapping[str, object], json.loads(text))


@cache
def _validator() -> Draft202012Validator:
    """A validator of the schema with its local ``$ref``s inlined, built once per process."""
    # jsonschema resolves a $ref on every visit: inlining them halves the time a large file takes.
    defs = _mapping(schema().get("$defs"))
    return Draft202012Validator(cast(Mapping[str, object], _inline_refs(schema(), defs)))


def _inline_refs(node: object, defs: Mapping[str, object]) -> object:
    """``node`` with each ``{"$ref": "#/$defs/x", ...}`` replaced by x's schema, siblings on top."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {key: _inline_refs(value, defs) for key, value in node.items() if key != "$ref"}
    reference = node.get("$ref")
    if not isinstance(reference, str):
        return inlined
    target = _inline_refs(defs[reference.removeprefix("#/$defs/")], defs)
    return {**_mapping(target), **inlined}


@cache
def _compiled() -> Callable[[object], object]:
    """The same schema compiled to Python by fastjsonschema: the fast yes-or-no for valid files.

    jsonschema walks a file node by node through generic keyword functions (14 s for a million
    shares); the compiled validator checks the same keywords in straight-line code (2 s). It stops at
    the first violation and says little about it, so a file it rejects is checked again by jsonschema,
    which finds every problem and says what was expected where.
    """
    return fastjsonschema.compile(dict(_mapping(_inline_refs(schema(), _mapping(schema().get("$defs"))))))


def compiled_schema_accepts(data: object) -> bool:
    """The compiled schema's verdict: True when ``data`` has no schema problem."""
    return _passes(_compiled(), data)


def _passes(compiled: Callable[[object], object], data: object) -> bool:
    """Whether a compiled validator (which raises on the first violation) accepts ``data``."""
    try:
        compiled(data)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def _schema_errors(data: object) -> list[ValidationError]:
    """jsonschema's errors for data the compiled schema rejects.

    jsonschema takes seconds over a large file (14 s for 100,000 customers) where the compiled schema
    takes a fraction of one: in a file of many customers, it looks only at those the compiled schema
    rejects (by key or by value), with the rest of the file, so the paths it reports are the file's.
    """
    root = data if isinstance(data, dict) else {}
    customers = root.get("customers")
    if not isinstance(customers, dict) or len(customers) < CUSTOMERS_TO_NARROW_SCHEMA_ERRORS:
        return list(_validator().iter_errors(data))
    suspects = {key: value for key, value in customers.items() if not _customer_accepted(key, value)}
    return list(_validator().iter_errors({**root, "customers": suspects}))


# From this many customers, jsonschema explains only the customers the compiled schema rejects.
CUSTOMERS_TO_NARROW_SCHEMA_ERRORS = 1_000


def _customer_accepted(key: object, value: object) -> bool:
    """Whether the compiled schema accepts one customer: its key and its value."""
    accepts_key, customer_schema = _compiled_customer()
    return accepts_key(key) and _passes(customer_schema, value)


@cache
def _compiled_customer() -> tuple[Callable[[object], bool], Callable[[object], object]]:
    """The schema of a customer key (a test) and of a customer (raising on a violation), compiled."""
    customers = _mapping(_mapping(schema().get("properties")).get("customers"))
    names = _mapping(customers.get("propertyNames"))
    pattern = re.compile(str(names["pattern"]))
    defs = _mapping(schema().get("$defs"))
    customer = {"$schema": schema()["$schema"], **_mapping(_inline_refs(customers["additionalProperties"], defs))}
    return (lambda key: isinstance(key, str) and pattern.search(key) is not None), fastjsonschema.compile(customer)


def _schema_problems(document: Document) -> list[Problem]:
    """Each schema violation as a Problem that says what was expected."""
    if compiled_schema_accepts(document.data):
        return []
    # At least one problem: jsonschema finds them all, with what was expected.
    errors = _schema_errors(document.data)
    # A value of the wrong type fails its other rules too (a number is in no enum of strings): the
    # type error alone says what was expected.
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    problems = (
        problem
        for error in errors
        if error.validator == "type" or tuple(error.absolute_path) not in mistyped
        for problem in _schema_error_problems(document, error)
    )
    # jsonschema makes one `required` error per missing field and names it only in prose; each is
    # translated into all the missing fields, so repeats are dropped here.
    return list(dict.fromkeys(problems))


def _schema_error_problems(document: Document, error: ValidationError) -> Iterator[Problem]:
    """Translate one jsonschema error into Problems at the nearest recorded position."""
    where: JsonPath = tuple(error.absolute_path)
    rule = _mapping(error.schema)
    if "propertyNames" in error.schema_path:
        # jsonschema reports a bad key at its mapping, with the key as the instance.
        key = str(error.instance)
        yield document.key_problem(where, key, _value_message(error, rule))
    elif error.validator == "additionalProperties":
        expected = list(_mapping(rule.get("properties")))
        for key in _mapping(error.instance):
            if key not in expected:
                yield document.key_problem(where, key, _unknown_field(key, expected))
    elif error.validator == "required":
        present = _mapping(error.instance)
        for name in _strings(error.validator_value):
            if name not in present:
                hint = f" ({_versions_hint()})" if name == "version" else ""
                yield document.problem(where, f"missing required field '{name}'{hint}")
    else:
        yield document.problem(where, _value_message(error, rule))


def _value_message(error: ValidationError, rule: Mapping[str, object]) -> str:
    """What was wrong with one value and what was expected."""
    value = error.instance
    title = str(rule.get("title", "value"))
    match error.validator:
        case "type":
            return _type_message(_strings(error.validator_value), value)
        case "enum":
            message = f"invalid {title} {_show(value)} (expected one of: {_joined(error.validator_value)})"
            # Choices share prefixes (tok_…) that make any two look alike: only a near miss is suggested.
            return message + _did_you_mean(value, error.validator_value, cutoff=0.8)
        case "const":
            return f"invalid value {_show(value)} (expected {_show(error.validator_value)})"
        case "pattern":
            expected = rule.get("patternErrorMessage", f"expected a match of {error.validator_value}")
            return f"invalid {title} {_show(value)} ({expected})"
        case "maxLength":
            size = len(value) if isinstance(value, str) else 0
            return f"{title} is too long: {size} characters (Stripe allows at most {error.validator_value})"
        case "minLength":
            return f"{title} must not be empty"
        case "uniqueItems":
            return "lists the same entry twice"
        case "maxItems":
            count = len(value) if isinstance(value, list) else 0
            return f"lists {count} entries (Stripe allows at most {error.validator_value})"
        case "minProperties":
            return f"expected at least one of: {_joined(list(_mapping(rule.get('properties'))))}"
        case _:
            return error.message


def _type_message(expected: Sequence[str], value: object) -> str:
    """``expected a string, got the number 15555550100; put it in quotes``."""
    wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in expected)
    message = f"expected {wanted}, got {_describe(value)}"
    if "string" in expected and isinstance(value, int | float):
        message += "; put it in quotes"
    return message


def _unknown_field(key: str, expected: Sequence[str]) -> str:
    """``unknown field 'emial' (expected one of: email, ...); did you mean 'email'?``."""
    return f"unknown field {_show(key)} (expected one of: {', '.join(expected)})" + _did_you_mean(key, expected)


def _did_you_mean(value: object, choices: object, cutoff: float = 0.6) -> str:
    """``; did you mean 'email'?`` when one of ``choices`` is close to ``value`` (difflib's ratio), else nothing."""
    if not isinstance(value, str) or not isinstance(choices, list):
        return ""
    close = difflib.get_close_matches(value, [str(choice) for choice in choices], n=1, cutoff=cutoff)
    return f"; did you mean '{close[0]}'?" if close else ""


def _describe(value: object) -> str:
    """A short description of a YAML value for 'got ...' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _show(value: object) -> str:
    """A value as YAML would spell it, shortened so one message stays one readable line."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}...{text[-6:]}"


def _joined(values: object) -> str:
    """``test, live`` from a list of values."""
    return ", ".join(str(value) for value in values) if isinstance(values, list) else str(values)


# --- Semantic checks -------------------------------------------------------------------------------
# These run on data that may have failed the schema, so they read it defensively and skip what is
# malformed: the schema has already reported that part.


def _semantic_problems(document: Document) -> list[Problem]:
    """Checks the schema cannot express: cross-references, duplicates, mode rules, metadata limits."""
    root = _mapping(document.data)
    accounts = _mapping(root.get("accounts"))
    customers = _mapping(root.get("customers"))
    problems = [*_account_problems(document, accounts), *_adoption_problems(document, customers)]
    problems += _safety_problems(document, _mapping(_mapping(root.get("safety")).get("accounts")), accounts)
    for key, value in customers.items():
        customer = _mapping(value)
        where: JsonPath = ("customers", key)
        problems += _share_problems(document, where, customer, accounts)
        problems += _payment_problems(document, where, customer, root)
        problems += _metadata_problems(document, where, customer)
        problems += _detail_problems(document, where, customer)
        for index, entry in enumerate(_items(customer.get("accounts"))):
            if isinstance(entry, dict):  # a bare alias has no details (most entries of a large file)
                problems += _detail_problems(document, (*where, "accounts", index), entry)
    return problems


def _detail_problems(document: Document, where: JsonPath, fields: Mapping[str, object]) -> Iterator[Problem]:
    """Country codes that ISO 3166-1 does not assign, and shipping without the name or address Stripe requires."""
    shipping = _mapping(fields.get("shipping"))
    addresses: list[tuple[JsonPath, object]] = [((*where, "address"), fields.get("address"))]
    addresses.append(((*where, "shipping", "address"), shipping.get("address")))
    for at, address in addresses:
        country = _mapping(address).get("country")
        if isinstance(country, str) and len(country) == 2 and country.isupper() and country not in COUNTRY_CODES:
            message = f"unknown country code {_show(country)} (expected an ISO 3166-1 alpha-2 code, such as GB or US)"
            yield document.problem((*at, "country"), message)
    missing = [name for name in ("name", "address") if name not in shipping]
    if shipping and missing:
        message = (
            f"shipping needs {' and '.join(missing)} as well (Stripe requires name and address together); "
            "write shipping: {} to clear it"
        )
        yield document.problem((*where, "shipping"), message)


def _account_problems(document: Document, accounts: Mapping[str, object]) -> Iterator[Problem]:
    """The same connected account declared under two aliases."""
    first: dict[str, str] = {}
    for alias, account_id in accounts.items():
        if not isinstance(account_id, str):
            continue
        if account_id in first:
            other = first[account_id]
            line = document.key_position(("accounts", other)).line
            message = f"account {account_id} is declared under two aliases: '{other}' (line {line}) and '{alias}'"
            yield document.problem(("accounts", alias), message)
        else:
            first[account_id] = alias


def _safety_problems(
    document: Document, overrides: Mapping[str, object], accounts: Mapping[str, object]
) -> Iterator[Problem]:
    """Safety overrides for accounts the file does not declare (a typo would silently keep the default)."""
    for alias in overrides:
        if alias not in accounts:
            message = f"safety override for unknown account alias '{alias}' (declared: {_declared(accounts)})"
            yield document.problem(("safety", "accounts", alias), message)


def _declared(accounts: Mapping[str, object]) -> str:
    """The declared account aliases, for a message about one that is not."""
    return ", ".join(accounts) or "none"


def _adoption_problems(document: Document, customers: Mapping[str, object]) -> Iterator[Problem]:
    """One platform customer adopted (``id:``) by two customer keys."""
    first: dict[str, str] = {}
    for key, value in customers.items():
        customer_id = _mapping(value).get("id")
        if not isinstance(customer_id, str):
            continue
        if customer_id in first:
            other = first[customer_id]
            line = document.key_position(("customers", other)).line
            message = f"platform customer {customer_id} is adopted by two keys: '{other}' (line {line}) and '{key}'"
            yield document.problem(("customers", key, "id"), message)
        else:
            first[customer_id] = key


def _share_problems(
    document: Document, where: JsonPath, customer: Mapping[str, object], accounts: Mapping[str, object]
) -> Iterator[Problem]:
    """Unknown aliases and aliases listed twice in one customer's ``accounts``."""
    seen: dict[str, int] = {}
    for index, entry in enumerate(_items(customer.get("accounts"))):
        alias = entry if isinstance(entry, str) else _mapping(entry).get("account")
        if not isinstance(alias, str):
            continue
        if alias not in seen and (alias in accounts or alias == EVERY_ACCOUNT):
            seen[alias] = index  # the common case, first: a large file has millions of these
            continue
        at: JsonPath = (
            (*where, "accounts", index, "account") if isinstance(entry, dict) else (*where, "accounts", index)
        )
        if alias != EVERY_ACCOUNT and alias not in accounts:
            yield document.problem(at, f"unknown account alias {_show(alias)} (declared: {_declared(accounts)})")
        else:
            first = seen[alias]
            line = document.position((*where, "accounts", first)).line
            message = f"account {_show(alias)} is listed twice (first as accounts[{first}], line {line})"
            yield document.problem(at, message)


def _payment_problems(
    document: Document, where: JsonPath, customer: Mapping[str, object], root: Mapping[str, object]
) -> Iterator[Problem]:
    """A test token in a live-mode file."""
    payment = _mapping(customer.get("payment"))
    if "source" in payment and root.get("mode") == Mode.LIVE:
        message = (
            "payment.source is for test mode only (mode is live); "
            "live customers get their payment details through Stripe"
        )
        yield document.problem((*where, "payment", "source"), message)


def _metadata_problems(document: Document, where: JsonPath, customer: Mapping[str, object]) -> Iterator[Problem]:
    """Reserved keys and Stripe's 50-key limit, counting ownership keys and per-account metadata."""
    metadata = _mapping(customer.get("metadata"))
    yield from _reserved_keys(document, (*where, "metadata"), metadata)
    shares = _items(customer.get("accounts"))
    over = _metadata_over_limit(len(metadata), shared=bool(shares))
    if over:
        yield document.problem((*where, "metadata"), over)
        return  # every copy would be over too; one message says it all
    for index, entry in enumerate(shares):
        own = _mapping(entry.get("metadata")) if isinstance(entry, dict) else {}
        if not own:
            continue  # nothing of its own: the customer's metadata was checked above
        at: JsonPath = (*where, "accounts", index, "metadata")
        yield from _reserved_keys(document, at, own)
        merged = len(metadata.keys() | own.keys())
        if merged + COPY_OWNERSHIP_KEYS > MAX_METADATA_KEYS:
            message = (
                f"too many metadata keys on this account's copy: {merged} after merging the customer's, "
                f"plus {COPY_OWNERSHIP_KEYS} ownership keys, make {merged + COPY_OWNERSHIP_KEYS} "
                f"(Stripe allows at most {MAX_METADATA_KEYS})"
            )
            yield document.problem(at, message)


def _metadata_over_limit(count: int, *, shared: bool) -> str | None:
    """The message for a customer's metadata that leaves no room for the ownership keys, or None."""
    on_platform = count + PLATFORM_OWNERSHIP_KEYS
    on_copy = count + COPY_OWNERSHIP_KEYS
    if on_platform <= MAX_METADATA_KEYS and (not shared or on_copy <= MAX_METADATA_KEYS):
        return None
    if shared:
        totals = f"make {on_platform} on the platform customer and {on_copy} on each copy"
        room = MAX_METADATA_KEYS - COPY_OWNERSHIP_KEYS
    else:
        totals = f"make {on_platform}"
        room = MAX_METADATA_KEYS - PLATFORM_OWNERSHIP_KEYS
    return (
        f"too many metadata keys: {count} declared, plus the ownership keys reconcile adds, {totals} "
        f"(Stripe allows at most {MAX_METADATA_KEYS}, so at most {room} here)"
    )


def _reserved_keys(document: Document, where: JsonPath, metadata: Mapping[str, object]) -> Iterator[Problem]:
    """User metadata keys in the tool's own ``reconcile_`` namespace."""
    for key in metadata:
        if key.startswith(RESERVED_PREFIX):
            message = f"metadata key {_show(key)} is reserved: keys starting with {RESERVED_PREFIX} belong to reconcile"
            yield document.key_problem(where, key, message)


def _mapping(value: object) -> Mapping[str, object]:
    """``value`` if it is a mapping, else an empty one."""
    return cast(Mapping[str, object], value) if isinstance(value, dict) else {}


def _items(value: object) -> Sequence[object]:
    """``value`` if it is a list, else an empty one."""
    return cast(Sequence[object], value) if isinstance(value, list) else ()


def _strings(value: object) -> list[str]:
    """A schema keyword's value as a list of strings (``type: string`` or ``type: [string, object]``)."""
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


# --- Resolution ------------------------------------------------------------------------------------


def _resolve(document: Document) -> DesiredState:
    """The DesiredState of a document without problems."""
    raw = cast(_RawFile, document.data)
    accounts = raw.get("accounts", {})
    strategy = Strategy(raw.get("strategy", Strategy.TOKEN))
    # Frozen, so one ShareSpec per account serves every customer shared there without overrides.
    plain = {alias: ShareSpec(alias=alias, account_id=account_id) for alias, account_id in accounts.items()}
    shares = _Shares(plain)
    customers = tuple(_customer(key, spec, shares, strategy) for key, spec in raw.get("customers", {}).items())
    return DesiredState(
        owner=raw["owner"],
        mode=Mode(raw["mode"]),
        strategy=strategy,
        # Declaration order, not sorted: shares and output follow the order the file gives.
        accounts=MappingProxyType(dict(accounts)),
        customers=customers,
        path=document.path,
        safety=Safety.from_file(raw.get("safety", {})),
    )


def _customer(key: str, raw: _RawCustomer, shares: _Shares, default: Strategy) -> CustomerSpec:
    """One declared customer with its shares resolved."""
    payment = raw.get("payment", {})
    return CustomerSpec(
        key=key,
        id=raw.get("id"),
        fields=_fields(raw),
        payment_source=payment.get("source"),
        strategy=Strategy(raw["strategy"]) if "strategy" in raw else default,
        ignore_changes=frozenset(raw.get("ignore_changes", ())),
        shares=shares.of(raw.get("accounts", [])),
    )


def _fields(raw: _RawFields) -> Fields:
    """The declared fields; metadata ``{}`` (declared empty) stays distinct from undeclared (None)."""
    metadata = raw.get("metadata")
    return Fields(
        email=raw.get("email"),
        name=raw.get("name"),
        phone=raw.get("phone"),
        description=raw.get("description"),
        metadata=None if metadata is None else frozen_map(metadata),
        details=_details(raw),
    )


def _details(raw: _RawFields) -> Details:
    """The declared details; an empty value (``{}``, ``[]``, ``""``) is declared, and clears the detail."""
    if not raw.keys() & _DETAIL_KEYS:
        return NO_DETAILS  # most customers declare none: one shared value
    address, shipping, locales = raw.get("address"), raw.get("shipping"), raw.get("preferred_locales")
    invoice = raw.get("invoice_settings", {})
    custom_fields = invoice.get("custom_fields")
    return Details(
        address=None if address is None else _address(address),
        shipping=None if shipping is None else _shipping(shipping),
        preferred_locales=None if locales is None else tuple(locales),
        tax_exempt=raw.get("tax_exempt"),
        invoice_footer=invoice.get("footer"),
        invoice_custom_fields=(
            None if custom_fields is None else tuple(CustomField(f["name"], f["value"]) for f in custom_fields)
        ),
    )


def _address(raw: _RawAddress) -> Address:
    return Address(
        line1=raw.get("line1") or None,
        line2=raw.get("line2") or None,
        city=raw.get("city") or None,
        state=raw.get("state") or None,
        postal_code=raw.get("postal_code") or None,
        country=raw.get("country") or None,
    )


def _shipping(raw: _RawShipping) -> Shipping:
    address = raw.get("address")
    return Shipping(
        name=raw.get("name"),
        phone=raw.get("phone") or None,
        address=Address() if address is None else _address(address),
    )


class _Shares:
    """Customers' ``accounts`` lists as ShareSpecs: ``"*"`` and explicit entries, in the order the file
    declares its accounts.

    Most customers of a large file list the same bare aliases (or ``"*"``): each such list is resolved
    once, and the customers that give it share its tuple.
    """

    def __init__(self, plain: Mapping[str, ShareSpec]) -> None:
        self.plain = plain
        self.known: dict[tuple[str, ...], tuple[ShareSpec, ...]] = {}

    def of(self, entries: Sequence[str | _RawShare]) -> tuple[ShareSpec, ...]:
        if not all(type(entry) is str for entry in entries):
            return self._resolved(entries)
        names = cast(tuple[str, ...], tuple(entries))
        found = self.known.get(names)
        if found is None:
            found = self.known[names] = self._resolved(entries)
        return found

    def _resolved(self, entries: Sequence[str | _RawShare]) -> tuple[ShareSpec, ...]:
        everywhere = EVERY_ACCOUNT in entries
        # An explicit entry overrides "*" for its account, whatever their order in the list.
        explicit: dict[str, ShareSpec] = {}
        for entry in entries:
            if isinstance(entry, str):
                if entry != EVERY_ACCOUNT:
                    explicit[entry] = self.plain[entry]
            else:
                alias = entry["account"]
                account_id = self.plain[alias].account_id
                explicit[alias] = ShareSpec(alias=alias, account_id=account_id, overrides=_fields(entry))
        plain = self.plain.items()
        return tuple(explicit.get(alias, share) for alias, share in plain if everywhere or alias in explicit)
