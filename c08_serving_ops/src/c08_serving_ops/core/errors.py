"""Errors as JSON, in two shapes: the service's own, and OpenAI's on the OpenAI-compatible ``/v1/*`` routes.

A client should never have to parse HTML or guess: whatever fails (malformed JSON, a wrong type,
an unknown route, a quota, the model), the body is JSON and the status says who must act.

**The service's routes** (``/embed``, ``/search``, ``/documents``, ``/generate``, ``/rag``, the
probes) answer ``{"error": "<what is wrong>", "error_type": "<machine-readable kind>"}``:

=====================  ======  ==============================================
error_type             status  when
=====================  ======  ==============================================
invalid_json           422     the body is not JSON
validation_error       422     a field is missing, of the wrong type, unknown, empty, too big, or not valid Unicode
unauthorized           401     a key is required and the bearer key is missing or wrong
not_found              404     unknown route or document
method_not_allowed     405     known route, other method
payload_too_large      413     the body is over ``max_body_bytes``
rate_limited           429     the client's quota is spent (``Retry-After`` says when to come back)
overloaded             429     too many requests in flight or queued (``Retry-After: 1``)
not_ready              503     still loading, draining, or a component is broken
index_error            503     a document write failed (nothing was half-written)
internal_error         500     a bug: logged with the request id
=====================  ======  ==============================================

**The ``/v1/*`` routes** answer OpenAI's error object, so that the official SDKs raise their typed
exceptions (``BadRequestError``, ``AuthenticationError``, ``NotFoundError``, ``RateLimitError``)
with ``message``, ``type``, ``param`` and ``code`` filled in:
``{"error": {"message": ..., "type": ..., "param": <field or null>, "code": ...}}``. A bad request
is **400** there (OpenAI's status), never 422: a validation error, malformed JSON, a refused field.

======  =====================  =====================================================================
status  type                   code
======  =====================  =====================================================================
400     invalid_request_error  invalid_json, invalid_value, unknown_parameter, unsupported_parameter,
                               unsupported_value
401     invalid_request_error  invalid_api_key
404     invalid_request_error  model_not_found (an unknown model), unknown_url (an unknown route)
405     invalid_request_error  method_not_allowed
408     invalid_request_error  request_timeout
413     invalid_request_error  payload_too_large
429     requests               rate_limit_exceeded (quota), overloaded (in flight)
500     server_error           internal_error, generation_error
503     server_error           not_ready
======  =====================  =====================================================================

The shape is chosen where the response is sent, from the request's path (:class:`ErrorResponse`),
so the middlewares, which refuse requests before any route runs, need not know which shape a path
speaks: ``error_response(...)`` is right for both, and :func:`error_response_for` builds one for a
known path. Refusals at the connection level, before a request line is read (the per-client
connection cap, the header deadline: :mod:`c08_serving_ops.server.connections`), have no path yet and use
the service's shape; the SDKs still raise by status.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from c08_serving_ops.core.schemas import NOT_BLANK

STATUS_TYPES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
                413: "payload_too_large", 422: "validation_error", 429: "rate_limited", 503: "not_ready"}
OPENAI_PREFIX = "/v1"
LOG = logging.getLogger("c08.errors")  # the standard library's: the JSON handler renders it like uvicorn's records
# OpenAI's codes where the service's error type has another name; the others keep the service's name.
OPENAI_CODES = {"validation_error": "invalid_value", "unauthorized": "invalid_api_key", "not_found": "unknown_url",
                "rate_limited": "rate_limit_exceeded"}


class ServiceError(Exception):
    """An error with its HTTP status, error type and extra headers (e.g. ``Retry-After``).

    ``param`` (the request field at fault) and ``code`` (OpenAI's code) show in OpenAI's shape only.
    """

    def __init__(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None,
                 *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message
        self.headers = headers or {}
        self.param, self.code = param, code


def is_openai_path(path: str) -> bool:
    """True for the OpenAI-compatible routes (``/v1`` and below), which speak OpenAI's error shape."""
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def openai_error(status: int, error_type: str, message: str, param: str | None = None,
                 code: str | None = None) -> tuple[int, dict[str, Any]]:
    """(status, body) of OpenAI's error object for one of the service's errors (422 becomes 400)."""
    # BEGIN SOLUTION c08.11: a bad request is 400; the type from the status; the code from the error type
    if status == 422:
        status = 400
    if status == 429:
        kind = "requests"
    elif status >= 500:
        kind = "server_error"
    else:
        kind = "invalid_request_error"
    return status, {"error": {"message": message, "type": kind, "param": param,
                              "code": code or OPENAI_CODES.get(error_type, error_type)}}
    # END SOLUTION


class SafeJSONResponse(JSONResponse):
    """JSON that always renders: a message that quotes invalid text (a lone surrogate) is sent ASCII-escaped."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # UTF-8 cannot carry a surrogate; a JSON escape can
            return json.dumps(content, separators=(",", ":")).encode("ascii")


class ErrorResponse(SafeJSONResponse):
    """A JSON error whose shape follows the path it answers: OpenAI's under ``/v1``, the service's elsewhere."""

    def __init__(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None,
                 *, param: str | None = None, code: str | None = None) -> None:
        super().__init__({"error": message, "error_type": error_type}, status_code=status, headers=headers)
        self.error_type, self.message, self.param, self.code = error_type, message, param, code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and is_openai_path(str(scope.get("path", ""))):
            self.status_code, content = openai_error(self.status_code, self.error_type, self.message, self.param,
                                                     self.code)
            self.body = self.render(content)
            self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
            self.raw_headers.append((b"content-length", str(len(self.body)).encode()))
        await super().__call__(scope, receive, send)


def error_response(status: int, error_type: str, message: str, headers: dict[str, str] | None = None,
                   *, param: str | None = None, code: str | None = None) -> JSONResponse:
    """The JSON error response every handler and middleware sends (its shape follows the path it answers)."""
    return ErrorResponse(status, error_type, message, headers, param=param, code=code)


def error_response_for(path: str, status: int, error_type: str, message: str,
                       headers: dict[str, str] | None = None, *, param: str | None = None,
                       code: str | None = None) -> JSONResponse:
    """The error response for ``path``, its shape fixed now (for a sender that knows the path)."""
    if not is_openai_path(path):
        return SafeJSONResponse({"error": message, "error_type": error_type}, status_code=status, headers=headers)
    status, content = openai_error(status, error_type, message, param, code)
    return SafeJSONResponse(content, status_code=status, headers=headers)


def _message(error: Any) -> str:
    """pydantic's message, with its own check of a constrained string's Unicode said the way ours is."""
    if error.get("type") == "string_unicode":
        return "not valid Unicode text: a lone surrogate"
    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NOT_BLANK:
        return "must contain a non-space character"
    return str(error.get("msg", "invalid"))


def _where(error: Any) -> str:
    """A field's location as the client wrote it: ``messages[0].content``, or ``body`` for the whole body."""
    where = ""
    for part in error.get("loc", ()):
        if part == "body":
            continue
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "body"


def describe_validation(errors: list[Any]) -> tuple[str, str]:
    """(error_type, message) for pydantic's error list: ``invalid_json`` or ``validation_error``."""
    # BEGIN SOLUTION c08.1: malformed JSON is its own type; otherwise name each bad field and why
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "the request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {_message(e)}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "validation_error", "; ".join(parts) + more
    # END SOLUTION


def describe_openai_validation(errors: list[Any]) -> tuple[str, str | None, str]:
    """(message, param, code) of a refused ``/v1`` request: the first bad field is OpenAI's ``param``."""
    # BEGIN SOLUTION c08.11: malformed JSON; an unknown field; a refused one (own type); a bad value
    if any(e.get("type") == "json_invalid" for e in errors):
        return "the request body is not valid JSON", None, "invalid_json"
    first = errors[0]
    param = _where(first)
    kind = str(first.get("type", ""))
    if kind == "extra_forbidden":
        return f"unknown parameter: '{param}'", param, "unknown_parameter"
    code = kind if kind in ("unsupported_parameter", "unsupported_value") else "invalid_value"
    message = "; ".join(f"{_where(e)}: {_message(e)}" for e in errors[:5])
    return message, param, code
    # END SOLUTION


def install_error_handlers(app: FastAPI) -> None:
    """Route FastAPI's and Starlette's errors, and ours, to :func:`error_response`."""

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        if exc.status >= 500 and exc.__cause__ is not None:  # a failure inside the service: its traceback is logged
            LOG.error("service_error: %s", exc.error_type, exc_info=exc.__cause__)
        return error_response(exc.status, exc.error_type, exc.message, exc.headers, param=exc.param, code=exc.code)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if is_openai_path(request.url.path):
            message, param, code = describe_openai_validation(list(exc.errors()))
            return error_response(400, "validation_error", message, param=param, code=code)
        error_type, message = describe_validation(list(exc.errors()))
        return error_response(422, error_type, message)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not read the body at all (not UTF-8): malformed JSON too
            return error_response(422, "invalid_json", "the request body is not valid JSON (UTF-8)")
        return error_response(exc.status_code, STATUS_TYPES.get(exc.status_code, "http_error"), str(exc.detail),
                              dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see the server log")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
