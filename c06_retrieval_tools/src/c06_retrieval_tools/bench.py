"""Benchmark indexing and query latency: ``python -m c06_retrieval_tools.bench``.

Two collections:

* **Cranfield** (1400 abstracts, its 225 queries): index build throughput for
  BM25 (tantivy) and for embeddings (MiniLM, computed fresh, not from the cache),
  then query latency p50/p95/p99 for each mode (BM25, dense through embedded
  Qdrant, dense through numpy, hybrid RRF, hybrid convex), one query at a time,
  query embedding included;
* **synthetic, 100,000 documents**: embedding 100,000 texts with MiniLM on two
  CPU cores would take over an hour, so the vector stores get *random unit
  vectors* (384-d, the MiniLM width) and BM25 gets *synthetic text* (pseudo-words
  drawn from a Zipf distribution, 100 tokens per document). Latencies there are
  the vector search and the BM25 search alone.

For the vector stores the "x numpy" column is the p50 latency divided by that of
the brute-force numpy baseline on the same collection and queries (> 1: slower
than numpy). Each timing is wall clock, after one untimed warm-up query. Run it
on an idle machine and read small differences as noise.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools.bm25_tantivy import TantivyBM25
from c06_retrieval_tools.collection import Collection, Document
from c06_retrieval_tools.encoder import MiniLMEncoder
from c06_retrieval_tools.features import FeatureExtractor
from c06_retrieval_tools.fusion import CANDIDATE_FACTOR, convex_combination, reciprocal_rank_fusion
from c06_retrieval_tools.rerank import DEFAULT_RERANK_DEPTH, TRAIN_DEPTH, LinearRanker, QueryExamples, gains_of, rerank
from c06_retrieval_tools.timing import percentiles, timed
from c06_retrieval_tools.trec import ranking
from c06_retrieval_tools.vector_store import NumpyStore, QdrantStore

SYNTHETIC_DOCS = 100_000
QUICK_SYNTHETIC_DOCS = 10_000
VOCABULARY = 30_000
DOC_TOKENS = 100
K = 10


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    collection: str
    n_docs: int
    what: str
    build_per_s: float | None = None  # documents (or vectors) indexed per second
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    x_numpy: float | None = None  # p50 / p50 of the numpy baseline on the same collection


def latency_row(collection: str, n_docs: int, what: str, call: Callable[[str], object], queries: Sequence[str],
                build_per_s: float | None = None) -> Row:
    """Time ``call`` on each query (after one untimed warm-up call)."""
    call(queries[0])
    times = [timed(partial(call, query))[1] for query in queries]
    p = percentiles(times)
    return Row(collection, n_docs, what, build_per_s, p["p50"], p["p95"], p["p99"])


def with_ratio(row: Row, baseline: Row) -> Row:
    ratio = row.p50_ms / baseline.p50_ms if row.p50_ms and baseline.p50_ms else None
    return Row(row.collection, row.n_docs, row.what, row.build_per_s, row.p50_ms, row.p95_ms, row.p99_ms, ratio)


def synthetic_texts(n_docs: int, rng: np.random.Generator) -> list[str]:
    """Documents of DOC_TOKENS pseudo-words drawn from a Zipf law over VOCABULARY words."""
    words = np.array([f"w{i}" for i in range(VOCABULARY)])
    ranks = np.minimum(rng.zipf(1.2, size=(n_docs, DOC_TOKENS)), VOCABULARY) - 1
    return [" ".join(row) for row in words[ranks]]


def unit_vectors(n: int, dimension: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """(n, dimension) random directions: Gaussian rows, normalised."""
    vectors = rng.standard_normal((n, dimension)).astype(np.float32)
    unit: NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def bench_cranfield(collection: Collection, encoder: MiniLMEncoder, workdir: Path, n_queries: int,
                    embed_sample: int) -> list[Row]:
    """Build throughput and per-mode latency on a real collection."""
    name, n = collection.name, len(collection)
    queries = list(collection.queries.values())[:n_queries]
    bm25 = TantivyBM25.create(workdir / "bm25")
    _, bm25_ms, _ = timed(lambda: bm25.add(collection.documents))
    sample = [d.text for d in collection.documents[:embed_sample]]
    fresh = MiniLMEncoder(encoder.folder, cache=False)
    _, embed_ms, _ = timed(lambda: fresh.encode(sample))
    vectors = encoder.encode([d.text for d in collection.documents])  # (n, 384), from the cache
    qdrant = QdrantStore(f"bench-{name}", encoder.dimension, path=workdir / "qdrant")
    _, qdrant_ms, _ = timed(lambda: qdrant.add(collection.doc_ids, vectors))
    brute = NumpyStore(encoder.dimension)
    _, numpy_ms, _ = timed(lambda: brute.add(collection.doc_ids, vectors))
    depth = CANDIDATE_FACTOR * K

    def dense(store: QdrantStore | NumpyStore, text: str, k: int = K) -> dict[str, float]:
        return dict(store.search(fresh.encode([text])[0], k))

    def hybrid(text: str, fuse: Callable[..., dict[str, float]]) -> dict[str, float]:
        return fuse([dict(bm25.search(text, depth)), dense(qdrant, text, depth)])

    baseline = latency_row(name, n, "dense: numpy brute force", lambda q: dense(brute, q), queries,
                           1000 * n / numpy_ms)
    qdrant_row = latency_row(name, n, "dense: Qdrant embedded", lambda q: dense(qdrant, q), queries,
                             1000 * n / qdrant_ms)
    rows = [
        Row(name, n, "embeddings: MiniLM (fresh)", 1000 * len(sample) / embed_ms),
        latency_row(name, n, "BM25: tantivy", lambda q: bm25.search(q, K), queries, 1000 * n / bm25_ms),
        with_ratio(qdrant_row, baseline),
        with_ratio(baseline, baseline),
        latency_row(name, n, "hybrid RRF (Qdrant)", lambda q: hybrid(q, reciprocal_rank_fusion), queries),
        latency_row(name, n, "hybrid convex (Qdrant)", lambda q: hybrid(q, convex_combination), queries),
    ]
    judged = collection.judged_queries()[:n_queries]
    if judged:  # the reranker needs judgments to learn from (here: timing only, so trained on every query)
        extractor = FeatureExtractor(collection, vectors, encoder.encode([d.title for d in collection.documents]))

        def examples(text: str, query_id: str = "q", rows: int = DEFAULT_RERANK_DEPTH) -> QueryExamples:
            vector = fresh.encode([text])[0]
            lexical, semantic = dict(bm25.search(text, depth)), dict(qdrant.search(vector, depth))
            fused = reciprocal_rank_fusion([lexical, semantic])
            order = ranking(fused)
            features = extractor.extract(text, vector, order[:rows], lexical, semantic, fused)
            return QueryExamples(query_id, order, features, fused)

        train = [examples(collection.queries[q], q, TRAIN_DEPTH) for q in judged]
        ranker = LinearRanker().fit([e.features for e in train],
                                    [gains_of(e, collection.qrels, TRAIN_DEPTH) for e in train])
        rows.append(latency_row(name, n, f"hybrid RRF + rerank top {DEFAULT_RERANK_DEPTH}",
                                lambda q: rerank(examples(q), ranker, DEFAULT_RERANK_DEPTH), queries))
    return rows


def bench_synthetic(n_docs: int, workdir: Path, n_queries: int, dimension: int, seed: int) -> list[Row]:
    """BM25 over synthetic text and vector search over random unit vectors, n_docs each."""
    rng = np.random.default_rng(seed)
    name = "synthetic"
    texts = synthetic_texts(n_docs, rng)
    documents = [Document(str(i), "", text) for i, text in enumerate(texts)]
    bm25 = TantivyBM25.create(workdir / "bm25-synthetic")
    _, bm25_ms, _ = timed(lambda: bm25.add(documents))
    queries = [" ".join(f"w{int(w)}" for w in rng.integers(0, 2000, size=5)) for _ in range(n_queries)]
    rows = [latency_row(name, n_docs, "BM25: tantivy", lambda q: bm25.search(q, K), queries, 1000 * n_docs / bm25_ms)]
    vectors = unit_vectors(n_docs, dimension, rng)
    ids = [str(i) for i in range(n_docs)]
    brute = NumpyStore(dimension)
    _, numpy_ms, _ = timed(lambda: brute.add(ids, vectors))
    qdrant = QdrantStore("bench-synthetic", dimension, path=workdir / "qdrant-synthetic")
    with warnings.catch_warnings():  # "local mode is not recommended above 20,000 points": measured here
        warnings.simplefilter("ignore", UserWarning)
        _, qdrant_ms, _ = timed(lambda: qdrant.add(ids, vectors))
    query_vectors = unit_vectors(n_queries, dimension, rng)
    by_key = {str(i): v for i, v in enumerate(query_vectors)}
    keys = list(by_key)
    baseline = latency_row(name, n_docs, "vector search: numpy brute force", lambda q: brute.search(by_key[q], K),
                           keys, 1000 * n_docs / numpy_ms)
    qdrant_row = latency_row(name, n_docs, "vector search: Qdrant embedded", lambda q: qdrant.search(by_key[q], K),
                             keys, 1000 * n_docs / qdrant_ms)
    texts_of = dict(zip(keys, queries, strict=True))

    def hybrid(key: str) -> dict[str, float]:  # latency only: random vectors carry no meaning
        depth = CANDIDATE_FACTOR * K
        lexical, semantic = bm25.search(texts_of[key], depth), qdrant.search(by_key[key], depth)
        return reciprocal_rank_fusion([dict(lexical), dict(semantic)])

    hybrid_row = latency_row(name, n_docs, "hybrid RRF (BM25 + Qdrant)", hybrid, keys)
    return [*rows, with_ratio(qdrant_row, baseline), with_ratio(baseline, baseline), hybrid_row]


def run_benchmark(collection: Collection | None = None, *, synthetic_docs: int = SYNTHETIC_DOCS,
                  n_queries: int = 200, embed_sample: int = 256, seed: int = 0) -> list[Row]:
    """Every row of the table (no printing); Cranfield unless ``collection`` is given."""
    if synthetic_docs < 1 or n_queries < 1 or embed_sample < 1:
        raise ValueError("synthetic_docs, n_queries and embed_sample must be >= 1")
    if collection is None:
        from c06_retrieval_tools.loaders import load_cranfield

        collection = load_cranfield()
    encoder = MiniLMEncoder()
    with tempfile.TemporaryDirectory(prefix="c06-bench-") as tmp:
        rows = bench_cranfield(collection, encoder, Path(tmp), n_queries, embed_sample)
        rows += bench_synthetic(synthetic_docs, Path(tmp), n_queries, encoder.dimension, seed)
    return rows


def format_table(rows: Sequence[Row], plain: bool = False) -> str:
    """The rows as a rich table (or plain Markdown with ``plain``)."""
    header = ["collection", "docs", "what", "build docs/s", "p50 ms", "p95 ms", "p99 ms", "x numpy"]

    def cell(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    body = [[r.collection, f"{r.n_docs:,}", r.what, cell(r.build_per_s, 0), cell(r.p50_ms), cell(r.p95_ms),
             cell(r.p99_ms), cell(r.x_numpy)] for r in rows]
    if plain:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in body)]) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title="c06 retrieval benchmark (wall clock per query, k = 10)")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i in (0, 2) else "right")
    for row in body:
        table.add_row(*row)
    console = Console(width=140, record=True)
    with console.capture() as capture:
        console.print(table)
    return capture.get()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c06_retrieval_tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic-docs", type=int, default=SYNTHETIC_DOCS)
    parser.add_argument("--queries", type=int, default=200, help="queries timed per row")
    parser.add_argument("--embed-sample", type=int, default=256, help="documents embedded to time MiniLM")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SYNTHETIC_DOCS:,} synthetic documents")
    parser.add_argument("--plain", action="store_true", help="print Markdown instead of a rich table")
    args = parser.parse_args(argv)
    synthetic = QUICK_SYNTHETIC_DOCS if args.quick else args.synthetic_docs
    rows = run_benchmark(synthetic_docs=synthetic, n_queries=args.queries, embed_sample=args.embed_sample)
    print(format_table(rows, plain=args.plain), end="")
    print("synthetic: Zipf pseudo-word text for BM25, random 384-d unit vectors for the vector stores "
          "(not MiniLM embeddings); x numpy = p50 / p50 of numpy brute force on the same data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
