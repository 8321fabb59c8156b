"""Evaluate every retrieval (each mode and fusion) on a test collection: ``python -m c06_retrieval_tools.evaluate``.

::

    python -m c06_retrieval_tools.evaluate --collection cranfield
    python -m c06_retrieval_tools.evaluate --collection path/to/beir/folder --split test

For each retrieval (BM25, dense, and the hybrid mode with each fusion: hybrid RRF, hybrid
convex, hybrid RRF + rerank) it reports nDCG@10, MAP@100, recall@100 and MRR@10, the wall-clock latency per query
(p50, p95) and the CPU time per query (process CPU time, so two busy threads
count twice). Queries run one at a time; each stage of the pipeline (embed the
query, BM25 search, vector search, fusion, features, scoring) runs once per query
and is timed, and a retrieval's latency is the sum of the stages it needs, which is
what running each retrieval on its own would cost, without embedding every query five
times. The reranker's numbers come from k-fold cross-validation over queries
(:mod:`~c06_retrieval_tools.rerank`). Then the K / K′ ablation
(:mod:`~c06_retrieval_tools.ablation`) shows what candidate depth and rerank
depth buy against what they cost.

Outputs in ``--out`` (default ``build/c06-eval/<collection>``, ignored by git): ``results.md`` and
``results.json`` (the table), ``ablation.md`` and ``ablation.png``, and one TREC
run file per retrieval in ``runs/`` (``bm25.trec``, ..., ``hybrid_rrf_rerank.trec``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from c06_retrieval_tools.ablation import DEPTHS, RERANK_DEPTHS, run_ablation, write_ablation
from c06_retrieval_tools.collection import Collection, Run
from c06_retrieval_tools.datahome import DataFileError
from c06_retrieval_tools.features import FeatureExtractor
from c06_retrieval_tools.fusion import CANDIDATE_FACTOR, convex_combination, reciprocal_rank_fusion
from c06_retrieval_tools.loaders import load_collection
from c06_retrieval_tools.metrics import DEFAULT_MEASURES, evaluate_run
from c06_retrieval_tools.pipeline import RetrievalSystem
from c06_retrieval_tools.rerank import (
    DEFAULT_RERANK_DEPTH,
    N_FOLDS,
    TRAIN_DEPTH,
    QueryExamples,
    cross_validated_rerank,
    kfold,
    rerank,
)
from c06_retrieval_tools.timing import timed
from c06_retrieval_tools.trec import ranking, write_run

T = TypeVar("T")
EVAL_DEPTH = 100  # documents per query in each run (MAP@100 and recall@100 need 100)
# One row per retrieval: its name (the mode, then the fusion of the hybrid mode, as
# ``RetrievalSystem.search`` takes them) and its label in the table.
RUN_LABELS = {
    "bm25": "BM25 (tantivy)",
    "dense": "dense (MiniLM + Qdrant)",
    "hybrid_rrf": "hybrid RRF",
    "hybrid_convex": "hybrid convex (min-max)",
    "hybrid_rrf_rerank": "hybrid RRF + rerank",
}


@dataclass
class RetrievalResult:
    """One row of the table."""

    name: str  # a key of RUN_LABELS
    metrics: dict[str, float]
    latency_ms: list[float] = field(repr=False)  # wall clock per query
    cpu_ms: list[float] = field(repr=False)  # process CPU time per query

    def summary(self) -> dict[str, float]:
        wall = np.array(self.latency_ms) if self.latency_ms else np.zeros(1)
        cpu = np.array(self.cpu_ms) if self.cpu_ms else np.zeros(1)
        return {**self.metrics, "p50_ms": float(np.percentile(wall, 50)), "p95_ms": float(np.percentile(wall, 95)),
                "cpu_ms_per_query": float(cpu.mean())}


@dataclass
class Evaluation:
    """Every retrieval's run and numbers on one collection."""

    collection: str
    n_queries: int
    results: dict[str, RetrievalResult]
    runs: dict[str, Run]
    examples: list[QueryExamples] = field(repr=False, default_factory=list)


def build_extractor(system: RetrievalSystem) -> FeatureExtractor:
    """Reranker features over the system's collection (document and title vectors from the cache)."""
    documents = system.collection.documents
    doc_vectors = system.encoder.encode([d.text for d in documents])  # (n_docs, 384)
    title_vectors = system.encoder.encode([d.title for d in documents])  # (n_docs, 384)
    return FeatureExtractor(system.collection, doc_vectors, title_vectors)


