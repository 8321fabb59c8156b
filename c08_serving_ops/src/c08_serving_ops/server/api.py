"""The routes: probes (/health, /ready, /metrics), /embed, /search, /documents.

Each router is a plain :class:`fastapi.APIRouter`; :func:`c08_serving_ops.server.app.create_app`
includes them in order, and part 2 (generation, chat, RAG) adds its own the same way.
Handlers that need the model or the indexes take the FastAPI dependency :data:`Ready`
(:func:`ready_service`: 503 while loading or draining), so a test can swap it through
``app.dependency_overrides[ready_components]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from c08_serving_ops.core.errors import ServiceError
from c08_serving_ops.core.schemas import (
    ERRORS,
    DeleteResponse,
    DocumentsRequest,
    DocumentsResponse,
    EmbedRequest,
    SearchRequest,
    SearchResponse,
)
from c08_serving_ops.search.batcher import QueueFullError
from c08_serving_ops.search.cache import normalise_request
from c08_serving_ops.search.components import Components
from c08_serving_ops.search.documents import IndexWriteError, StoredDocument
from c08_serving_ops.server.service import Phase, Service

T = TypeVar("T")
CLIENT_CLOSED = 499  # nginx's status for "the client closed the connection first"

probes = APIRouter(tags=["operations"])
embedding = APIRouter(tags=["embeddings"])
retrieval = APIRouter(tags=["search"])


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def ready_service(request: Request) -> tuple[Service, Components]:
    """The service and its components, or 503 ``not_ready`` (loading, draining, broken)."""
    # BEGIN SOLUTION c08.2: 503 with a reason for each phase but ready
    service = service_of(request)
    if service.phase is Phase.LOADING:
        raise ServiceError(503, "not_ready", "the service is starting: models and indexes are loading",
                           {"Retry-After": "1"})
    if service.phase is Phase.DRAINING:
        raise ServiceError(503, "not_ready", "the service is shutting down")
    if not service.ready or service.components is None:
        raise ServiceError(503, "not_ready", service.health()[1].get("error", "a component is broken"))
    return service, service.components
    # END SOLUTION


async def ready_components(request: Request) -> tuple[Service, Components]:
    """The dependency behind :data:`Ready` (async, so FastAPI calls it on the loop, not in a thread)."""
    return ready_service(request)


# A handler parameter ``ready: Ready`` receives (service, components), or the request gets 503 first.
Ready = Annotated[tuple[Service, Components], Depends(ready_components)]


@probes.get("/health", responses={503: ERRORS[503]})
@probes.head("/health", include_in_schema=False)  # HEAD answers as GET does, without the body
async def health(request: Request) -> JSONResponse:
    """Liveness: 200 while the process can serve (or is loading), 503 when a component is broken."""
    # BEGIN SOLUTION c08.2: the service's health; 503 carries the error shape too
    alive, details = service_of(request).health()
    if not alive:
        details = {**details, "error_type": "not_ready"}
    return JSONResponse(details, status_code=200 if alive else 503)
    # END SOLUTION


@probes.get("/ready", responses={503: ERRORS[503]})
@probes.head("/ready", include_in_schema=False)
async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 once models and indexes are in place; 503 while loading, draining, or saturated.

    Saturated: every in-flight slot is taken or the batch queue is full, so a new request would get
    429 here; a load balancer should send it elsewhere until the server has room again.
    """
    # BEGIN SOLUTION c08.2: ready -> 200 with the phase, else not_ready; saturated is not ready
    service = service_of(request)
    if not service.ready:
        ready_service(request)  # raises the reason: loading, draining or broken
    guard = request.app.state.guard
    if guard is not None and guard.in_flight >= guard.limit:
        raise ServiceError(503, "not_ready", f"saturated: {guard.in_flight} of {guard.limit} requests in flight",
                           {"Retry-After": "1"})
    batcher = service.batcher
    if batcher is not None and batcher.queue_size >= service.settings.max_queue:
        raise ServiceError(503, "not_ready", f"saturated: the batch queue is full ({batcher.queue_size} requests)",
                           {"Retry-After": "1"})
    return JSONResponse({"status": "ready", "phase": service.phase.value})
    # END SOLUTION


