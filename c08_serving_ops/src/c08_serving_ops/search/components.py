"""What a server process loads once: the embedder, the document store, the search engine (and the model).

:func:`load_search_components` builds them for a collection; the server adds the language model
(:func:`c08_serving_ops.server.service.load_components`) when generation is on, and the RAG
evaluation reuses the same components in process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools import Collection
from c08_serving_ops.core.logs import get_logger
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.search.documents import DocumentStore
from c08_serving_ops.search.embedder import Embedder
from c08_serving_ops.search.engine import SearchEngine
from c08_serving_ops.search.reranker import Reranker
from c08_serving_ops.search.xquad import load_named_collection

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel


@dataclass
class Components:
    """Everything loaded once per process."""

    embedder: Embedder
    store: DocumentStore
    engine: SearchEngine
    chat: ChatModel | None = None  # SmolLM2 (part 2), when settings.generation is on

    def close(self) -> None:
        self.store.close()


Loader = Callable[[Settings], Components]

def load_search_components(settings: Settings) -> Components:
    """The MiniLM embedder, the collection's two indexes (reused or built) and the reranker."""
    # BEGIN SOLUTION c08.1: embedder; collection; document store; optionally train the reranker
    log = get_logger()
    started = time.perf_counter()
    embedder = Embedder(settings.model_path, settings.max_input_tokens, settings.torch_threads)
    collection = load_named_collection(settings.collection)

    def embed_documents(texts: Sequence[str], label: str = "embedding the collection") -> NDArray[np.float32]:
        return embed_with_progress(embedder, texts, label)  # (n, 384) unit vectors, c06's disk cache when warm

    store = DocumentStore.open(collection, embed_documents, embedder.dimension, path=settings.index_path,
                               qdrant_url=settings.qdrant_url, in_memory=settings.in_memory)
    engine = SearchEngine(store, None, settings.rerank_depth)
    if settings.rerank:
        engine.reranker = train_reranker(collection, embedder, engine, settings.rerank_train_queries)
    log.info("components_loaded", documents=len(store), seconds=round(time.perf_counter() - started, 3),
             reranker=settings.rerank)
    return Components(embedder, store, engine)
    # END SOLUTION


def train_reranker(collection: Collection, embedder: Embedder, engine: SearchEngine, queries: int) -> Reranker:
    """c06's learned reranker, trained on the first ``queries`` judged queries over ``engine``'s candidates."""
    judged = collection.judged_queries()[:queries]
    doc_vectors = embed_with_progress(embedder, [d.text for d in collection.documents], "reranker: document vectors")
    title_vectors = embed_with_progress(embedder, [d.title for d in collection.documents], "reranker: title vectors")
    training = [(collection.queries[q], collection.qrels.get(q, {})) for q in judged]
    return Reranker(collection, doc_vectors, title_vectors).train(
        training, embedder.embed([q for q, _ in training]), engine.retrieve)


def embed_with_progress(embedder: Embedder, texts: Sequence[str], label: str, chunk: int = 64) -> NDArray[np.float32]:
    """c06's cached document embeddings of ``texts``, ``chunk`` at a time under a progress bar named ``label``."""
    from rich.console import Console
    from rich.progress import Progress

    parts = [np.zeros((0, embedder.dimension), np.float32)]
    # on a terminal only (stderr): piped output stays one JSON object per line
    console = Console(stderr=True)
    with Progress(console=console, disable=len(texts) <= chunk or not console.is_terminal) as bar:
        task = bar.add_task(label, total=len(texts))
        for start in range(0, len(texts), chunk):
            parts.append(embedder.encoder.encode(texts[start : start + chunk]))
            bar.advance(task, min(chunk, len(texts) - start))
    return np.concatenate(parts)
