"""A circuit breaker per host: stop sending to a server that keeps failing, probe it now and then.

Retries help against a failure that passes in a second. Against a server that is down for a
minute they hurt: every caller keeps sending (and waiting on time-outs), and the retries of all
callers pile onto a server that is trying to come back. A breaker remembers how a host has been
answering and stops the traffic for a while:

* **closed** (normal): requests go through; ``failure_threshold`` failures in a row open it.
  A failure is a transport error (refused, reset, closed without an answer, timed out) or one of
  ``failure_statuses`` (500, 502, 503, 504). Any other answer, 4xx and 429 included, is the
  server working (a 429 is about the caller's quota, not the host's health) and resets the count.
* **open**: every request fails at once with :class:`CircuitOpenError`, without being sent,
  until ``reset_timeout_s`` have passed since it opened.
* **half-open**: after the cool-down, exactly one request (the *probe*) is let through; the
  others still fail fast while it is in flight. The probe's success closes the circuit; its
  failure opens it again for another full cool-down.

Outcomes of requests that were sent before the circuit opened and come back later are ignored
while it is open or half-open: only the probe decides. The clock is injected (tests advance it
instead of sleeping). One lock guards each breaker's state and is never held while a request is
in flight: :class:`~c08_serving_ops.tools.client.ResilientClient` is a synchronous ``httpx.Client``
that threads may share, and the lock makes ``acquire`` / ``record`` atomic between them.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

FAILURE_STATUSES = frozenset({500, 502, 503, 504})


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    """When a host's circuit opens and for how long (see the module docstring)."""

    failure_threshold: int = 5  # failures in a row that open the circuit
    reset_timeout_s: float = 30.0  # cool-down before the half-open probe
    failure_statuses: frozenset[int] = field(default=FAILURE_STATUSES)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.reset_timeout_s < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout_s >= 0")


class CircuitOpenError(httpx.HTTPError):
    """The host's circuit is open (or its probe is in flight): the request was not sent."""

    def __init__(self, host: str, failures: int, retry_in_s: float) -> None:
        super().__init__(f"circuit open for {host} after {failures} failures in a row: request not sent; "
                         f"next probe allowed in {retry_in_s:.1f} s")
        self.host, self.failures, self.retry_in_s = host, failures, retry_in_s


class CircuitBreaker:
    """The state of one host. ``acquire`` before sending, ``record`` with the outcome after."""

    def __init__(self, host: str, policy: BreakerPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.policy = policy or BreakerPolicy()
        self.clock = clock
        self.state = CircuitState.CLOSED
        self.failures = 0  # failures in a row (while closed), or those that opened it
        self.opened_at = 0.0
        self._probe_out = False
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        """Permission to send one request; True when that request is the half-open probe.

        Raises:
            CircuitOpenError: the circuit is open and cooling down, or half-open with its probe out.
        """
        # BEGIN SOLUTION c08.6: closed: go; open and cooled down: half-open, this is the probe; else raise
        with self._lock:
            if self.state is CircuitState.CLOSED:
                return False
            waited = self.clock() - self.opened_at
            if self.state is CircuitState.OPEN and waited >= self.policy.reset_timeout_s:
                self.state = CircuitState.HALF_OPEN
                self._probe_out = True
                return True
            raise CircuitOpenError(self.host, self.failures, max(0.0, self.policy.reset_timeout_s - waited))
        # END SOLUTION

    def record(self, success: bool, probe: bool = False) -> None:
        """The outcome of a request that ``acquire`` let through (``probe``: what ``acquire`` returned)."""
        # BEGIN SOLUTION c08.6: closed: count failures in a row, open at the threshold; the probe decides
        with self._lock:
            if self.state is CircuitState.CLOSED:
                self.failures = 0 if success else self.failures + 1
                if self.failures >= self.policy.failure_threshold:
                    self._open()
            elif self.state is CircuitState.HALF_OPEN and probe:
                self._probe_out = False
                if success:
                    self.state, self.failures = CircuitState.CLOSED, 0
                else:
                    self.failures += 1
                    self._open()
            # open, or a late answer to a request sent before the circuit opened: ignored
        # END SOLUTION

    def _open(self) -> None:
        self.state = CircuitState.OPEN
        self.opened_at = self.clock()
        self._probe_out = False

    def is_failure(self, status: int) -> bool:
        return status in self.policy.failure_statuses


class BreakerRegistry:
    """One :class:`CircuitBreaker` per host (``scheme://host:port``), created on first use; share it between clients."""

    def __init__(self, policy: BreakerPolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or BreakerPolicy()
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    @staticmethod
    def host_of(url: httpx.URL) -> str:
        default = {"http": 80, "https": 443}.get(url.scheme)
        return f"{url.scheme}://{url.host}:{url.port or default}"

    def for_url(self, url: httpx.URL) -> CircuitBreaker:
        host = self.host_of(url)
        with self._lock:
            if host not in self._breakers:
                self._breakers[host] = CircuitBreaker(host, self.policy, self.clock)
            return self._breakers[host]

    def states(self) -> dict[str, CircuitState]:
        with self._lock:
            return {host: breaker.state for host, breaker in self._breakers.items()}
