"""Stripe's API errors as one exception type; only app.py turns them into HTTP answers."""

from __future__ import annotations

DOC_URL = "https://stripe.com/docs/error-codes/"

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"
IDEMPOTENCY_ERROR = "idempotency_error"


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

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON body Stripe sends; absent fields are left out, never null (the spec types them as strings)."""
        error = {"type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_URL + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 invalid_request_error raised while the endpoint runs (kept for idempotent replays)."""
    return ApiError(400, INVALID_REQUEST, code, message, param)


def bad_param(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 for a malformed parameter, found before the endpoint runs (not kept for replays)."""
    return ApiError(400, INVALID_REQUEST, code, message, param, stored=False)


def no_such(label: str, object_id: str, param: str | None = "id", *, status: int = 404) -> ApiError:
    """Stripe's resource_missing: 404 for an id in the path, 400 for one named by a parameter."""
    return ApiError(status, INVALID_REQUEST, "resource_missing", f"No such {label}: '{object_id}'", param)


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
