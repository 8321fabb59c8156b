"""OpenTelemetry tracing: one span tree per request, request -> batch -> model -> index.

A span is a timed, named operation with attributes and a parent. The middleware opens
a ``request`` span; the handler's work opens children (``index.bm25``, ``index.dense``);
a micro-batch serves *many* requests at once, so its ``batch`` span has the first
caller's request span as parent and a *link* to every caller's span, and the forward
pass is a ``model`` span under it. Spans are exported by a batch processor to the
console, an OTLP/HTTP endpoint (a collector, Jaeger, Tempo), or, in tests, memory.

Each app owns its own :class:`TracerProvider` (not the global one), so two servers in
one process (the tests) never mix their spans.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

SERVICE_NAME = "c08-serving"


def make_tracer_provider(exporter: str = "none", endpoint: str | None = None,
                         extra: SpanExporter | None = None) -> TracerProvider:
    """A provider exporting to ``exporter`` (``none``, ``console``, ``otlp``) and, synchronously, to ``extra``."""
    # BEGIN SOLUTION c08.7: a resource naming the service; one processor per exporter
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if not endpoint:
            raise ValueError("the otlp exporter needs an endpoint, e.g. http://127.0.0.1:4318/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    elif exporter != "none":
        raise ValueError(f"unknown trace exporter {exporter!r}: use none, console or otlp")
    if extra is not None:
        provider.add_span_processor(SimpleSpanProcessor(extra))
    return provider
    # END SOLUTION


def tracer_of(provider: TracerProvider) -> trace.Tracer:
    return provider.get_tracer("c08_serving_ops")
