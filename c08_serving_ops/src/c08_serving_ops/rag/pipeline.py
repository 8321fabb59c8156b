"""The one RAG pipeline: what ``POST /rag`` serves and what :mod:`~c08_serving_ops.rag.evaluate` measures.

Both call these steps in this order, so the evaluation measures what is served by construction:

1. :func:`retrieve_passages`: c06's hybrid search (reciprocal rank fusion) for the top ``top_k``,
   their full texts read under the store's lock (a concurrent ``POST /documents`` never shows half
   a document);
2. either :func:`extractive_route` (the top passage's best sentence, no generation), or
   :func:`generation_prompt` (a prompt of numbered passages within the token budget) and, once the
   model has answered, :func:`cite_answer` (citations, attributed after generation when the model
   cited nothing).

The route adds what only a server has (the batcher for the query vector, spans, streaming,
disconnects); the evaluation adds timing and scores. Neither re-implements a step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from c08_serving_ops.rag.prompt import Passage, attribute, build_prompt, citations, extractive_answer

if TYPE_CHECKING:
    from c05_nlp_transformers.chat import ChatModel
    from c08_serving_ops.search.components import Components

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class CitedAnswer:
    """An answer with the passages it may cite (numbered from 1) and the markers it does cite."""

    text: str
    passages: list[Passage]
    citations: list[int]  # the [k] of ``text``, first occurrence order
    attributed: bool  # the marker was appended after generation (the model cited nothing)
    route: str  # "extractive" | "generate"

    @property
    def cited_ids(self) -> list[str]:
        return [self.passages[k - 1].doc_id for k in self.citations]


def retrieve_passages(components: Components, query: str, vector: NDArray[np.float32], top_k: int) -> list[Passage]:
    """The hybrid (RRF) top ``top_k`` for ``query`` and its unit ``vector``, with full texts."""
    # BEGIN SOLUTION c08.13: hybrid search; the texts under the store's lock; Passage per hit
    hits = components.engine.search(query, vector, top_k=top_k, mode="hybrid", fusion="rrf")
    with components.store.lock:
        texts = components.store.bm25.texts([h.id for h in hits])
    return [Passage(h.id, h.title, texts.get(h.id, ""), h.score) for h in hits]
    # END SOLUTION


def extractive_route(query: str, passages: Sequence[Passage]) -> CitedAnswer:
    """The top passage's sentence sharing most words with ``query``, citing it as [1]; empty without passages."""
    top = list(passages[:1])
    answer = extractive_answer(query, top[0].text) if top else ""
    text = f"{answer} [1]" if answer else ""
    return CitedAnswer(text, top, citations(text, len(top)), False, "extractive")


def token_counter(chat: ChatModel) -> Callable[[Messages], int]:
    """Tokens of a conversation as the model reads it (its chat template applied)."""
    from c05_nlp_transformers.llama_tokenizer import apply_chat_template

    def count(messages: Messages) -> int:
        return chat.count_tokens(apply_chat_template(messages))

    return count


def generation_prompt(chat: ChatModel, query: str, passages: Sequence[Passage], budget: int,
                      ) -> tuple[Messages, list[Passage]]:
    """The cited prompt within ``budget`` tokens and the passages it holds (ValueError if the query cannot fit)."""
    return build_prompt(query, passages, budget, token_counter(chat))


def cite_answer(text: str, passages: Sequence[Passage]) -> CitedAnswer:
    """A generated answer's citations over the prompt's ``passages``; attributed when it cites none."""
    text, attributed = attribute(text, [p.text for p in passages])
    return CitedAnswer(text, list(passages), citations(text, len(passages)), attributed, "generate")
