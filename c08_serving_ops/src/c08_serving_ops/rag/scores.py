"""The RAG evaluation's scores: one table row per configuration, the router's rule and the Pareto front.

:mod:`~c08_serving_ops.rag.evaluate` (in process) and :mod:`~c08_serving_ops.rag.evaluate_served` (over
HTTP) both produce :class:`Retrieved` and :class:`Answer` records and score them here, so a served
row and an in-process row of the same questions are computed by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from c06_retrieval_tools.fusion import RRF_CONSTANT  # the service's hybrid search fuses with c06's default
from c08_serving_ops.rag.prompt import Passage
from c08_serving_ops.search.xquad import RagQuestion

MARKER = re.compile(r"\s*\[\d{1,3}\]")
PRICE = 0.0001  # USD per 1000 prompt + generated tokens (about what small hosted models cost)

@dataclass(frozen=True)
class Retrieved:
    """The top passages of one question (hybrid RRF), the retrieval's seconds and its confidence in [0, 1]."""

    passages: list[Passage]
    seconds: float
    confidence: float


@dataclass(frozen=True)
class Answer:
    text: str
    cited_ids: list[str]
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    route: str
    attributed: bool = False  # the citation was appended by :func:`~c08_serving_ops.rag.prompt.attribute`


@dataclass(frozen=True)
class Row:
    config: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    exact_match: float
    f1: float
    citation_rate: float
    p50_ms: float
    p95_ms: float
    tokens_per_answer: float  # generated tokens
    usd_per_1k_questions: float
    generated_share: float  # the share of questions answered by generation (the router's mix)
    attributed_share: float  # the share of answers cited by attribution, not by the model


def confidence(passages: Sequence[Passage]) -> float:
    """The top passage's RRF score over its maximum (both retrievers rank it first): 1.0 means they agree."""
    # BEGIN SOLUTION c08.15: top score / (2 / (K + 1)), 0 without passages
    return passages[0].score / (2 / (RRF_CONSTANT + 1)) if passages else 0.0
    # END SOLUTION


def score(config: str, questions: Sequence[RagQuestion], retrieved: Sequence[Retrieved],
          answers: Sequence[Answer], usd_per_1k_tokens: float = PRICE) -> Row:
    """One table row: the answers of ``config`` against the gold answers and paragraphs."""
    # BEGIN SOLUTION c08.15: recall@1/5 of the gold id; EM, F1 without [k]; cites gold; p50/p95; cost
    from c05_nlp_transformers.squad import exact_match, f1_score

    if not questions or not len(questions) == len(retrieved) == len(answers):
        raise ValueError("score needs one retrieval and one answer per question, and at least one question")
    ranks = [[p.doc_id for p in r.passages] for r in retrieved]
    clean = [MARKER.sub("", a.text).strip() for a in answers]
    latencies = np.array([a.seconds for a in answers]) * 1000
    tokens = [a.prompt_tokens + a.completion_tokens for a in answers]
    return Row(
        config, len(questions),
        recall_at_1=float(np.mean([q.gold_id in r[:1] for q, r in zip(questions, ranks, strict=True)])),
        recall_at_5=float(np.mean([q.gold_id in r[:5] for q, r in zip(questions, ranks, strict=True)])),
        exact_match=float(np.mean([exact_match(t, q.answers) for q, t in zip(questions, clean, strict=True)])),
        f1=float(np.mean([f1_score(t, q.answers) for q, t in zip(questions, clean, strict=True)])),
        citation_rate=float(np.mean([q.gold_id in a.cited_ids for q, a in zip(questions, answers, strict=True)])),
        p50_ms=float(np.percentile(latencies, 50)), p95_ms=float(np.percentile(latencies, 95)),
        tokens_per_answer=float(np.mean([a.completion_tokens for a in answers])),
        usd_per_1k_questions=float(np.mean(tokens)) * usd_per_1k_tokens,
        generated_share=float(np.mean([a.route == "generate" for a in answers])),
        attributed_share=float(np.mean([a.attributed for a in answers])),
    )
    # END SOLUTION


def route(retrieved: Retrieved, threshold: float) -> str:
    """The router: ``extractive`` when retrieval is confident (``confidence >= threshold``), else ``generate``."""
    return "extractive" if retrieved.confidence >= threshold else "generate"


def pareto_front(rows: Sequence[Row]) -> list[str]:
    """The configurations no other one beats on both cost (lower) and F1 (higher), cheapest first."""
    # BEGIN SOLUTION c08.15: keep a row unless another is no worse on both and better on one
    def dominated(row: Row) -> bool:
        return any(o.usd_per_1k_questions <= row.usd_per_1k_questions and o.f1 >= row.f1
                   and (o.usd_per_1k_questions < row.usd_per_1k_questions or o.f1 > row.f1) for o in rows)

    return [r.config for r in sorted(rows, key=lambda r: (r.usd_per_1k_questions, -r.f1)) if not dominated(r)]
    # END SOLUTION