@probes.get("/metrics", response_class=Response)
@probes.head("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    service = service_of(request)
    if service.batcher is not None:
        service.metrics.queue_size.set(service.batcher.queue_size)
    return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, but cancel it (dropping its queued batch job) if the client disconnects first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise ServiceError(CLIENT_CLOSED, "client_closed_request", "the client disconnected")
    return task.result()


def _texts(body: EmbedRequest, max_inputs: int) -> list[str]:
    texts = [body.inputs] if isinstance(body.inputs, str) else list(body.inputs)
    if not texts:
        raise ServiceError(422, "validation_error", "inputs: give at least one text")
    if len(texts) > max_inputs:
        raise ServiceError(422, "validation_error", f"inputs: {len(texts)} texts, at most {max_inputs} per request")
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise ServiceError(422, "validation_error", f"inputs: text {empty[0]} is empty")
    return texts


async def _vectors(service: Service, components: Components, texts: list[str], normalize: bool, truncate: bool,
                   ) -> tuple[Any, float, float]:
    tokens = await service.offload(components.embedder.tokenize, texts)  # 1 MB of text takes ~0.3 s: off the loop
    too_long = [i for i, t in enumerate(tokens) if t.truncated]
    if too_long and not truncate:
        raise ServiceError(422, "validation_error", f"inputs: text {too_long[0]} is longer than "
                           f"{components.embedder.max_tokens} tokens; send truncate=true to cut it")
    try:
        return await service.embed([t.ids for t in tokens], normalize)
    except QueueFullError as err:
        service.metrics.rejections.labels("overloaded").inc()
        raise ServiceError(429, "overloaded", str(err), {"Retry-After": "1"}) from err


@embedding.post("/embed", responses={**ERRORS, 200: {"content": {"application/json": {"schema": {
    "type": "array", "items": {"type": "array", "items": {"type": "number"}}}}}}})
async def embed(body: EmbedRequest, request: Request, ready: Ready) -> Response:
    """One vector per input (TEI's API), batched with other requests; timing headers in milliseconds."""
    # BEGIN SOLUTION c08.4: ready; validate; tokenize; batcher (dropped on disconnect); headers
    service, components = ready
    texts = _texts(body, service.settings.max_client_batch)
    vectors, queue_s, inference_s = await until_disconnect(
        request, _vectors(service, components, texts, body.normalize, body.truncate))
    return Response(json.dumps(vectors.tolist()), media_type="application/json", headers={
        "x-queue-time": f"{queue_s * 1000:.3f}", "x-inference-time": f"{inference_s * 1000:.3f}",
        "x-batch-inputs": str(len(texts))})
    # END SOLUTION


@retrieval.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search(body: SearchRequest, request: Request, ready: Ready) -> JSONResponse:
    """Ranked hits with scores, snippets and per-retriever ranks; answers repeat from the cache."""
    # BEGIN SOLUTION c08.5: ready; validate; cache; query vector via the batcher; search in a thread
    service, components = ready
    if not body.query.strip():
        raise ServiceError(422, "validation_error", "query: must contain a non-space character")
    if body.top_k > service.settings.max_top_k:
        raise ServiceError(422, "validation_error", f"top_k: at most {service.settings.max_top_k}")
    if body.rerank and components.engine.reranker is None:
        raise ServiceError(422, "validation_error", "rerank: this server runs without the reranker")
    key = normalise_request(body.model_dump())
    cached = service.cache.get(key)
    (service.metrics.cache_hits if cached is not None else service.metrics.cache_misses).inc()
    if cached is None:
        vector = None
        if body.mode != "bm25" or body.rerank:
            rows = [(await service.offload(components.embedder.tokenize, [body.query]))[0].ids]
            vector = (await until_disconnect(request, service.embed(rows, normalize=True)))[0][0]
        context = service.tracer.start_as_current_span
        hits = await asyncio.to_thread(
            components.engine.search, body.query, vector, top_k=body.top_k, mode=body.mode, fusion=body.fusion,
            rerank=body.rerank, where=body.filter, span=context)
        cached = [h.as_dict() for h in hits]
        service.cache.put(key, cached)
        hit = False
    else:
        hit = True
    return JSONResponse({"hits": cached, "mode": body.mode, "fusion": body.fusion, "reranked": body.rerank,
                         "cached": hit}, headers={"x-cache": "hit" if hit else "miss"})
    # END SOLUTION


@retrieval.post("/documents", response_model=DocumentsResponse, responses=ERRORS)
async def add_documents(body: DocumentsRequest, request: Request, ready: Ready) -> DocumentsResponse:
    """Add or replace documents in both indexes together (all of them, or none)."""
    # BEGIN SOLUTION c08.5: validate; vectors via the batcher; write both indexes; clear the cache
    service, components = ready
    docs = body.documents
    if len(docs) > service.settings.max_client_batch:
        raise ServiceError(422, "validation_error", f"documents: at most {service.settings.max_client_batch}")
    if len({d.id for d in docs}) != len(docs):
        raise ServiceError(422, "validation_error", "documents: ids must be unique within a request")
    if any(k in ("title", "doc_id") for d in docs for k in d.metadata):
        raise ServiceError(422, "validation_error", "metadata: 'title' and 'doc_id' are reserved keys")
    stored = [StoredDocument(d.id, d.title, f"{d.title}\n{d.text}" if d.title else d.text, dict(d.metadata))
              for d in docs]
    vectors, _, _ = await _vectors(service, components, [s.text for s in stored], True, True)
    try:
        await asyncio.to_thread(components.store.upsert, stored, vectors)
    except IndexWriteError as err:
        raise ServiceError(503, "index_error", str(err)) from err
    finally:
        service.cache.clear()
    return DocumentsResponse(upserted=len(stored), ids=[s.doc_id for s in stored])
    # END SOLUTION


@retrieval.delete("/documents/{doc_id}", response_model=DeleteResponse, responses=ERRORS)
async def delete_document(doc_id: str, request: Request, ready: Ready) -> DeleteResponse:
    """Remove a document from both indexes (404 if there is none)."""
    # BEGIN SOLUTION c08.5: 404 for an unknown id; delete in a thread; clear the cache
    service, components = ready
    try:
        await asyncio.to_thread(components.store.delete, doc_id)
    except KeyError:
        raise ServiceError(404, "not_found", f"no document {doc_id!r}") from None
    except IndexWriteError as err:
        raise ServiceError(503, "index_error", str(err)) from err
    finally:
        service.cache.clear()
    return DeleteResponse(deleted=doc_id)
    # END SOLUTION


ROUTERS = [probes, embedding, retrieval]
