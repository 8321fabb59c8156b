"""The service: what the app serves, its life cycle, and the readiness it reports.

Loading the model and the indexes takes seconds (more on a cold cache). The server
listens at once and loads in the background, so ``/health`` answers during start-up
and ``/ready`` says 503 until everything is in place; a load balancer sends traffic
only to ready instances. The phases:

``loading`` -> ``ready`` -> ``draining`` (shutdown began: finish in-flight work, take no new)
``loading`` -> ``broken`` (loading failed: ``/health`` 503 with the reason)

:class:`~c08_serving_ops.search.components.Components` holds what was loaded; it is built by a *loader* function
(:func:`load_components` by default; tests inject slow or failing ones), once per process.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from c08_serving_ops.core.logs import get_logger
from c08_serving_ops.core.metrics import NullMetrics, ServiceMetrics
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.core.tracing import tracer_of
from c08_serving_ops.search.batcher import FloatMatrix, Job, MicroBatcher
from c08_serving_ops.search.cache import TTLCache
from c08_serving_ops.search.components import Components, Loader, load_search_components
from c08_serving_ops.search.embedder import normalize_rows

if TYPE_CHECKING:
    pass


class Phase(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    DRAINING = "draining"
    BROKEN = "broken"


P = ParamSpec("P")
R = TypeVar("R")


def load_components(settings: Settings) -> Components:
    """The search components and, when ``settings.generation`` is on, the language model (part 2)."""
    from c08_serving_ops.generation.engine import load_llm

    components = load_search_components(settings)
    if settings.generation:
        components.chat = load_llm(settings)
    return components


class BatchTelemetry:
    """The batcher's observer: metrics for queue and batches, spans batch -> model."""

    def __init__(self, metrics: ServiceMetrics, provider: TracerProvider) -> None:
        self.metrics, self.tracer = metrics, tracer_of(provider)

    def queued(self, size: int) -> None:
        self.metrics.queue_size.set(size)

    def batch(self, jobs: Sequence[Job], tokens: int) -> None:
        self.metrics.batch_size.observe(sum(len(j.rows) for j in jobs))
        self.metrics.batch_tokens.observe(tokens)

    def dropped(self) -> None:
        self.metrics.dropped.inc()

    def run_batch(self, jobs: Sequence[Job], call: Callable[[], FloatMatrix]) -> FloatMatrix:
        # BEGIN SOLUTION c08.7: batch span (parent: first caller; links: all callers); model span inside
        contexts = [j.context for j in jobs if j.context is not None]
        links = [trace.Link(c) for c in contexts]
        parent = trace.set_span_in_context(trace.NonRecordingSpan(contexts[0])) if contexts else None
        attributes = {"batch.requests": len(jobs), "batch.inputs": sum(len(j.rows) for j in jobs)}
        with (self.tracer.start_as_current_span("batch", context=parent, links=links, attributes=attributes),
              self.tracer.start_as_current_span("model", attributes={"model.name": "all-MiniLM-L6-v2"})):
            return call()
        # END SOLUTION


