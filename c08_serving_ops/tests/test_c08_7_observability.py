"""c08.7: JSON logs with request ids, OpenTelemetry spans request -> batch -> model -> index, /metrics."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import LOGS, AppServer, make_settings, shared_loader, start_app
from prometheus_client.parser import text_string_to_metric_families

from c08_serving_ops.core.logs import configure_logging
from c08_serving_ops.core.tracing import make_tracer_provider

pytestmark = pytest.mark.task("c08.7")


@pytest.fixture(scope="module")
def observed(live: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """An app over live's components with the observability layer on (live runs without it)."""
    server = start_app(make_settings(tmp_path_factory.mktemp("observed"), observability=True, guard=False),
                       shared_loader(live))
    yield server
    server.stop()


def test_request_ids_are_accepted_or_generated_and_logged(observed: AppServer) -> None:
    with observed.client() as client:
        given = client.get("/health", headers={"X-Request-ID": "trace-me-42"})
        fresh = client.get("/ready")
        unsafe = client.get("/health", headers={"X-Request-ID": "x" * 200})
    assert given.headers["x-request-id"] == "trace-me-42"
    generated = fresh.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert unsafe.headers["x-request-id"] != "x" * 200 and len(unsafe.headers["x-request-id"]) == 32
    deadline = time.monotonic() + 10  # the access line is written just after the response is sent
    while not any(r["request_id"] == unsafe.headers["x-request-id"] for r in LOGS.records()) \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    records = LOGS.records()
    assert all("request_id" in r and "timestamp" in r and "level" in r for r in records)
    mine = [r for r in records if r["request_id"] == "trace-me-42"]
    assert mine and mine[-1]["event"] == "request" and mine[-1]["status"] == 200 and mine[-1]["route"] == "/health"
    assert any(r["request_id"] == generated and r["path"] == "/ready" for r in records)
    assert any(r["request_id"] == "-" and r["event"] == "components_loaded" for r in records)


def test_configure_logging_writes_json_lines() -> None:
    stream = io.StringIO()
    try:
        configure_logging("warning", stream)
        from c08_serving_ops.core.logs import get_logger
        get_logger().info("hidden")
        get_logger().warning("shown", n=1)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(r["event"], r["level"], r["request_id"]) for r in lines] == [("shown", "warning", "-")]
        with pytest.raises(ValueError, match="unknown log level"):
            configure_logging("chatty")
    finally:
        configure_logging("info", LOGS)


def test_spans_form_request_batch_model_index(observed: AppServer) -> None:
    observed.spans.clear()
    with observed.client() as client:
        embed = client.post("/embed", json={"inputs": "trace this text"}, headers={"X-Request-ID": "span-embed"})
        search = client.post("/search", json={"query": "wing flutter trace", "mode": "hybrid"})
    assert embed.status_code == search.status_code == 200

    def finished() -> list[Any]:  # a request span ends just after its response is sent: wait for both
        observed.service.provider.force_flush()
        spans = list(observed.spans.get_finished_spans())
        routes = {s.attributes.get("http.route") for s in spans if s.name == "request"}
        return spans if {"/embed", "/search"} <= routes else []

    deadline = time.monotonic() + 10
    while not (spans := finished()) and time.monotonic() < deadline:
        time.sleep(0.02)
    by_id = {s.context.span_id: s for s in spans}
    request = next(s for s in spans if s.name == "request" and s.attributes["request.id"] == "span-embed")
    assert request.attributes["http.route"] == "/embed" and request.attributes["http.status_code"] == 200
    batch = next(s for s in spans if s.name == "batch" and any(
        link.context.span_id == request.context.span_id for link in s.links))
    model = next(s for s in spans if s.name == "model" and s.parent is not None
                 and s.parent.span_id == batch.context.span_id)
    assert model.context.trace_id == batch.context.trace_id
    search_request = next(s for s in spans if s.name == "request" and s.attributes["http.route"] == "/search")
    for name in ("index.bm25", "index.dense"):
        index = next(s for s in spans if s.name == name and s.context.trace_id == search_request.context.trace_id)
        assert index.parent is not None and by_id[index.parent.span_id] is search_request
    assert any(s.name == "batch" and s.context.trace_id == search_request.context.trace_id for s in spans)


def test_tracer_provider_exporters() -> None:
    for exporter, endpoint in (("none", None), ("console", None), ("otlp", "http://127.0.0.1:9/v1/traces")):
        provider = make_tracer_provider(exporter, endpoint)
        provider.shutdown()
    with pytest.raises(ValueError, match="endpoint"):
        make_tracer_provider("otlp")
    with pytest.raises(ValueError, match="unknown trace exporter"):
        make_tracer_provider("zipkin")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_expose_every_series(app_server: Callable[..., AppServer]) -> None:
    server = app_server(rate_per_s=0.01, burst=5, observability=True, guard=True)
    with server.client() as client:
        client.post("/embed", json={"inputs": ["one", "two"]})
        client.post("/search", json={"query": "metrics please", "mode": "bm25"})
        client.post("/search", json={"query": "metrics please", "mode": "bm25"})
        client.post("/search", json={"query": "x", "mode": "nope"})
        client.get("/documents/abc")  # 405 on a templated route
        client.post("/search", json={"query": "x"})  # the sixth: over the quota
        text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    values = samples(text.text)
    assert values[("c08_requests_total", (("method", "POST"), ("route", "/embed"), ("status", "200")))] == 1
    assert values[("c08_requests_total", (("method", "POST"), ("route", "/search"), ("status", "422")))] == 1
    assert values[("c08_requests_total", (("method", "POST"), ("route", "unmatched"), ("status", "429")))] == 1
    assert values[("c08_requests_total", (("method", "GET"), ("route", "/documents/{doc_id}"), ("status", "405")))] == 1
    assert values[("c08_request_latency_seconds_count", (("route", "/search"), ("status", "200")))] == 2
    assert values[("c08_rejections_total", (("reason", "rate_limited"),))] == 1
    assert values[("c08_cache_hits_total", ())] >= 1 and values[("c08_cache_misses_total", ())] >= 1
    assert values[("c08_batch_size_count", ())] >= 1 and values[("c08_batch_size_sum", ())] >= 2
    assert values[("c08_batch_tokens_count", ())] >= 1
    assert values[("c08_queue_size", ())] == 0
    assert ("c08_dropped_jobs_total", ()) in values


def test_metrics_answer_head_as_get_without_a_body(observed: AppServer) -> None:
    with observed.client() as client:
        client.get("/health")  # at least one request counted
        got, head = client.get("/metrics"), client.head("/metrics")
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] and "c08_requests_total" in got.text
