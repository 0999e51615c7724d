"""`--seed FILE`: connected accounts and platform customers to create before serving."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import errors, routes
from .db import Scope
from .errors import ApiError
from .forms import Form, FormValue
from .ids import base62, is_account_id
from .store import Store
from .store_errors import StoreError


class SeedError(ValueError):
    """A seed file that cannot be used, with the file name and what is wrong."""


@dataclass(frozen=True, slots=True)
class Seed:
    """What a seed file asks for."""

    accounts: tuple[str, ...]
    customers: tuple[Mapping[str, Any], ...]
    livemode: bool = False


def load_seed(path: Path) -> Seed:
    """Read a seed file, or a reconcile desired-state file (only its `accounts:` are created)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SeedError(f"{path}: cannot read the seed file: {error}") from None
    if not isinstance(document, dict):
        raise SeedError(f"{path}: expected a mapping with `accounts:` and/or `customers:`")
    accounts = _accounts(path, document.get("accounts") or [])
    if "version" in document and "owner" in document:
        # A desired-state file declares customers for the tool to create; the sandbox only makes its accounts.
        return Seed(accounts, ())
    mode = document.get("mode", "test")
    if mode not in ("test", "live"):
        raise SeedError(f"{path}: mode must be test or live, not {mode!r}")
    unknown = sorted(set(document) - {"accounts", "customers", "mode"})
    if unknown:
        raise SeedError(f"{path}: unknown keys {', '.join(unknown)} (expected accounts, customers, mode)")
    return Seed(accounts, _customers(path, document.get("customers") or []), mode == "live")


def apply_seed(store: Store, seed: Seed) -> None:
    """Create what the seed asks for; seeding the same database twice creates nothing new."""
    for account_id in seed.accounts:
        store.add_account(account_id)
    scope = Scope(store.platform_id, seed.livemode)
    existing = store.customer_ids(scope)
    for index, entry in enumerate(seed.customers):
        fields = dict(entry)
        # Customers without an id get one derived from their content, so a restart does not duplicate them.
        customer_id = str(fields.pop("id", "") or _derived_id(index, fields))
        if customer_id in existing:
            continue
        try:
            params = routes.CREATE_CUSTOMER.parse(_form(fields))
            store.create_customer(scope, routes.customer_changes(params), customer_id=customer_id)
        except ApiError as error:
            raise SeedError(f"customers[{index}]: {error.message}") from None
        except StoreError as error:
            # Stripe's wording; seeding uses no API key, and only an account refusal would quote one.
            raise SeedError(f"customers[{index}]: {errors.from_store(error, api_key='').message}") from None


def _accounts(path: Path, value: object) -> tuple[str, ...]:
    ids = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(ids, list):
        raise SeedError(f"{path}: accounts must be a list of account ids or a map of alias to account id")
    for account_id in ids:
        if not isinstance(account_id, str) or not is_account_id(account_id):
            raise SeedError(f"{path}: {account_id!r} is not an account id (acct_ then letters and digits)")
    return tuple(ids)


def _customers(path: Path, value: object) -> tuple[Mapping[str, Any], ...]:
    entries = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise SeedError(f"{path}: customers must be a list (or map) of customer fields")
    for index, entry in enumerate(entries):
        customer_id = entry.get("id")
        if customer_id is not None and (not isinstance(customer_id, str) or not customer_id.startswith("cus_")):
            raise SeedError(f"{path}: customers[{index}].id must be a customer id (cus_...), not {customer_id!r}")
    return tuple(entries)


def _form(value: Mapping[str, Any]) -> Form:
    """YAML values as the form a client would send (numbers and booleans as their text)."""

    def convert(item: object) -> FormValue:
        if isinstance(item, Mapping):
            return {str(key): convert(sub) for key, sub in item.items()}
        if isinstance(item, list):
            return [convert(sub) for sub in item]
        if isinstance(item, bool):
            return "true" if item else "false"
        return "" if item is None else str(item)

    return {str(key): convert(item) for key, item in value.items()}


def _derived_id(index: int, fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(f"{index}:{sorted(fields.items())!r}".encode()).digest()
    return "cus_" + base62(digest, 14)