class Service:
    """Phase, components, batcher, cache, metrics and tracer of one app."""

    def __init__(self, settings: Settings, loader: Loader = load_components,
                 provider: TracerProvider | None = None, metrics: ServiceMetrics | None = None) -> None:
        self.settings, self.loader = settings, loader
        self.metrics = metrics or (ServiceMetrics() if settings.observability else NullMetrics())
        self.provider = provider or TracerProvider()
        self.tracer = tracer_of(self.provider)
        self.phase = Phase.LOADING
        self.error: str | None = None
        self.load_exception: BaseException | None = None  # what loading raised (tests re-raise it)
        self.components: Components | None = None
        self.batcher: MicroBatcher | None = None
        self.cache: TTLCache[list[dict[str, Any]]] = TTLCache(settings.cache_size, settings.cache_ttl_s)
        self._loading: asyncio.Task[None] | None = None
        # tokenisation and other CPU work of request handlers: a few threads, never the event loop
        self.cpu_pool = ThreadPoolExecutor(settings.cpu_workers, thread_name_prefix="c08-cpu")
        self.log = get_logger()

    async def start(self) -> None:
        """Begin loading in the background (returns at once)."""
        self._loading = asyncio.get_running_loop().create_task(self._load())
        self._loading.add_done_callback(self._loaded)

    def _loaded(self, task: asyncio.Task[None]) -> None:
        """Record an exception that escaped loading (it must not wait for the garbage collector)."""
        if not task.cancelled() and task.exception() is not None:
            self.load_exception = task.exception()
            self.phase = Phase.BROKEN
            self.error = f"loading failed: {self.load_exception!r}"

    async def _load(self) -> None:
        # BEGIN SOLUTION c08.1: load in a thread; then start the batcher and turn ready, else broken
        try:
            components = await asyncio.to_thread(self.loader, self.settings)
        except Exception as err:
            self.load_exception = err
            self.error = f"loading failed: {type(err).__name__}: {err}"
            self.phase = Phase.BROKEN
            self.log.error("load_failed", error=self.error)
            return
        self.components = components
        self.batcher = MicroBatcher(components.embedder.forward, max_batch_tokens=self.settings.max_batch_tokens,
                                    max_wait_s=self.settings.max_wait_ms / 1000, max_queue=self.settings.max_queue,
                                    enabled=self.settings.batching,
                                    observer=BatchTelemetry(self.metrics, self.provider)
                                    if self.settings.observability else None)
        self.batcher.start()
        if self.phase is Phase.LOADING:
            self.phase = Phase.READY
            self.log.info("ready")
        # END SOLUTION

    @property
    def load_task(self) -> asyncio.Task[None] | None:
        """The background loading task (None before :meth:`start`)."""
        return self._loading

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(alive, details): not alive when loading failed or the store is inconsistent."""
        # BEGIN SOLUTION c08.2: broken phase or an inconsistent store means 503, with the reason
        components: dict[str, str] = {}
        if self.components is not None:
            components["model"] = "ok"
            components["index"] = "ok" if self.components.store.consistent else "inconsistent"
        alive = self.phase is not Phase.BROKEN and all(v == "ok" for v in components.values())
        details: dict[str, Any] = {"status": "ok" if alive else "broken", "phase": self.phase.value,
                                   "components": components}
        if self.error:
            details["error"] = self.error
        elif not alive:
            details["error"] = "the document store is inconsistent (a write could not be undone)"
        return alive, details
        # END SOLUTION

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY and self.health()[0]

    def mark_draining(self) -> None:
        """Only the phase, nothing else: safe inside a signal handler, which may interrupt this very
        thread halfway through writing a log line (the log's lock is not re-entrant)."""
        if self.phase is not Phase.BROKEN:
            self.phase = Phase.DRAINING

    def begin_drain(self) -> None:
        """Shutdown began: report not ready, let in-flight requests finish."""
        self.mark_draining()
        self.log.info("draining")

    async def stop(self) -> None:
        """Finish queued batches, close the indexes (the embedded Qdrant client), flush spans."""
        self.begin_drain()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        try:
            if self.batcher is not None:
                await self.batcher.close()  # re-raises what killed its worker
        finally:  # whatever the batcher did, the indexes (and the embedded Qdrant client) are closed
            if self.components is not None:
                self.components.close()
            self.cpu_pool.shutdown(wait=False, cancel_futures=True)
            self.provider.force_flush()
            self.log.info("stopped")

    async def offload(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``function(*args, **kwargs)`` on the bounded CPU pool, awaited: the event loop keeps serving meanwhile.

        The pool has ``cpu_workers`` threads; more calls wait in its queue (the overload guard bounds
        how many requests can be there). The Rust tokenizer releases the GIL while it works.
        """
        # BEGIN SOLUTION c08.4: run in the service's own pool (not the loop's default executor)
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.cpu_pool, call)
        # END SOLUTION

    async def embed(self, rows: Sequence[Sequence[int]], normalize: bool) -> tuple[FloatMatrix, float, float]:
        """Vectors of token-id rows through the batcher: (vectors, queue seconds, inference seconds)."""
        assert self.batcher is not None
        job = self.batcher.submit(list(rows), trace.get_current_span().get_span_context())
        try:
            vectors = await asyncio.shield(job.future)
        except asyncio.CancelledError:
            self.batcher.cancel(job)
            raise
        done = time.perf_counter()
        started = job.started_at or done
        vectors = normalize_rows(vectors) if normalize else vectors
        return vectors, started - job.enqueued_at, done - started
