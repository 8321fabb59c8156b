"""c06.6: the benchmark's table (given code in ``bench.py``) over the retrievers and the reranker.

The benchmark times every retriever of c06.3-c06.5 and the reranker of c06.6 on Cranfield and on
synthetic documents; here it runs on tiny sizes and only the table's structure is checked (rows,
document counts, ordered percentiles, the numpy ratio), never speed.
"""

from __future__ import annotations

import pytest

from c06_retrieval_tools import Collection, bench

pytestmark = pytest.mark.task("c06.6")


def test_benchmark_table_structure(cranfield: Collection, capsys: pytest.CaptureFixture[str]):
    docs = cranfield.documents[:100]
    ids = {d.doc_id for d in docs}
    qrels = {q: {d: g for d, g in cranfield.qrels[q].items() if d in ids} for q in list(cranfield.queries)[:5]}
    small = Collection("cran100", docs, {q: cranfield.queries[q] for q in qrels}, qrels)
    rows = bench.run_benchmark(small, synthetic_docs=300, n_queries=4, embed_sample=3)
    whats = [(r.collection, r.what) for r in rows]
    assert ("cran100", "BM25: tantivy") in whats and ("synthetic", "vector search: Qdrant embedded") in whats
    assert ("cran100", "hybrid RRF + rerank top 30") in whats and ("synthetic", "hybrid RRF (BM25 + Qdrant)") in whats
    for row in rows:
        assert row.n_docs == (100 if row.collection == "cran100" else 300)
        assert row.build_per_s is None or row.build_per_s > 0
        assert row.p50_ms is None or 0 < row.p50_ms <= row.p95_ms <= row.p99_ms  # type: ignore[operator]
    ratios = {r.what: r.x_numpy for r in rows if r.collection == "synthetic" and r.x_numpy is not None}
    assert ratios["vector search: numpy brute force"] == 1.0 and ratios["vector search: Qdrant embedded"] > 0
    text = bench.format_table(rows)
    assert "c06 retrieval benchmark" in text and "Qdrant embedded" in text
    assert bench.format_table(rows, plain=True).count("\n") == len(rows) + 2
    with pytest.raises(ValueError, match="must be >= 1"):
        bench.run_benchmark(small, synthetic_docs=0)
