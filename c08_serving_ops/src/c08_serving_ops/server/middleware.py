"""The two ASGI middlewares around every request: observe it, then guard the app from it.

:class:`ObserveMiddleware` (outermost) gives each request an id (the client's
``X-Request-ID`` if it is sane, else a new one; returned in the response header), binds
it to the logs, opens the ``request`` span, and records count and latency by route
*template* and status when the response is sent.

:class:`GuardMiddleware` refuses, before any work, what the server must not take on:

1. a body over ``max_body_bytes`` (413): by ``Content-Length`` at once, and by counting
   for a chunked body, so a lying or missing header does not get past;
2. a missing or wrong bearer key when keys are configured (401, ``WWW-Authenticate: Bearer``),
   keys compared in constant time; an address with too many failures gets 429 (guessing is slow);
3. a client over its quota (429 ``rate_limited``, ``Retry-After``): the matched API key when keys
   are configured, else the client's address (``X-Forwarded-For`` only from a trusted proxy);
4. a body that does not arrive within ``body_timeout_s`` (408 ``request_timeout``);
5. more than ``max_in_flight`` requests in the server at once (429 ``overloaded`` at once). A
   request counts only once its body is read: a slow upload holds its own connection (whose
   number per client :mod:`~c08_serving_ops.server.connections` caps), never a slot other clients need.

Probes (``/health``, ``/ready``, ``/metrics``) skip 2 to 5: an orchestrator must always
be able to ask whether the server lives. So does the chat page (``/``), a static file that a
browser loads without a key; the requests it makes carry the key typed into it.

Both are plain ASGI (not ``BaseHTTPMiddleware``), so the app keeps the real ``receive``
and can notice a client that disconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import Sequence

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c08_serving_ops.core.errors import error_response
from c08_serving_ops.core.limiter import OverloadGuard, RateLimiter, retry_after_header
from c08_serving_ops.core.logs import bind_request_id, clear_request_id, get_logger
from c08_serving_ops.server.service import Service

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PROBES = frozenset({"/health", "/ready", "/metrics"})
OPEN_PATHS = PROBES | {"/"}  # and the chat page: a browser loads it without a key (its requests carry one)


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


class BodyTimeoutError(Exception):
    pass


def key_matches(token: str | None, keys: Sequence[str]) -> str | None:
    """The configured key equal to ``token``, compared in constant time against every key (no early exit)."""
    # BEGIN SOLUTION c08.3: hash both sides (equal lengths), compare_digest each key, never stop early
    given = hashlib.sha256((token or "").encode()).digest()
    found: str | None = None
    for key in keys:
        if hmac.compare_digest(given, hashlib.sha256(key.encode()).digest()) and token is not None:
            found = key
    return found
    # END SOLUTION


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(proxies: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(p, strict=False) for p in proxies]


def _in(host: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most untrusted hop
    of ``X-Forwarded-For`` (every hop left of it could have been written by the client itself)."""
    # BEGIN SOLUTION c08.3: peer; behind trusted proxies walk X-Forwarded-For from the right
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for key, value in scope.get("headers", []) if key.lower() == b"x-forwarded-for"
            for h in value.decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: the proxy wrote nonsense or the client did; trust neither
    return hops[0] if hops else peer  # every hop is ours: the left-most is the origin
    # END SOLUTION


