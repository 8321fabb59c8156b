"""The two ASGI middlewares around every request: observe it, then guard the app from it.

:class:`ObserveMiddleware` (outermost) gives each request an id (the client's
``X-Request-ID`` if it is sane, else a new one; returned in the response header), binds
it to the logs, opens the ``request`` span, and records count and latency by route
*template* and status when the response is sent.

:class:`GuardMiddleware` refuses, before any work, what the server must not take on:

1. a body over ``max_body_bytes`` (413): by ``Content-Length`` at once, and by counting
   for a chunked body, so a lying or missing header does not get past;
2. a missing or wrong bearer key when keys are configured (401, ``WWW-Authenticate: Bearer``);
3. a client over its quota (429 ``rate_limited``, ``Retry-After``), keyed by API key, else address;
4. more than ``max_in_flight`` requests in the server at once (429 ``overloaded`` at once).

Probes (``/health``, ``/ready``, ``/metrics``) skip 2 to 4: an orchestrator must always
be able to ask whether the server lives.

Both are plain ASGI (not ``BaseHTTPMiddleware``), so the app keeps the real ``receive``
and can notice a client that disconnects.
"""

from __future__ import annotations

import re
import time
import uuid

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c08_serving_ops.errors import error_response
from c08_serving_ops.limiter import OverloadGuard, RateLimiter, retry_after_header
from c08_serving_ops.logs import bind_request_id, clear_request_id, get_logger
from c08_serving_ops.service import Service

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PROBES = frozenset({"/health", "/ready", "/metrics"})


def header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is 1-128 safe characters, else a fresh uuid4 hex."""
    # BEGIN SOLUTION c08.7: accept a sane id; never echo arbitrary bytes into logs and headers
    given = header(scope, REQUEST_ID_HEADER)
    return given if given is not None and _SANE_ID.match(given) else uuid.uuid4().hex
    # END SOLUTION


class ObserveMiddleware:
    """Request id, access log line, ``request`` span, request metrics."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app, self.service = app, service
        self.log = get_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # BEGIN SOLUTION c08.7: id, logs, span; wrap send (header, status); metrics and log at the end
        request_id = request_id_of(scope)
        bind_request_id(request_id)
        started = time.perf_counter()
        status = 500
        tracer = self.service.tracer

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        with tracer.start_as_current_span("request", kind=trace.SpanKind.SERVER, attributes={
                "http.method": scope["method"], "http.target": scope["path"], "request.id": request_id}) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                elapsed = time.perf_counter() - started
                span.set_attribute("http.route", route)
                span.set_attribute("http.status_code", status)
                metrics = self.service.metrics
                metrics.requests.labels(route, scope["method"], str(status)).inc()
                metrics.latency.labels(route, str(status)).observe(elapsed)
                self.log.info("request", method=scope["method"], path=scope["path"], route=route, status=status,
                              ms=round(elapsed * 1000, 3))
                clear_request_id()
        # END SOLUTION


class PayloadTooLargeError(Exception):
    pass


class GuardMiddleware:
    """Payload limit, bearer keys, per-client quota, overload guard (see the module docstring)."""

    def __init__(self, app: ASGIApp, service: Service, limiter: RateLimiter, guard: OverloadGuard) -> None:
        self.app, self.service, self.limiter, self.guard = app, service, limiter, guard
        self.settings = service.settings

    def _reject(self, reason: str) -> None:
        self.service.metrics.rejections.labels(reason).inc()

    def client_key(self, scope: Scope) -> str:
        """The quota's key: ``key:<bearer token>`` when one is sent, else ``addr:<client host>``."""
        token = bearer_token(scope)
        if token:
            return f"key:{token}"
        client = scope.get("client")
        return f"addr:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # BEGIN SOLUTION c08.3: 413 by header; probes pass; 401; 429 quota; 429 overload; count the body
        limit = self.settings.max_body_bytes
        declared = header(scope, "content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            self._reject("payload_too_large")
            await error_response(413, "payload_too_large", f"the body is over the limit of {limit} bytes")(
                scope, receive, send)
            return
        if scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        keys = self.settings.api_keys
        if keys and bearer_token(scope) not in keys:
            self._reject("unauthorized")
            await error_response(401, "unauthorized", "a valid bearer key is required (Authorization: Bearer <key>)",
                                 {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        decision = self.limiter.check(self.client_key(scope))
        if not decision.allowed:
            self._reject("rate_limited")
            await error_response(429, "rate_limited", "request quota exceeded; retry after the Retry-After seconds",
                                 {"Retry-After": retry_after_header(decision.retry_after_s)})(scope, receive, send)
            return
        if not self.guard.try_enter():
            self._reject("overloaded")
            await error_response(429, "overloaded", f"the server is at its limit of {self.guard.limit} requests "
                                 "in flight", {"Retry-After": "1"})(scope, receive, send)
            return
        try:
            try:
                replay = await read_body(receive, limit)
            except PayloadTooLargeError:
                self._reject("payload_too_large")
                await error_response(413, "payload_too_large", f"the body is over the limit of {limit} bytes")(
                    scope, receive, send)
                return
            await self.app(scope, replay, send)
        finally:
            self.guard.leave()
        # END SOLUTION


def bearer_token(scope: Scope) -> str | None:
    value = header(scope, "authorization")
    if value is None or not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


async def read_body(receive: Receive, limit: int) -> Receive:
    """Read the whole body (at most ``limit`` bytes, else PayloadTooLargeError); return a receive that replays it."""
    messages: list[Message] = []
    total = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        total += len(message.get("body", b""))
        if total > limit:
            raise PayloadTooLargeError
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay
