"""Why the store refuses an operation, in Stripe's terms (object kinds, parameter names, error codes).

The store, the event log and the webhook endpoints raise these; they say nothing of HTTP. `errors.from_store`
is the one place that turns each into Stripe's status, type, code, param and message.
"""

from __future__ import annotations


class StoreError(Exception):
    """An operation the store refuses; nothing it started is written."""


class NoSuchObject(StoreError):
    """An object the account (in the key's mode) does not have, or no longer has.

    `referenced` says how the request named it: False for the object the request operates on (Stripe's 404),
    True for one that a parameter or a list cursor refers to (Stripe's 400). `other_mode` is the mode
    ("live" or "test") in which the account does have it, if it does: Stripe says so in its message.
    """

    def __init__(
        self,
        kind: str,
        object_id: str,
        param: str | None = "id",
        *,
        referenced: bool = False,
        other_mode: str | None = None,
    ) -> None:
        super().__init__(f"No such {kind}: '{object_id}'")
        self.kind = kind
        self.object_id = object_id
        self.param = param
        self.referenced = referenced
        self.other_mode = other_mode


class InvalidState(StoreError):
    """A request that the objects' current state does not allow (a spent token, a PaymentMethod attached
    elsewhere, a limit reached, an operation made on the wrong account), with Stripe's message."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class AccountNotConnected(StoreError):
    """An account id that is not connected to this platform (or was deleted)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.account_id = account_id
