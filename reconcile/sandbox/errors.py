"""Stripe's API errors: one exception type, every error the sandbox answers, and the one mapping of the
store's refusals (store_errors.py) to Stripe's status, type, code, param and message.

Only app.py turns an `ApiError` into an HTTP answer (the `{"error": {...}}` body).
"""

from __future__ import annotations

import re

from .store_errors import AccountNotConnected, InvalidState, NoSuchObject, StoreError

DOC_URL = "https://stripe.com/docs/error-codes/"

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"
IDEMPOTENCY_ERROR = "idempotency_error"

# How Stripe names each kind of object in "No such ..." messages.
_LABELS = {"payment_method": "PaymentMethod", "webhook_endpoint": "webhook endpoint"}
_KEY_PREFIX = re.compile(r"(sk|rk|pk)_(test|live)_")

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)


class ApiError(Exception):
    """An error answer: HTTP status and the fields of Stripe's `{"error": {...}}` body.

    `stored` says whether an idempotent request keeps this answer: Stripe saves the result only
    once the endpoint started executing, so parameter validation errors are not saved.
    """

    def __init__(
        self,
        status: int,
        type: str,
        code: str | None,
        message: str,
        param: str | None = None,
        *,
        stored: bool = True,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.stored = stored
        self.headers = headers

    @property
    def doc_url(self) -> str | None:
        """The page of Stripe's error-code reference for the code, if there is one."""
        return DOC_URL + self.code.replace("_", "-") if self.code else None


def from_store(error: StoreError, api_key: str) -> ApiError:
    """Stripe's answer to a refusal of the store (raised while the endpoint ran, so kept for replays)."""
    if isinstance(error, NoSuchObject):
        message = f"No such {_LABELS.get(error.kind, error.kind)}: '{error.object_id}'"
        if error.other_mode is not None:
            used = "test" if error.other_mode == "live" else "live"
            message += (
                f"; a similar object exists in {error.other_mode} mode, but a {used} mode key was used to make "
                "this request."
            )
        status = 400 if error.referenced else 404
        return ApiError(status, INVALID_REQUEST, "resource_missing", message, error.param)
    if isinstance(error, InvalidState):
        return ApiError(400, INVALID_REQUEST, error.code, error.message, error.param)
    if isinstance(error, AccountNotConnected):
        return account_invalid(api_key, error.account_id)
    raise TypeError(f"no Stripe answer for {type(error).__name__}")


# ---------------------------------------------------------------------- parameters (before the endpoint runs)


def bad_param(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 for a malformed parameter, found before the endpoint runs (not kept for replays)."""
    return ApiError(400, INVALID_REQUEST, code, message, param, stored=False)


def unknown_parameters(names: list[str]) -> ApiError:
    """Stripe's parameter_unknown for one or more names, in bracket notation."""
    noun = "parameter" if len(names) == 1 else "parameters"
    return bad_param(f"Received unknown {noun}: {', '.join(names)}", names[0], "parameter_unknown")


def missing_parameter(name: str) -> ApiError:
    """Stripe's parameter_missing."""
    return bad_param(f"Missing required param: {name}.", name, "parameter_missing")


def not_emulated(what: str, param: str | None = None) -> ApiError:
    """Something Stripe accepts but the sandbox does not emulate: refused rather than silently ignored."""
    return bad_param(
        f"The sandbox does not emulate {what}, which Stripe accepts (see docs/sandbox.md for what it emulates).",
        param,
    )


# ---------------------------------------------------------------------- requests (auth, routing, limits, keys)


def mask(key: str) -> str:
    """A key as Stripe shows it in errors: its prefix, then stars, then the last four characters."""
    prefix_match = _KEY_PREFIX.match(key)
    prefix = prefix_match.group(0) if prefix_match else ""
    rest = key[len(prefix) :]
    shown = rest[-4:] if len(rest) > 4 else ""
    return prefix + "*" * (len(rest) - len(shown)) + shown


def unauthorized(key: str | None) -> ApiError:
    """No API key, or one the sandbox does not know."""
    message = NO_KEY if key is None else f"Invalid API Key provided: {mask(key)}"
    return ApiError(401, INVALID_REQUEST, None, message, headers=(("WWW-Authenticate", 'Basic realm="Stripe"'),))


def unrecognized(method: str, path: str) -> ApiError:
    """A method and path that name no endpoint."""
    return ApiError(
        404,
        INVALID_REQUEST,
        None,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
    )


def account_invalid(key: str, account: str) -> ApiError:
    """A Stripe-Account (or account id) that is not connected to the key's platform."""
    return ApiError(
        403,
        INVALID_REQUEST,
        "account_invalid",
        f"The provided key '{mask(key)}' does not have access to account '{account}' (or that account does "
        "not exist). Application access may have been revoked.",
    )


def rate_limited(livemode: bool) -> ApiError:
    """Stripe's 429, worded per mode."""
    message = (
        "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits."
        if livemode
        else "Testmode request rate limit exceeded, the rate limits in testmode are lower than livemode. You can "
        "learn more about rate limits here https://stripe.com/docs/rate-limits."
    )
    return ApiError(429, INVALID_REQUEST, "rate_limit", message)


def key_in_use(key: str) -> ApiError:
    """Another request holding the same idempotency key is still running."""
    return ApiError(
        409,
        INVALID_REQUEST,
        "idempotency_key_in_use",
        "There is currently another in-progress request using this Idempotent Key (that probably means you "
        f"submitted twice, and the other request is still going through): {key}. Please try again later.",
        headers=(("Stripe-Should-Retry", "true"),),
    )


def key_reused(key: str) -> ApiError:
    """An idempotency key sent again with other parameters."""
    return ApiError(
        400,
        IDEMPOTENCY_ERROR,
        None,
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request.",
    )


def malformed_request(message: str) -> ApiError:
    """A request whose framing cannot be read: a bad Content-Length, a short body, broken chunks."""
    return ApiError(400, INVALID_REQUEST, None, message)


def body_too_large(limit: int) -> ApiError:
    """A request body over the sandbox's cap (`limit` bytes), refused without reading it."""
    return ApiError(
        413,
        INVALID_REQUEST,
        None,
        f"The request body is too large: the API accepts at most {limit // 1024} KiB. Send fewer parameters.",
    )


def refused_by_transport(status: int, message: str) -> ApiError:
    """What http.server itself refuses (a request line that is not HTTP, headers too long), in Stripe's shape."""
    return ApiError(status, INVALID_REQUEST, None, message)


def internal_fault() -> ApiError:
    """Stripe's 500 (an injected fault, or a bug in the sandbox)."""
    return ApiError(500, API_ERROR, None, "An unknown error occurred")
