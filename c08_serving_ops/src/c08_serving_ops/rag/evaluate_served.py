"""The RAG evaluation of a *running* server: the same table, measured through HTTP as a client sees it.

:mod:`~c08_serving_ops.rag.evaluate` calls the service's pieces in process; this module asks a server
(``python -m c08_serving_ops.rag.evaluate --url http://127.0.0.1:8008``, e.g. ``make serve``) what
its users would ask. Per question, three requests, one after the other:

1. ``POST /search`` (hybrid RRF, top 5): the retrieval recall and the router's confidence;
2. ``POST /rag`` with ``"route": "extractive"``;
3. ``POST /rag`` with ``"route": "generate"`` (whatever model, quantization and adapter the server
   runs; skipped, with a note, when generation is off: 503).

Latency is the client's wall clock for each ``/rag`` call (retrieval inside it, HTTP and JSON
included); tokens come from the response's ``usage``. The answers are scored by the same
:func:`~c08_serving_ops.rag.scores.score`, so a served row and an in-process row of the same
configuration agree on everything but latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from c08_serving_ops.rag.prompt import Passage
from c08_serving_ops.rag.scores import PRICE, Answer, Retrieved, Row, confidence, route, score
from c08_serving_ops.search.xquad import RagQuestion

RECALL_DEPTH = 5  # /search's depth: recall@5 needs five passages


class GenerationUnavailableError(RuntimeError):
    """The server answered the generate route with 503 (generation off, or not ready)."""


def served_retrieval(client: httpx.Client, question: RagQuestion) -> Retrieved:
    """``POST /search`` (hybrid, RRF, top 5) as :class:`Retrieved` (no texts: recall and confidence need none)."""
    started = time.perf_counter()
    response = client.post("/search", json={"query": question.question, "top_k": RECALL_DEPTH, "mode": "hybrid",
                                            "fusion": "rrf"})
    response.raise_for_status()
    passages = [Passage(h["id"], h["title"], "", h["score"]) for h in response.json()["hits"]]
    return Retrieved(passages, time.perf_counter() - started, confidence(passages))


def served_answer(client: httpx.Client, question: RagQuestion, route_name: str, *, top_k: int = 3,
                  max_new_tokens: int = 48) -> Answer:
    """One ``POST /rag`` on ``route_name``, timed by the client. GenerationUnavailableError on 503 for ``generate``."""
    started = time.perf_counter()
    response = client.post("/rag", json={"query": question.question, "route": route_name, "top_k": top_k,
                                         "max_new_tokens": max_new_tokens})
    seconds = time.perf_counter() - started
    if response.status_code == 503 and route_name == "generate":
        raise GenerationUnavailableError(response.json().get("message", "generation is not available"))
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    tokens = body["usage"]
    return Answer(body["answer"], [c["id"] for c in body["cited"]], seconds, tokens["prompt_tokens"],
                  tokens["completion_tokens"], body["route"], body.get("attributed", False))


def evaluate_served(client: httpx.Client, questions: Sequence[RagQuestion], *, top_k: int = 3,
                    max_new_tokens: int = 48, router_threshold: float = 1.0, usd_per_1k_tokens: float = PRICE,
                    progress: Callable[[str], None] = lambda _: None) -> list[Row]:
    """Rows ``served-extractive``, ``served-generate`` and ``served-router`` (the last two when generation is on)."""
    retrieved = [served_retrieval(client, q) for q in questions]
    extractive = [served_answer(client, q, "extractive", top_k=top_k) for q in questions]
    rows = [score("served-extractive", questions, retrieved, extractive, usd_per_1k_tokens)]
    try:
        progress("served-generate")
        generated = [served_answer(client, q, "generate", top_k=top_k, max_new_tokens=max_new_tokens)
                     for q in questions]
    except GenerationUnavailableError as err:
        progress(f"no generation rows: {err}")
        return rows
    rows.append(score("served-generate", questions, retrieved, generated, usd_per_1k_tokens))
    routed = [e if route(r, router_threshold) == "extractive" else g
              for r, e, g in zip(retrieved, extractive, generated, strict=True)]
    rows.append(score("served-router", questions, retrieved, routed, usd_per_1k_tokens))
    return rows
