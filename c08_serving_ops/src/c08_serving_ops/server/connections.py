"""Slow and greedy clients at the connection level: a header deadline and a per-client connection cap.

A request reaches the app (and its middlewares) only once its request line and headers are
complete. Before that, the connection belongs to the HTTP protocol, and uvicorn sets no
deadline there: a client that opens a connection and sends one header byte every few seconds
(slowloris) holds a socket, a buffer and a file descriptor for as long as it likes, and a
few thousand such clients exhaust the process. uvicorn's ``limit_concurrency`` is no answer:
it is one global count, so the attacker's connections use it up and everyone else gets 503.

:func:`guarded_protocol` derives from uvicorn's h11 protocol and adds two things:

* **A header deadline.** From the moment a connection opens (or its previous response ends),
  the next request's line and headers must arrive within ``header_timeout_s``; otherwise the
  server answers 408 and closes. Its body has its own deadline in the guard middleware.
* **A per-client connection cap.** :class:`ConnectionTracker` counts the open connections of
  each client address; past ``max_per_client`` a new one is answered 429 and closed before
  any request is parsed, so one address cannot take every socket. A trusted proxy (all of
  whose clients share its address) is exempt: it limits its own clients.

The cap lives here rather than in a middleware because a middleware sees requests, not
connections: a connection still sending its headers never reaches it. Each protocol method
runs on the event loop, so the tracker needs no lock. The size of a request line and headers
is bounded by uvicorn itself (``h11_max_incomplete_event_size``, from ``max_header_bytes``).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from c08_serving_ops.core.logs import get_logger


def raw_json_response(status: int, reason: str, error_type: str, message: str) -> bytes:
    """A whole HTTP/1.1 error response (JSON body, ``Connection: close``) for a connection h11 does not answer."""
    body = json.dumps({"error": message, "error_type": error_type}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode()
    if status == 429:
        head = head[:-2] + b"retry-after: 1\r\n\r\n"
    return head + body


class ConnectionTracker:
    """Open connections per client address, at most ``max_per_client`` each (``exempt`` addresses: no cap)."""

    def __init__(self, max_per_client: int, exempt: Callable[[str], bool] = lambda host: False) -> None:
        if max_per_client < 1:
            raise ValueError(f"max_per_client must be >= 1, got {max_per_client}")
        self.max_per_client, self.exempt = max_per_client, exempt
        self.open_by_client: Counter[str] = Counter()
        self.refused = 0  # connections refused so far
        self.timed_out = 0  # connections closed by the header deadline

    def admit(self, host: str) -> bool:
        """Count a new connection from ``host`` and return True, or return False (and count nothing) at the cap."""
        # BEGIN SOLUTION c08.3: refuse past the cap unless the address is exempt; else count it
        if not self.exempt(host) and self.open_by_client[host] >= self.max_per_client:
            self.refused += 1
            return False
        self.open_by_client[host] += 1
        return True
        # END SOLUTION

    def release(self, host: str) -> None:
        """An admitted connection from ``host`` closed."""
        # BEGIN SOLUTION c08.3: count down; forget an address with no connection left (the map stays small)
        self.open_by_client[host] -= 1
        if self.open_by_client[host] <= 0:
            del self.open_by_client[host]
        # END SOLUTION

    @property
    def open(self) -> int:
        return sum(self.open_by_client.values())


def guarded_protocol(tracker: ConnectionTracker, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the header deadline and the per-client cap (pass it as ``http=``)."""
    log = get_logger()

    class GuardedH11Protocol(H11Protocol):
        _host: str | None = None
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            try:
                self._guard(transport)
            except Exception:  # a fault in the accounting must never leave a connection without an answer
                log.exception("connection_guard_failed")
                self._host = None

        def _guard(self, transport: asyncio.Transport) -> None:
            # BEGIN SOLUTION c08.3: admit (else 429 and close); start the header deadline
            host = self.client[0] if self.client else "unknown"
            if not tracker.admit(host):
                transport.write(raw_json_response(429, "Too Many Requests", "rate_limited",
                                                  f"too many open connections from {host} (at most "
                                                  f"{tracker.max_per_client})"))
                transport.close()
                return
            self._host = host
            self._arm_deadline()
            # END SOLUTION

        def _arm_deadline(self) -> None:
            self._disarm_deadline()
            self._deadline = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            # BEGIN SOLUTION c08.3: still no complete request line and headers: 408 and close
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                tracker.timed_out += 1
                log.info("header_timeout", client=self._host, seconds=header_timeout_s)
                self.transport.write(raw_json_response(408, "Request Timeout", "request_timeout",
                                                       f"the request headers did not arrive within "
                                                       f"{header_timeout_s:g} s"))
                self.transport.close()
            # END SOLUTION

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in: the body has its own deadline
                self._disarm_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._host is not None:
                self._arm_deadline()  # the next request on this keep-alive connection gets the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_deadline()
            if self._host is not None:
                tracker.release(self._host)
                self._host = None
            super().connection_lost(exc)

    return GuardedH11Protocol


def is_exempt(trusted: Collection[Any]) -> Callable[[str], bool]:
    """An ``exempt`` predicate for :class:`ConnectionTracker`: the address is one of the trusted proxies."""
    import ipaddress

    def exempt(host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in trusted)

    return exempt
