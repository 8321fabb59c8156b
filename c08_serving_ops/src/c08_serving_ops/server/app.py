"""The app factory: settings in, a FastAPI app out, with its lifespan, middlewares and routers.

``create_app(settings)`` builds everything that belongs to *one* app (so tests can run
several in one process): the :class:`~c08_serving_ops.server.service.Service` (phase, model,
indexes, batcher, cache, metrics, tracer), the rate limiter, the limiter of failed
authentications, the overload guard and the connection tracker (which ``serve.build_server``
hands to the HTTP protocol).

The lifespan starts loading when the server starts (in the background: probes answer
at once) and, on shutdown, drains the batcher and closes the indexes, the embedded Qdrant
client included (one per process and folder). New routers plug in through ``routers``:
part 2 of the module adds generation, chat and RAG this way. FastAPI's own ``/docs`` and ``/redoc``
are turned off (``docs_url=None, redoc_url=None``): they load their scripts from a CDN, and the
service must work offline. :mod:`~c08_serving_ops.server.page` serves ``/docs`` and the chat page instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from c08_serving_ops.core.errors import install_error_handlers
from c08_serving_ops.core.limiter import OverloadGuard, RateLimiter
from c08_serving_ops.core.schemas import install_openapi
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.core.tracing import make_tracer_provider
from c08_serving_ops.search.components import Loader
from c08_serving_ops.server.api import ROUTERS
from c08_serving_ops.server.chat_api import chat_router
from c08_serving_ops.server.connections import ConnectionTracker, is_exempt
from c08_serving_ops.server.generate_api import generation_router
from c08_serving_ops.server.middleware import GuardMiddleware, ObserveMiddleware, parse_networks
from c08_serving_ops.server.page import page_router
from c08_serving_ops.server.rag_api import rag_router
from c08_serving_ops.server.service import Service, load_components

TITLE = "c08 serving core"
ALL_ROUTERS = [*ROUTERS, generation_router, chat_router, rag_router, page_router]  # part 1's, part 2's, the pages


def create_app(settings: Settings | None = None, *, loader: Loader = load_components,
               span_exporter: SpanExporter | None = None, routers: Sequence[APIRouter] | None = None) -> FastAPI:
    """A ready-to-serve app (loading starts with the server's lifespan)."""
    # BEGIN SOLUTION c08.1: service; lifespan (start, stop); errors; routers; middlewares
    settings = settings or Settings.load()
    provider = (make_tracer_provider(settings.trace_exporter, settings.otlp_endpoint, span_exporter)
                if settings.observability else TracerProvider())  # off: spans are made, never exported
    service = Service(settings, loader, provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    # /docs comes from page_router with Swagger UI served locally (FastAPI's own loads it from a CDN)
    app = FastAPI(title=TITLE, version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.service = service
    app.state.guard = app.state.connections = None
    if settings.guard:
        app.state.limiter = RateLimiter(settings.rate_per_s, settings.burst, settings.max_clients)
        app.state.guard = OverloadGuard(settings.max_in_flight)
        app.state.auth_failures = RateLimiter(settings.auth_failure_rate_per_s, settings.auth_failure_burst,
                                              settings.max_clients)
        app.state.connections = ConnectionTracker(settings.max_connections_per_client,
                                                  is_exempt(parse_networks(settings.trusted_proxies)))
        app.add_middleware(GuardMiddleware, service=service, limiter=app.state.limiter, guard=app.state.guard,
                           auth_failures=app.state.auth_failures)
    install_error_handlers(app)
    install_openapi(app, settings)  # the schema states this app's limits
    for router in routers if routers is not None else ALL_ROUTERS:
        app.include_router(router)
    if settings.observability:
        app.add_middleware(ObserveMiddleware, service=service)  # added last = outermost
    return app
    # END SOLUTION
