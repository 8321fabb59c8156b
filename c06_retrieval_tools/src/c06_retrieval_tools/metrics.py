"""Ranking metrics from scratch, defined exactly as trec_eval defines them.

For one query, with the run ranked by :func:`~c06_retrieval_tools.trec.ranking`
(score descending, ties by doc id descending), ``g(i)`` the gain of the document
at rank ``i`` (0 if unjudged), and ``R`` the number of judged documents with
gain >= 1 ("relevant"):

* **P@k** = (relevant in the top k) / k  (k, not the number retrieved);
* **recall@k** = (relevant in the top k) / R;
* **MRR@k** (reciprocal rank) = 1 / (rank of the first relevant document), 0 if none
  is in the top k; its mean over queries is MRR;
* **AP@k** = (sum over relevant ranks i <= k of P@i) / R; its mean is MAP@k. The
  denominator is all of R, so a relevant document never retrieved costs precision;
* **nDCG@k** = DCG@k / IDCG@k with DCG@k = sum_{i<=k} g(i) / log2(i + 1) and IDCG@k
  the DCG of the judged documents sorted by gain: the graded measure, in [0, 1].

A query with no relevant document scores 0 on all of these. Means are taken over
the queries of the qrels that have a relevant document (a query missing from the
run scores 0), which is what ``trec_eval -c`` reports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from c06_retrieval_tools.collection import Qrels, Run
from c06_retrieval_tools.trec import ranking

MEASURE_NAMES = ("ndcg", "map", "recall", "mrr", "p")
DEFAULT_MEASURES = ("ndcg@10", "map@100", "recall@100", "mrr@10")
_SPEC = re.compile(r"^(?P<name>[a-z]+)@(?P<k>[0-9]+)$")
RELEVANT_GAIN = 1  # gain >= this counts as relevant for the binary measures (trec_eval's default)


@dataclass(frozen=True)
class Measure:
    """A measure and its cutoff, parsed from text such as ``"ndcg@10"``."""

    name: str
    k: int

    @classmethod
    def parse(cls, spec: str) -> Measure:
        """``"nDCG@10"`` -> Measure("ndcg", 10); ValueError for an unknown name or a cutoff below 1."""
        # BEGIN SOLUTION c06.2: match name@k (case and spaces ignored); check the name and k
        match = _SPEC.match(spec.strip().lower())
        if not match or match.group("name") not in MEASURE_NAMES or int(match.group("k")) < 1:
            raise ValueError(f"unknown measure {spec!r}: use one of {', '.join(MEASURE_NAMES)} with @k, k >= 1")
        return cls(match.group("name"), int(match.group("k")))
        # END SOLUTION

    def __str__(self) -> str:
        return f"{self.name}@{self.k}"


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"the cutoff k must be a positive int, got {k!r}")


def _n_relevant(judged: dict[str, int]) -> int:
    return sum(1 for gain in judged.values() if gain >= RELEVANT_GAIN)


def precision_at_k(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """P@k of one ranked list of doc ids against one query's judgments."""
    # BEGIN SOLUTION c06.2: count relevant docs in the top k, divide by k
    _check_k(k)
    if _n_relevant(judged) == 0:
        return 0.0
    return sum(1 for d in ranked[:k] if judged.get(d, 0) >= RELEVANT_GAIN) / k
    # END SOLUTION


def recall_at_k(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """recall@k: the share of the relevant documents found in the top k."""
    # BEGIN SOLUTION c06.2: relevant docs in the top k over all relevant docs (0 if there are none)
    _check_k(k)
    n_relevant = _n_relevant(judged)
    if n_relevant == 0:
        return 0.0
    return sum(1 for d in ranked[:k] if judged.get(d, 0) >= RELEVANT_GAIN) / n_relevant
    # END SOLUTION


def reciprocal_rank_at_k(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """1 / rank of the first relevant document in the top k, else 0."""
    # BEGIN SOLUTION c06.2: scan the top k for the first relevant document
    _check_k(k)
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if judged.get(doc_id, 0) >= RELEVANT_GAIN:
            return 1.0 / rank
    return 0.0
    # END SOLUTION


def average_precision_at_k(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """AP@k: mean of P@i over the ranks i <= k of relevant documents, divided by all relevant."""
    # BEGIN SOLUTION c06.2: accumulate P@i at each relevant rank i <= k; divide by R
    _check_k(k)
    n_relevant = _n_relevant(judged)
    if n_relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if judged.get(doc_id, 0) >= RELEVANT_GAIN:
            hits += 1
            total += hits / rank
    return total / n_relevant
    # END SOLUTION


def ndcg_at_k(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """nDCG@k with graded gains and the log2(rank + 1) discount."""
    # BEGIN SOLUTION c06.2: DCG of the top k over the DCG of the ideal order of the judged gains
    _check_k(k)
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(rank + 1) for rank, d in enumerate(ranked[:k], start=1))
    ideal_gains = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_gains, start=1))
    return dcg / idcg if idcg > 0 else 0.0
    # END SOLUTION


_FUNCTIONS = {
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "recall": recall_at_k,
    "mrr": reciprocal_rank_at_k,
    "p": precision_at_k,
}


def per_query(run: Run, qrels: Qrels, measures: Iterable[str] = DEFAULT_MEASURES) -> dict[str, dict[str, float]]:
    """``{measure: {query id: value}}`` over the qrels' queries that have a relevant document.

    A query the run does not answer scores 0; queries of the run without judgments are ignored.
    """
    # BEGIN SOLUTION c06.2: parse each measure once, rank each query's scores once, apply every measure
    parsed = [Measure.parse(m) for m in measures]
    depth = max((m.k for m in parsed), default=0)
    queries = [q for q, judged in qrels.items() if _n_relevant(judged) > 0]
    values: dict[str, dict[str, float]] = {str(m): {} for m in parsed}
    for query_id in queries:
        ranked = ranking(run.get(query_id, {}), depth)
        for measure in parsed:
            values[str(measure)][query_id] = _FUNCTIONS[measure.name](ranked, qrels[query_id], measure.k)
    return values
    # END SOLUTION


def evaluate_run(run: Run, qrels: Qrels, measures: Iterable[str] = DEFAULT_MEASURES) -> dict[str, float]:
    """The mean of each measure over the judged queries (see :func:`per_query`)."""
    table = per_query(run, qrels, measures)
    return {name: (sum(values.values()) / len(values) if values else 0.0) for name, values in table.items()}
