"""Prometheus metrics, served as text at ``GET /metrics``.

Each app owns a :class:`~prometheus_client.CollectorRegistry` (two apps in one test
process must not share counters). The series, all prefixed ``c08_``:

* ``requests_total{route,method,status}`` and ``request_latency_seconds{route,status}``
  (a histogram): route is the *template* (``/documents/{doc_id}``), never the raw path,
  so a client cannot create unbounded label values;
* ``queue_size`` (gauge), ``batch_size`` and ``batch_tokens`` (histograms), ``dropped_jobs_total``;
* ``cache_hits_total`` and ``cache_misses_total``;
* ``rejections_total{reason}``: ``rate_limited``, ``overloaded``, ``payload_too_large``, ``unauthorized``.
"""

from __future__ import annotations

from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384)


class ServiceMetrics:
    """The series above, registered in one registry."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    queue_size: Gauge
    batch_size: Histogram
    batch_tokens: Histogram
    dropped: Counter
    cache_hits: Counter
    cache_misses: Counter
    rejections: Counter

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # BEGIN SOLUTION c08.7: one registry; every series with its labels and buckets
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("c08_requests", "HTTP requests answered", ["route", "method", "status"], registry=r)
        self.latency = Histogram("c08_request_latency_seconds", "time to answer a request", ["route", "status"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.queue_size = Gauge("c08_queue_size", "requests waiting for the model", registry=r)
        self.batch_size = Histogram("c08_batch_size", "inputs per forward pass", buckets=BATCH_BUCKETS, registry=r)
        self.batch_tokens = Histogram("c08_batch_tokens", "padded tokens per forward pass", buckets=TOKEN_BUCKETS,
                                      registry=r)
        self.dropped = Counter("c08_dropped_jobs", "queued requests dropped (caller gone)", registry=r)
        self.cache_hits = Counter("c08_cache_hits", "search cache hits", registry=r)
        self.cache_misses = Counter("c08_cache_misses", "search cache misses", registry=r)
        self.rejections = Counter("c08_rejections", "requests refused before any work", ["reason"], registry=r)
        # END SOLUTION

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _Nothing:
    """A series that records nothing: every call of a counter, gauge or histogram is accepted."""

    def labels(self, *values: str, **named: str) -> _Nothing:
        return self

    def inc(self, amount: float = 1.0) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float) -> None:
        pass


class NullMetrics(ServiceMetrics):
    """The series of a service run without observability (``settings.observability = false``).

    Every series records nothing and ``/metrics`` is empty, so the code that counts (the batcher,
    the cache, the guard) runs unchanged whether or not the service is observed.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        nothing = cast(Any, _Nothing())
        self.requests = self.latency = self.queue_size = self.batch_size = self.batch_tokens = nothing
        self.dropped = self.cache_hits = self.cache_misses = self.rejections = nothing
