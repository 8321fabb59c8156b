"""``POST /rag``: retrieve (c06's hybrid search), build a cited prompt, generate, and return answer and sources.

Request: ``{"query", "top_k" (1..10), "route": "generate" | "extractive", "max_new_tokens",
"temperature", "seed", "stream"}``. Answer: ``{"answer", "route", "finish_reason", "citations":
[k, ...], "cited": [passage, ...], "attributed", "passages": [{"index", "id", "title", "text",
"score"}, ...], "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}`` where ``passages``
are the ones the prompt holds (numbered as in the prompt, with their hybrid retrieval scores) and
``cited`` those the answer cites as ``[k]`` (``attributed``: the service appended the marker because
the model cited nothing, see :func:`~c08_serving_ops.rag.prompt.attribute`).
The ``extractive`` route answers with the best-matching sentence of the top passage and generates
nothing. With ``stream``, token events as ``/generate``; the last carries ``generated_text`` (what
the model wrote) and ``details`` with the RAG fields.

Spans: ``retrieve`` -> ``prompt`` -> ``generate`` (the last from the shared run). The steps are
:mod:`~c08_serving_ops.rag.pipeline`'s, the ones the evaluation (c08.15) calls.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import JSONResponse

from c08_serving_ops.core.errors import ServiceError
from c08_serving_ops.core.schemas import ERRORS, MAX_QUERY_CHARS, NOT_BLANK, Int, Strict
from c08_serving_ops.core.sse import EventStreamResponse
from c08_serving_ops.generation.engine import SEED_LIMIT, GenerationParams, TokenStep
from c08_serving_ops.rag.pipeline import (
    CitedAnswer,
    cite_answer,
    extractive_route,
    generation_prompt,
    retrieve_passages,
)
from c08_serving_ops.rag.prompt import Passage
from c08_serving_ops.search.components import Components
from c08_serving_ops.server.api import Ready, until_disconnect
from c08_serving_ops.server.generate_api import (
    check_limits,
    engine_of,
    run_to_end,
    samples,
    start_run,
    stream_events,
    usage,
)
from c08_serving_ops.server.service import Service

rag_router = APIRouter(tags=["rag"])


DEFAULT_MAX_NEW_TOKENS = 64  # or the server's max_new_tokens_limit when that is lower


class RagRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK, description=(
        "the question; on the generate route it must fit the prompt budget with one passage (counted in tokens: "
        "422 otherwise)"))
    top_k: Int = Field(3, ge=1, le=10)
    route: Literal["generate", "extractive"] = "generate"
    max_new_tokens: Int = Field(DEFAULT_MAX_NEW_TOKENS, ge=1, description=(
        f"at most the server's max_new_tokens_limit; {DEFAULT_MAX_NEW_TOKENS} (or that limit, if lower) when absent"))
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: Int | None = Field(None, ge=0, lt=SEED_LIMIT)
    stream: bool = False


async def retrieve(service: Service, components: Components, query: str, top_k: int) -> list[Passage]:
    """:func:`~c08_serving_ops.rag.pipeline.retrieve_passages` under a ``retrieve`` span, the query vector batched."""
    # BEGIN SOLUTION c08.13: query vector through the batcher; the pipeline's retrieval in a thread
    with service.tracer.start_as_current_span("retrieve", attributes={"rag.top_k": top_k}):
        rows = [components.embedder.tokenize([query])[0].ids]
        vector = (await service.embed(rows, normalize=True))[0][0]
        return await asyncio.to_thread(retrieve_passages, components, query, vector, top_k)
    # END SOLUTION


def rag_fields(answer: CitedAnswer) -> dict[str, Any]:
    """The response's RAG fields: the answer, its citations and the passages it may cite (numbered from 1)."""
    rows = [{"index": i, "id": p.doc_id, "title": p.title, "text": p.text, "score": p.score}
            for i, p in enumerate(answer.passages, start=1)]
    return {"answer": answer.text, "route": answer.route, "citations": answer.citations,
            "cited": [rows[k - 1] for k in answer.citations], "passages": rows, "attributed": answer.attributed}


@rag_router.post("/rag", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def rag(body: RagRequest, request: Request, ready: Ready) -> Any:
    """Answer ``query`` from the indexed collection, citing the passages used."""
    # BEGIN SOLUTION c08.13: retrieve; extractive route or a budgeted prompt; run; answer with sources
    service, components = ready
    if not body.query.strip():
        raise ServiceError(422, "validation_error", "query: must contain a non-space character")
    if "max_new_tokens" not in body.model_fields_set:  # the default never exceeds the server's limit
        body = body.model_copy(update={"max_new_tokens": min(DEFAULT_MAX_NEW_TOKENS,
                                                             service.settings.max_new_tokens_limit)})
    check_limits(service, body.max_new_tokens, ())
    passages = await until_disconnect(request, retrieve(service, components, body.query, body.top_k))
    if body.route == "extractive":
        fields = rag_fields(extractive_route(body.query, passages))
        return JSONResponse({**fields, "finish_reason": "extractive", "usage": usage(0, 0)})  # generates nothing
    service, engine = engine_of(request)  # only the generate route needs the language model
    budget = engine.context - body.max_new_tokens
    with service.tracer.start_as_current_span("prompt") as span:
        try:
            messages, kept = await asyncio.to_thread(generation_prompt, engine.chat, body.query, passages, budget)
        except ValueError as err:
            raise ServiceError(422, "validation_error", f"query: {err}") from err
        span.set_attribute("rag.passages", len(kept))
    from c05_nlp_transformers.llama_tokenizer import apply_chat_template

    params = GenerationParams(max_new_tokens=body.max_new_tokens, temperature=body.temperature, seed=body.seed,
                              do_sample=samples(body.temperature))
    run = await start_run(service, engine, apply_chat_template(messages), params, "/rag", body.stream)
    generation = run.generation
    if not body.stream:
        await until_disconnect(request, run_to_end(run))
        return JSONResponse({**rag_fields(cite_answer(generation.text, kept)),
                             "finish_reason": generation.finish_reason,
                             "usage": usage(generation.prompt_tokens, generation.generated_tokens)})

    def token_event(step: TokenStep) -> dict[str, Any]:
        final = generation.done
        return {"token": {"id": step.id, "text": step.text, "special": step.special},
                "generated_text": generation.text if final else None,
                "details": {**rag_fields(cite_answer(generation.text, kept)),
                            "finish_reason": generation.finish_reason,
                            "usage": usage(generation.prompt_tokens, generation.generated_tokens),
                            } if final else None}

    return EventStreamResponse(stream_events(run, token_event), service.settings.keepalive_s)
    # END SOLUTION