# The stages of each retrieval: its latency for a query is the sum of its stages' times.
RUN_STAGES = {
    "bm25": ("bm25",),
    "dense": ("encode", "dense"),
    "hybrid_rrf": ("encode", "bm25", "dense", "rrf"),
    "hybrid_convex": ("encode", "bm25", "dense", "convex"),
    "hybrid_rrf_rerank": ("encode", "bm25", "dense", "rrf", "features", "score"),
}


def evaluate_system(system: RetrievalSystem, queries: Sequence[str] | None = None, *, top_k: int = 10,
                    rerank_depth: int = DEFAULT_RERANK_DEPTH, n_folds: int = N_FOLDS,
                    extractor: FeatureExtractor | None = None) -> Evaluation:
    """Every retrieval of ``RUN_LABELS`` over ``queries`` (default: the judged ones), one query at a time.

    The stages (embed the query, BM25 search, vector search, fuse, extract features, score) run
    once per query, each timed; a retrieval's latency is the sum of the stages it needs
    (``RUN_STAGES``). The hybrids fuse ``CANDIDATE_FACTOR * top_k`` candidates of each side. The
    ranker is trained by k-fold: its features come from the top ``TRAIN_DEPTH`` candidates of the
    training queries, computed outside the timed stages (training cost, not query cost).
    """
    # BEGIN SOLUTION c06.7: time each stage per query; retrievals sum their stages; rerank by k-fold; score
    collection = system.collection
    query_ids = list(queries) if queries is not None else collection.judged_queries()
    extractor = extractor or build_extractor(system)
    depth = CANDIDATE_FACTOR * top_k  # candidates per retriever for fusion
    retrieve = max(depth, EVAL_DEPTH)
    runs: dict[str, Run] = {name: {} for name in RUN_LABELS}
    wall: dict[str, list[float]] = {name: [] for name in RUN_LABELS}
    cpu: dict[str, list[float]] = {name: [] for name in RUN_LABELS}
    examples, stage_times = [], []
    for qid in query_ids:
        text = collection.queries[qid]
        times: dict[str, tuple[float, float]] = {}

        def stage(name: str, call: Callable[[], T]) -> T:
            result, wall_ms, cpu_ms = timed(call)
            times[name] = (wall_ms, cpu_ms)  # noqa: B023 - used within this iteration only
            return result

        vector = stage("encode", partial(system.query_vector, text))
        bm25 = dict(stage("bm25", partial(system.bm25, text, retrieve)))
        dense = dict(stage("dense", partial(system.dense, text, retrieve, vector)))
        bm25_top, dense_top = ({d: s[d] for d in ranking(s, depth)} for s in (bm25, dense))
        fused = stage("rrf", partial(reciprocal_rank_fusion, [bm25_top, dense_top]))
        convex = stage("convex", partial(convex_combination, [bm25_top, dense_top]))
        order = ranking(fused)
        rows = stage("features", partial(extractor.extract, text, vector, order[:rerank_depth], bm25_top, dense_top,
                                         fused))
        if len(rows) < min(len(order), TRAIN_DEPTH):  # training rows: not part of the query's latency
            deeper = extractor.extract(text, vector, order[len(rows):TRAIN_DEPTH], bm25_top, dense_top, fused)
            rows = np.vstack([rows, deeper])
        examples.append(QueryExamples(qid, order, rows, fused))
        stage_times.append(times)
        for name, scores in (("bm25", bm25), ("dense", dense), ("hybrid_rrf", fused), ("hybrid_convex", convex)):
            runs[name][qid] = {d: scores[d] for d in ranking(scores, EVAL_DEPTH)}
    _, models = cross_validated_rerank(examples, collection.qrels, rerank_depth, n_folds)
    model_of = {qid: models[i] for i, fold in enumerate(kfold(query_ids, n_folds)) for qid in fold}
    for example, times in zip(examples, stage_times, strict=True):
        scores, wall_ms, cpu_ms = timed(partial(rerank, example, model_of[example.query_id], rerank_depth))
        times["score"] = (wall_ms, cpu_ms)
        runs["hybrid_rrf_rerank"][example.query_id] = {d: scores[d] for d in ranking(scores, EVAL_DEPTH)}
        for name, stages in RUN_STAGES.items():
            wall[name].append(sum(times[s][0] for s in stages))
            cpu[name].append(sum(times[s][1] for s in stages))
    qrels = {q: collection.qrels.get(q, {}) for q in query_ids}
    results = {name: RetrievalResult(name, evaluate_run(runs[name], qrels), wall[name], cpu[name])
               for name in RUN_LABELS}
    return Evaluation(collection.name, len(query_ids), results, runs, examples)
    # END SOLUTION


