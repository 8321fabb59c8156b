"""c08: serving and operations, from the serving core to the RAG capstone.

The package is six parts, each allowed to import only the parts listed before it (a course test
checks the layers and that no import circle exists):

* :mod:`~c08_serving_ops.core`: settings, errors and request schemas, logs, metrics, tracing,
  server-sent events, rate limits, the circuit breaker (c08.1, c08.3, c08.6, c08.7);
* :mod:`~c08_serving_ops.search`: the embedder and its micro-batcher, the document store, the hybrid
  search engine, the cache, the reranker, XQuAD and the loaded components (c08.1, c08.4, c08.5, c08.15);
* :mod:`~c08_serving_ops.generation`: the engine that interleaves generations, its metrics, the chat
  API's request models (c08.9-c08.12);
* :mod:`~c08_serving_ops.rag`: the cited prompt, the one RAG pipeline, the evaluation (c08.13, c08.15);
* :mod:`~c08_serving_ops.server`: the service and its life cycle, middleware, the routes and the app,
  ``python -m c08_serving_ops.server.serve`` (c08.1-c08.5, c08.9-c08.13);
* :mod:`~c08_serving_ops.tools`: client, load generator, fuzzer, soak and slow-client checks,
  deployment check, screencast (c08.6, c08.8, c08.14).

``bench.py`` and ``report.py`` (``make bench``, ``make report``) sit above every part. The names
below are the package's public API; the command-line modules are not imported here.
"""

from c08_serving_ops.core.errors import ServiceError, error_response
from c08_serving_ops.core.limiter import Decision, OverloadGuard, RateLimiter, TokenBucket
from c08_serving_ops.core.metrics import ServiceMetrics
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.search.batcher import Job, MicroBatcher, QueueFullError
from c08_serving_ops.search.cache import TTLCache, normalise_request
from c08_serving_ops.search.components import Components
from c08_serving_ops.search.documents import DocumentStore, IndexWriteError, StoredDocument
from c08_serving_ops.search.embedder import Embedder
from c08_serving_ops.search.engine import SearchEngine, SearchHit
from c08_serving_ops.server.app import create_app
from c08_serving_ops.server.service import Phase, Service, load_components
from c08_serving_ops.tools.loadgen import LoadResult, percentile, run_load, run_rate
from c08_serving_ops.tools.process import ServerProcess

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
