"""The K / K′ ablation: candidate depth against rerank depth, quality against cost.

Two knobs decide what a reranking pipeline costs and how good it is:

* **K**, the candidates taken from *each* retriever before fusion: deeper lists
  let a document that only one retriever likes reach the fused top, but cost
  retrieval time (and Qdrant returns more payloads);
* **K′**, the fused candidates the reranker reorders: its features are computed
  per candidate, so its cost grows linearly with K′.

For every (K, K′) pair :func:`run_ablation` times the pipeline per query (the
query embedding, once per query, then retrieval and fusion at depth K, then
features for the top K′; scoring K′ rows is a negligible matrix product) and
measures nDCG@10 by k-fold cross-validation over queries, so no number comes
from a model that saw its query. K′ = 0 is plain RRF at depth K.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from c06_retrieval_tools.features import FeatureExtractor
from c06_retrieval_tools.fusion import reciprocal_rank_fusion
from c06_retrieval_tools.metrics import evaluate_run
from c06_retrieval_tools.pipeline import Candidates, RetrievalSystem
from c06_retrieval_tools.rerank import N_FOLDS, TRAIN_DEPTH, QueryExamples, cross_validated_rerank
from c06_retrieval_tools.timing import timed
from c06_retrieval_tools.trec import ranking

DEPTHS = (20, 50, 100, 200)  # K
RERANK_DEPTHS = (0, 10, 20, 30, 50, 100)  # K′ (0: no reranking)


@dataclass(frozen=True)
class AblationRow:
    depth: int  # K
    rerank_depth: int  # K′
    ndcg_at_10: float
    ms_per_query: float  # median wall-clock time of the whole pipeline per query


@dataclass
class AblationTable:
    collection: str
    n_queries: int
    rows: list[AblationRow]

    def markdown(self) -> str:
        lines = [f"K / K′ ablation on {self.collection} ({self.n_queries} queries, nDCG@10 by k-fold)\n",
                 "| K (per retriever) | K′ (reranked) | nDCG@10 | median ms/query |", "|---|---|---|---|"]
        lines += [f"| {r.depth} | {r.rerank_depth} | {r.ndcg_at_10:.4f} | {r.ms_per_query:.2f} |" for r in self.rows]
        return "\n".join(lines) + "\n"


def run_ablation(system: RetrievalSystem, extractor: FeatureExtractor, queries: Sequence[str] | None = None, *,
                 depths: Sequence[int] = DEPTHS, rerank_depths: Sequence[int] = RERANK_DEPTHS,
                 n_folds: int = N_FOLDS) -> AblationTable:
    """nDCG@10 and time per query for every (K, K′) with K′ <= 2K (a fused list has at most 2K documents)."""
    # BEGIN SOLUTION c06.7: per K: retrieve, fuse, features once (timed); per K′: time its features, k-fold
    collection = system.collection
    query_ids = list(queries) if queries is not None else collection.judged_queries()
    qrels = {q: collection.qrels.get(q, {}) for q in query_ids}
    feature_depth = max([TRAIN_DEPTH, *rerank_depths])
    encoded = {qid: timed(partial(system.query_vector, collection.queries[qid])) for qid in query_ids}
    rows = []
    for depth in depths:
        found_lists, examples, base_ms = [], [], []
        for qid in query_ids:
            text = collection.queries[qid]
            vector, encode_ms, _ = encoded[qid]
            bm25, bm25_ms, _ = timed(partial(system.bm25, text, depth))
            dense, dense_ms, _ = timed(partial(system.dense, text, depth, vector))
            found = Candidates(text, dict(bm25), dict(dense), vector)
            fused, fuse_ms, _ = timed(partial(reciprocal_rank_fusion, [found.bm25, found.dense]))
            order = ranking(fused)
            matrix = extractor.extract(text, vector, order[:feature_depth], found.bm25, found.dense,
                                       fused)  # every K′'s rows and the training rows, computed once
            found_lists.append(found)
            examples.append(QueryExamples(qid, order, matrix, fused))
            base_ms.append(encode_ms + bm25_ms + dense_ms + fuse_ms)
        run = {e.query_id: e.fused for e in examples}
        rows.append(AblationRow(depth, 0, evaluate_run(run, qrels, ["ndcg@10"])["ndcg@10"], float(np.median(base_ms))))
        for rerank_depth in (d for d in rerank_depths if 0 < d <= 2 * depth):
            extra_ms = [timed(partial(extractor.extract, f.query, f.vector, e.candidates[:rerank_depth], f.bm25,
                                      f.dense, e.fused))[1] for f, e in zip(found_lists, examples, strict=True)]
            reranked, _ = cross_validated_rerank(examples, qrels, rerank_depth, n_folds)
            ndcg = evaluate_run(reranked, qrels, ["ndcg@10"])["ndcg@10"]
            total_ms = np.array(base_ms) + np.array(extra_ms)  # (n_queries,) the whole pipeline per query
            rows.append(AblationRow(depth, rerank_depth, ndcg, float(np.median(total_ms))))
    return AblationTable(collection.name, len(query_ids), rows)
    # END SOLUTION


def plot_ablation(table: AblationTable, path: Path) -> Path:
    """Two panels against K′, one line per K: nDCG@10 (quality) and median ms per query (cost)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (quality, cost) = plt.subplots(1, 2, figsize=(10, 4))
    for depth in sorted({r.depth for r in table.rows}):
        rows = [r for r in table.rows if r.depth == depth]
        quality.plot([r.rerank_depth for r in rows], [r.ndcg_at_10 for r in rows], marker="o", label=f"K = {depth}")
        cost.plot([r.rerank_depth for r in rows], [r.ms_per_query for r in rows], marker="o", label=f"K = {depth}")
    quality.set_ylabel("nDCG@10 (k-fold over queries)")
    cost.set_ylabel("median ms per query (whole pipeline)")
    for axes in (quality, cost):
        axes.set_xlabel("K′, candidates reranked (0 = RRF only)")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(f"{table.collection}: candidate depth K per retriever vs rerank depth K′")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_ablation(table: AblationTable, out: Path) -> list[Path]:
    """ablation.md and ablation.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "ablation.md"
    markdown.write_text(table.markdown(), encoding="utf-8")
    return [markdown, plot_ablation(table, out / "ablation.png")]