def markdown_table(evaluation: Evaluation) -> str:
    """The results as a Markdown table (one row per retrieval)."""
    header = ["retrieval", *DEFAULT_MEASURES, "p50 ms", "p95 ms", "CPU ms/query"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, result in evaluation.results.items():
        s = result.summary()
        values = [f"{s[m]:.4f}" for m in DEFAULT_MEASURES]
        values += [f"{s['p50_ms']:.2f}", f"{s['p95_ms']:.2f}", f"{s['cpu_ms_per_query']:.2f}"]
        lines.append("| " + " | ".join([RUN_LABELS[name], *values]) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(evaluation: Evaluation, out: Path) -> list[Path]:
    """results.md, results.json and runs/<retrieval>.trec under ``out``."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    written = [out / "results.md", out / "results.json"]
    title = f"# {evaluation.collection}: {evaluation.n_queries} judged queries\n\n"
    written[0].write_text(title + markdown_table(evaluation), encoding="utf-8")
    summary = {"collection": evaluation.collection, "n_queries": evaluation.n_queries,
               "runs": {name: r.summary() for name, r in evaluation.results.items()}}
    written[1].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for name, run in evaluation.runs.items():
        written.append(write_run(run, out / "runs" / f"{name}.trec", tag=name))
    return written


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c06_retrieval_tools.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--collection", required=True, help="'cranfield' or a folder in the BEIR layout")
    parser.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/c06-eval/<collection>)")
    parser.add_argument("--workdir", type=Path, default=None, help="index folder (default <out>/index)")
    parser.add_argument("--top-k", type=int, default=10, help="results the user asks for (candidates: 10 top_k)")
    parser.add_argument("--rerank-depth", type=int, default=DEFAULT_RERANK_DEPTH, help="K′ (default 30)")
    parser.add_argument("--folds", type=int, default=N_FOLDS, help="cross-validation folds over queries")
    parser.add_argument("--qdrant-url", default=None, help="a Qdrant server instead of the embedded store")
    parser.add_argument("--no-ablation", action="store_true", help="skip the K / K′ ablation")
    parser.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS), help="ablation: K values")
    parser.add_argument("--rerank-depths", type=int, nargs="+", default=list(RERANK_DEPTHS),
                        help="ablation: K′ values (0 = no reranking)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def checked_collection(args: argparse.Namespace) -> Collection:
    """The collection the command evaluates, once its arguments are known to be usable.

    Raises ``ValueError`` (or the loader's ``OSError`` / ``DataFileError``) with a one-line reason
    when ``--top-k`` < 1, ``--rerank-depth`` < 0 or ``--folds`` < 2 (message: "need --top-k >= 1,
    --rerank-depth >= 0 and --folds >= 2"), when the collection or split does not load, or when it
    has fewer judged queries than folds ("<name> has N judged queries, fewer than --folds F"):
    k-fold needs at least one query per fold. It runs before any index is built, so bad input
    costs nothing.
    """
    # BEGIN SOLUTION c06.7: check the numbers, load the collection, then check it can fill every fold
    if args.top_k < 1 or args.rerank_depth < 0 or args.folds < 2:
        raise ValueError("need --top-k >= 1, --rerank-depth >= 0 and --folds >= 2")
    collection = load_collection(args.collection, args.split)
    if len(collection.judged_queries()) < args.folds:
        raise ValueError(f"{collection.name} has {len(collection.judged_queries())} judged queries, "
                         f"fewer than --folds {args.folds}")
    return collection
    # END SOLUTION


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (2 for bad input, with a one-line reason)."""
    args = parse_args(argv)
    try:
        collection = checked_collection(args)
    except (ValueError, OSError, DataFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = args.out or Path("build") / "c06-eval" / collection.name
    system = RetrievalSystem(collection, args.workdir or out / "index", qdrant_url=args.qdrant_url,
                             progress=not args.quiet)
    extractor = build_extractor(system)
    evaluation = evaluate_system(system, top_k=args.top_k, rerank_depth=args.rerank_depth, n_folds=args.folds,
                                 extractor=extractor)
    written = write_outputs(evaluation, out)
    print(f"\n{collection.name}: {evaluation.n_queries} judged queries\n")
    print(markdown_table(evaluation))
    if not args.no_ablation:
        table = run_ablation(system, extractor, depths=args.depths, rerank_depths=args.rerank_depths,
                             n_folds=args.folds)
        written += write_ablation(table, out)
        print(table.markdown())
    print("wrote " + ", ".join(str(p) for p in written[:4]) + f" and {len(written) - 4} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