class GuardMiddleware:
    """Payload limit, bearer keys, per-client quota, body deadline, overload guard (see the module docstring)."""

    def __init__(self, app: ASGIApp, service: Service, limiter: RateLimiter, guard: OverloadGuard,
                 auth_failures: RateLimiter | None = None) -> None:
        self.app, self.service, self.limiter, self.guard = app, service, limiter, guard
        self.settings = service.settings
        self.auth_failures = auth_failures if auth_failures is not None else RateLimiter(  # (empty is falsy)
            self.settings.auth_failure_rate_per_s, self.settings.auth_failure_burst, self.settings.max_clients)
        self.trusted = parse_networks(self.settings.trusted_proxies)

    def _reject(self, reason: str) -> None:
        self.service.metrics.rejections.labels(reason).inc()

    def client_key(self, scope: Scope) -> str:
        """The quota's key when no keys are configured: ``addr:<client address>`` (a token buys nothing)."""
        return f"addr:{client_address(scope, self.trusted)}"

    async def _authenticate(self, scope: Scope, receive: Receive, send: Send) -> str | None:
        """The quota key of an authenticated request, or None once a 401/429 has been sent."""
        # BEGIN SOLUTION c08.3: too many failures from this address -> 429; compare; count a failure -> 401
        address = f"addr:{client_address(scope, self.trusted)}"
        wait = self.auth_failures.wait_s(address)
        if wait > 0:
            self._reject("auth_rate_limited")
            await error_response(429, "rate_limited", "too many failed authentications from this address; retry "
                                 "after the Retry-After seconds", {"Retry-After": retry_after_header(wait)})(
                scope, receive, send)
            return None
        key = key_matches(bearer_token(scope), self.settings.api_keys)
        if key is None:
            self.auth_failures.check(address)
            self._reject("unauthorized")
            await error_response(401, "unauthorized", "a valid bearer key is required (Authorization: Bearer <key>)",
                                 {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return None
        return f"key:{key}"
        # END SOLUTION

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # BEGIN SOLUTION c08.3: 413 by header; probes; 401; 429 quota; body (408, 413); 429 overload
        limit = self.settings.max_body_bytes
        declared = header(scope, "content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            self._reject("payload_too_large")
            await error_response(413, "payload_too_large", f"the body is over the limit of {limit} bytes")(
                scope, receive, send)
            return
        if scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if self.settings.api_keys:
            quota_key = await self._authenticate(scope, receive, send)
            if quota_key is None:
                return
        else:
            quota_key = self.client_key(scope)
        decision = self.limiter.check(quota_key)
        if not decision.allowed:
            self._reject("rate_limited")
            await error_response(429, "rate_limited", "request quota exceeded; retry after the Retry-After seconds",
                                 {"Retry-After": retry_after_header(decision.retry_after_s)})(scope, receive, send)
            return
        try:
            replay = await read_body(receive, limit, self.settings.body_timeout_s)
        except PayloadTooLargeError:
            self._reject("payload_too_large")
            await error_response(413, "payload_too_large", f"the body is over the limit of {limit} bytes")(
                scope, receive, send)
            return
        except BodyTimeoutError:
            self._reject("request_timeout")
            await error_response(408, "request_timeout", f"the request body did not arrive within "
                                 f"{self.settings.body_timeout_s:g} s", {"Connection": "close"})(scope, receive, send)
            return
        if not self.guard.try_enter():  # counted only now: a slow body never holds a slot
            self._reject("overloaded")
            await error_response(429, "overloaded", f"the server is at its limit of {self.guard.limit} requests "
                                 "in flight", {"Retry-After": "1"})(scope, receive, send)
            return
        try:
            await self.app(scope, replay, send)
        finally:
            self.guard.leave()
        # END SOLUTION


def bearer_token(scope: Scope) -> str | None:
    value = header(scope, "authorization")
    if value is None or not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


async def read_body(receive: Receive, limit: int, timeout_s: float | None = None) -> Receive:
    """Read the whole body (at most ``limit`` bytes, else PayloadTooLargeError; within ``timeout_s`` seconds,
    else BodyTimeoutError); return a receive that replays it."""
    messages: list[Message] = []
    total = 0
    # BEGIN SOLUTION c08.3: one deadline for the whole body (a byte a second must not reset it)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            message = await asyncio.wait_for(receive(), None if deadline is None else
                                             max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise BodyTimeoutError from None
        messages.append(message)
        if message["type"] != "http.request":
            break
        total += len(message.get("body", b""))
        if total > limit:
            raise PayloadTooLargeError
        if not message.get("more_body", False):
            break
    # END SOLUTION

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay
