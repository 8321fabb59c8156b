"""Generation metrics, registered in the service's registry beside part 1's series (all prefixed ``c08_``).

* ``generation_active`` and ``generation_waiting`` (gauges): generations running, and waiting for a slot;
* ``generation_cancelled_total``: generations stopped because the client went away;
* ``generation_time_to_first_token_seconds``, ``generation_inter_token_seconds`` and
  ``generation_latency_seconds`` (histograms, labelled by ``route`` and ``stream``): the time from
  the request to its first token, between consecutive tokens, and to the last token;
* ``generated_tokens_total{route}``.

Time to first token (TTFT) is what a user of a streaming UI waits for; inter-token latency (ITL)
is how fast the text then flows; end-to-end latency is what a non-streaming client waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ITL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)
E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass
class Timings:
    """When a request started and when each of its tokens arrived (``time.perf_counter`` seconds)."""

    started: float
    tokens: list[float] = field(default_factory=list)

    @property
    def ttft(self) -> float | None:
        return self.tokens[0] - self.started if self.tokens else None

    @property
    def inter_token(self) -> list[float]:
        return [b - a for a, b in zip(self.tokens, self.tokens[1:], strict=False)]


class GenerationMetrics:
    """The series above; :meth:`observe` records one finished (or cancelled) request."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.active = Gauge("c08_generation_active", "generations running", registry=r)
        self.waiting = Gauge("c08_generation_waiting", "generations waiting for a slot", registry=r)
        self.cancelled = Counter("c08_generation_cancelled", "generations stopped: the client went away",
                                 registry=r)
        self.ttft = Histogram("c08_generation_time_to_first_token_seconds", "request to first token",
                              ["route", "stream"], buckets=TTFT_BUCKETS, registry=r)
        self.itl = Histogram("c08_generation_inter_token_seconds", "time between consecutive tokens",
                             ["route", "stream"], buckets=ITL_BUCKETS, registry=r)
        self.e2e = Histogram("c08_generation_latency_seconds", "request to last token", ["route", "stream"],
                             buckets=E2E_BUCKETS, registry=r)
        self.tokens = Counter("c08_generated_tokens", "tokens generated", ["route"], registry=r)

    def observe(self, route: str, stream: bool, timings: Timings) -> None:
        """TTFT, every inter-token gap, end-to-end latency (to the last token) and the token count."""
        # BEGIN SOLUTION c08.12: nothing for a request without tokens; label by route and stream
        if not timings.tokens:
            return
        labels = (route, "true" if stream else "false")
        self.ttft.labels(*labels).observe(timings.tokens[0] - timings.started)
        for gap in timings.inter_token:
            self.itl.labels(*labels).observe(gap)
        self.e2e.labels(*labels).observe(timings.tokens[-1] - timings.started)
        self.tokens.labels(route).inc(len(timings.tokens))
        # END SOLUTION
