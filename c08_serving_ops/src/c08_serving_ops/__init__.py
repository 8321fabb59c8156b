"""c08: serving and operations, part 1: the serving core behind /embed and /search.

One concept per file, in the order of the tasks:

* c08.1 :mod:`~c08_serving_ops.settings` (typed settings: file, environment),
  :mod:`~c08_serving_ops.errors` (one JSON error shape), :mod:`~c08_serving_ops.app` (the factory and
  lifespan), :mod:`~c08_serving_ops.serve` (uvicorn, graceful drain), :mod:`~c08_serving_ops.documents`
  (opening or building the indexes);
* c08.2 :mod:`~c08_serving_ops.service` (phases: loading, ready, draining, broken), the probes in
  :mod:`~c08_serving_ops.api`;
* c08.3 :mod:`~c08_serving_ops.limiter` (token buckets, overload guard), :mod:`~c08_serving_ops.middleware` (guards);
* c08.4 :mod:`~c08_serving_ops.embedder` (MiniLM: tokenize + forward), :mod:`~c08_serving_ops.batcher` (batches);
* c08.5 :mod:`~c08_serving_ops.search`, :mod:`~c08_serving_ops.cache`, :mod:`~c08_serving_ops.reranker`,
  :mod:`~c08_serving_ops.documents`, :mod:`~c08_serving_ops.text_index`, :mod:`~c08_serving_ops.vectors`;
* c08.6 :mod:`~c08_serving_ops.client` (``python -m c08_serving_ops.client``);
* c08.7 :mod:`~c08_serving_ops.logs`, :mod:`~c08_serving_ops.tracing`, :mod:`~c08_serving_ops.metrics`;
* c08.8 :mod:`~c08_serving_ops.process` (the server as a child process), :mod:`~c08_serving_ops.loadgen`,
  :mod:`~c08_serving_ops.fuzz`, :mod:`~c08_serving_ops.bench` (``make bench``).

Part 2 (the RAG capstone: /generate, /v1/chat/completions, /rag) adds its routers to
:func:`create_app`. The command-line modules (serve, client, bench) are not imported here.
"""

from c08_serving_ops.app import create_app
from c08_serving_ops.batcher import Job, MicroBatcher, QueueFullError
from c08_serving_ops.cache import TTLCache, normalise_request
from c08_serving_ops.documents import DocumentStore, IndexWriteError, StoredDocument
from c08_serving_ops.embedder import Embedder
from c08_serving_ops.errors import ServiceError, error_response
from c08_serving_ops.limiter import Decision, OverloadGuard, RateLimiter, TokenBucket
from c08_serving_ops.loadgen import LoadResult, percentile, run_load, run_rate
from c08_serving_ops.metrics import ServiceMetrics
from c08_serving_ops.process import ServerProcess
from c08_serving_ops.search import SearchEngine, SearchHit
from c08_serving_ops.service import Components, Phase, Service, load_components
from c08_serving_ops.settings import Settings

__all__ = [
    "Components",
    "Decision",
    "DocumentStore",
    "Embedder",
    "IndexWriteError",
    "Job",
    "LoadResult",
    "MicroBatcher",
    "OverloadGuard",
    "Phase",
    "QueueFullError",
    "RateLimiter",
    "SearchEngine",
    "SearchHit",
    "ServerProcess",
    "Service",
    "ServiceError",
    "ServiceMetrics",
    "Settings",
    "StoredDocument",
    "TTLCache",
    "TokenBucket",
    "create_app",
    "error_response",
    "load_components",
    "normalise_request",
    "percentile",
    "run_load",
    "run_rate",
]
