"""One JSON shape for every error: ``{"error": "<what is wrong>", "error_type": "<machine-readable kind>"}``.

A client should never have to parse HTML or guess: whatever fails (malformed JSON, a
wrong type, an unknown route, a quota, the model), the body is this object and the
status says who must act. The error types and their statuses:

=====================  ======  ==============================================
error_type             status  when
=====================  ======  ==============================================
invalid_json           422     the body is not JSON
validation_error       422     a field is missing, of the wrong type, unknown, empty or too big
unauthorized           401     a key is required and the bearer key is missing or wrong
not_found              404     unknown route or document
method_not_allowed     405     known route, other method
payload_too_large      413     the body is over ``max_body_bytes``
rate_limited           429     the client's quota is spent (``Retry-After`` says when to come back)
overloaded             429     too many requests in flight or queued (``Retry-After: 1``)
not_ready              503     still loading, draining, or a component is broken
index_error            500     a document write failed (nothing was half-written)
internal_error         500     a bug: logged with the request id
=====================  ======  ==============================================
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

STATUS_TYPES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                422: "validation_error", 429: "rate_limited", 503: "not_ready"}


class ServiceError(Exception):
    """An error with its HTTP status, error type and extra headers (e.g. ``Retry-After``)."""

    def __init__(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message
        self.headers = headers or {}


def error_response(status: int, error_type: str, message: str, headers: dict[str, str] | None = None,
                   ) -> JSONResponse:
    """The JSON error response every handler and middleware sends."""
    return JSONResponse({"error": message, "error_type": error_type}, status_code=status, headers=headers)


def describe_validation(errors: list[Any]) -> tuple[str, str]:
    """(error_type, message) for pydantic's error list: ``invalid_json`` or ``validation_error``."""
    # BEGIN SOLUTION c08.1: malformed JSON is its own type; otherwise name each bad field and why
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "the request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "validation_error", "; ".join(parts) + more
    # END SOLUTION


def install_error_handlers(app: FastAPI) -> None:
    """Route FastAPI's and Starlette's errors, and ours, to :func:`error_response`."""

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return error_response(exc.status, exc.error_type, exc.message, exc.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        error_type, message = describe_validation(list(exc.errors()))
        return error_response(422, error_type, message)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, STATUS_TYPES.get(exc.status_code, "http_error"), str(exc.detail),
                              dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see the server log")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
