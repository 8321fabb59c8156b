"""c08.12: generation metrics (TTFT, inter-token and end-to-end latency by route and stream, tokens) and spans.

The oracle is arithmetic on the recorded histograms: one TTFT and one end-to-end observation per
request, ``n - 1`` inter-token gaps for ``n`` tokens, and (the gaps telescope) the sum of the gaps
equals end-to-end minus TTFT. Spans: ``request`` -> ``tokenize`` and ``generate``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from conftest import SMOKE_KEYS, AppServer
from prometheus_client import CollectorRegistry

from c05_nlp_transformers.inference import generate_tokens
from c08_serving_ops.core.sse import parse_sse
from c08_serving_ops.generation.gen_metrics import GenerationMetrics, Timings
from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.12")

PROMPT = "The capital of France is"
SUM_TOLERANCE = 1e-6  # seconds: float sums of a handful of gaps


def series(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}{{(.*)}} (\S+)$", line) if labels else re.match(rf"^{name} (\S+)$", line)
        if match and (not labels or ",".join(sorted(match.group(1).split(","))) == want):
            return float(match.groups()[-1])
    raise AssertionError(f"{name} {labels} not found")


def observed(text: str, name: str, **labels: str) -> float:
    """:func:`series`, or 0 for a series not observed yet (a fresh process has none)."""
    try:
        return series(text, name, **labels)
    except AssertionError:
        return 0.0


def test_latency_histograms_by_route_and_stream(gen_server: Any) -> None:
    server: AppServer = gen_server(observability=True)
    with server.client() as http:
        with http.stream("POST", "/generate", json={"inputs": PROMPT, "stream": True,
                                                    "parameters": {"max_new_tokens": 5}}) as response:
            response.read()
        plain = http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 3}})
        chat = http.post("/v1/chat/completions", json={"model": "smollm2-135m-instruct", "max_tokens": 2,
                                                       "temperature": 0, "messages": [{"role": "user",
                                                                                       "content": "Hi"}]})
        assert plain.status_code == chat.status_code == 200
        text = http.get("/metrics").text
    streamed = {"route": "/generate", "stream": "true"}
    assert series(text, "c08_generation_time_to_first_token_seconds_count", **streamed) == 1
    assert series(text, "c08_generation_latency_seconds_count", **streamed) == 1
    assert series(text, "c08_generation_inter_token_seconds_count", **streamed) == 4
    ttft = series(text, "c08_generation_time_to_first_token_seconds_sum", **streamed)
    e2e = series(text, "c08_generation_latency_seconds_sum", **streamed)
    gaps = series(text, "c08_generation_inter_token_seconds_sum", **streamed)
    assert 0 < ttft <= e2e and abs(gaps - (e2e - ttft)) < SUM_TOLERANCE
    assert series(text, "c08_generation_inter_token_seconds_count", route="/generate", stream="false") == 2
    assert series(text, "c08_generation_latency_seconds_count", route="/v1/chat/completions", stream="false") == 1
    assert series(text, "c08_generated_tokens_total", route="/generate") == 8
    chat_tokens = chat.json()["usage"]["completion_tokens"]
    assert series(text, "c08_generated_tokens_total", route="/v1/chat/completions") == chat_tokens
    assert series(text, "c08_generation_active") == 0 and series(text, "c08_generation_waiting") == 0


def test_spans_request_tokenize_generate(gen_server: Any) -> None:
    server: AppServer = gen_server(observability=True)
    server.spans.clear()
    with server.client() as http:
        assert http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 3}}).status_code == 200
    spans = {s.name: s for s in server.finished_spans("request", "tokenize", "generate")}
    request, tokenize, generate = spans["request"], spans["tokenize"], spans["generate"]
    assert tokenize.parent is not None and tokenize.parent.span_id == request.context.span_id
    assert generate.parent is not None and generate.parent.span_id == request.context.span_id
    assert tokenize.end_time <= generate.start_time
    attributes = dict(generate.attributes or {})
    assert attributes["generation.generated_tokens"] == 3 and attributes["generation.finish_reason"] == "length"
    assert attributes["generation.route"] == "/generate" and attributes["generation.stream"] is False
    assert 0 < float(attributes["generation.ttft_ms"]) <= (generate.end_time - request.start_time) / 1e6


def test_a_cancelled_generation_is_marked(gen_server: Any) -> None:
    server: AppServer = gen_server(observability=True)
    server.spans.clear()
    with server.client() as http, pytest.raises(httpx.ReadTimeout):
        http.post("/generate", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 300}}, timeout=0.5)
    generate = next(s for s in server.finished_spans("generate") if s.name == "generate")
    attributes = dict(generate.attributes or {})
    assert attributes["generation.cancelled"] is True and attributes["generation.finish_reason"] == "cancelled"


def test_observe_without_tokens_records_nothing() -> None:
    registry = CollectorRegistry()
    metrics = GenerationMetrics(registry)
    metrics.observe("/generate", True, Timings(started=1.0))
    assert Timings(started=1.0).ttft is None
    assert registry.get_sample_value("c08_generated_tokens_total", {"route": "/generate"}) is None
    metrics.observe("/generate", True, Timings(started=1.0, tokens=[1.5, 1.75, 2.0]))
    labels = {"route": "/generate", "stream": "true"}
    assert registry.get_sample_value("c08_generation_time_to_first_token_seconds_sum", labels) == 0.5
    assert registry.get_sample_value("c08_generation_inter_token_seconds_sum", labels) == 0.5
    assert registry.get_sample_value("c08_generation_latency_seconds_sum", labels) == 1.0
    assert registry.get_sample_value("c08_generated_tokens_total", {"route": "/generate"}) == 3


def test_the_real_process_streams_and_counts(generation_process: ServerProcess, llm: Any) -> None:
    """The real server (observability on, a key) streams the model's own greedy tokens and counts them in /metrics."""
    prompt = "The capital of France is"
    assert "gen" in SMOKE_KEYS
    body = {"inputs": prompt, "stream": True, "parameters": {"max_new_tokens": 4}}
    with httpx.Client(base_url=generation_process.url, timeout=60.0, headers={"Authorization": "Bearer gen"}) as http:
        before = http.get("/metrics").text
        with http.stream("POST", "/generate", json=body) as response:
            text = response.read().decode()
        after = http.get("/metrics").text
    assert response.status_code == 200
    events = parse_sse(text)
    assert events[-1] == ("message", "[DONE]"), text
    expected = generate_tokens(llm.model, llm.tokenizer.encode(prompt), 4, eos_ids=[llm.eos_id])
    assert [json.loads(data)["token"]["id"] for _, data in events[:-1]] == expected
    streamed = {"route": "/generate", "stream": "true"}
    tokens = [observed(text, "c08_generated_tokens_total", route="/generate") for text in (before, after)]
    assert tokens[1] - tokens[0] == len(expected)
    for name, more in (("c08_generation_time_to_first_token_seconds_count", 1),
                       ("c08_generation_inter_token_seconds_count", len(expected) - 1),
                       ("c08_generation_latency_seconds_count", 1)):
        assert observed(after, name, **streamed) - observed(before, name, **streamed) == more, name
