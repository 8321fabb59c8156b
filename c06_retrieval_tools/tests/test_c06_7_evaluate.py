"""c06.7: the evaluation over every mode, the command line and the K / K′ ablation.

The full evaluation runs once per session on all 225 Cranfield queries (about 15 s: each stage
of the pipeline runs once per query, timed, and each mode sums the stages it needs). The command
line is tried on a generated BEIR-layout folder (a slice of Cranfield) and on bad input. Timings
are checked for shape and sanity only, never for speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c06_retrieval_tools import (
    Collection,
    MiniLMEncoder,
    RetrievalSystem,
    Run,
    evaluate_run,
    load_beir,
    read_run,
    run_ablation,
    write_beir,
)
from c06_retrieval_tools.evaluate import RUN_LABELS, Evaluation, build_extractor, evaluate_system, main, markdown_table

pytestmark = pytest.mark.task("c06.7")

MEASURES = ("ndcg@10", "map@100", "recall@100", "mrr@10")
# The dense run of c06.4 embeds the queries in batches (with padding), the pipeline one at a time:
# float32 differences of ~1e-7 can swap two near-tied documents, which moves nDCG@10 by < 1e-3.
SAME_RUN_TOLERANCE = 2e-3


@pytest.fixture(scope="session")
def cranfield_system(cranfield: Collection, encoder: MiniLMEncoder,
                     tmp_path_factory: pytest.TempPathFactory) -> RetrievalSystem:
    return RetrievalSystem(cranfield, tmp_path_factory.mktemp("cranfield-system"), encoder)


@pytest.fixture(scope="session")
def evaluation(cranfield_system: RetrievalSystem) -> Evaluation:
    return evaluate_system(cranfield_system)


def test_evaluation_of_every_mode(evaluation: Evaluation, metric):
    assert evaluation.n_queries == 225 and list(evaluation.results) == list(RUN_LABELS)
    for mode, result in evaluation.results.items():
        summary = result.summary()
        assert set(MEASURES) <= set(summary) and all(0 < summary[m] <= 1 for m in MEASURES)
        assert len(result.latency_ms) == len(result.cpu_ms) == 225
        assert all(t > 0 for t in result.latency_ms) and all(t >= 0 for t in result.cpu_ms)
        assert 0 < summary["p50_ms"] <= summary["p95_ms"]
        assert all(len(scores) == 100 for scores in evaluation.runs[mode].values())
    ndcg = {mode: r.metrics["ndcg@10"] for mode, r in evaluation.results.items()}
    assert ndcg["hybrid_rrf_rerank"] > ndcg["hybrid_rrf"] > max(ndcg["bm25"], ndcg["dense"])
    assert ndcg["hybrid_convex"] > max(ndcg["bm25"], ndcg["dense"])
    metric("evaluation_rerank_ndcg_at_10", ndcg["hybrid_rrf_rerank"])


def test_evaluation_equals_the_runs_of_each_task(evaluation: Evaluation, bm25_run: Run, dense_run: Run,
                                                 cranfield: Collection):
    assert evaluation.results["bm25"].metrics == evaluate_run(bm25_run, cranfield.qrels)  # the same index and query
    dense = evaluate_run(dense_run, cranfield.qrels)
    for measure in MEASURES:
        assert evaluation.results["dense"].metrics[measure] == pytest.approx(dense[measure], abs=SAME_RUN_TOLERANCE)


def test_markdown_table(evaluation: Evaluation):
    lines = markdown_table(evaluation).splitlines()
    assert lines[0].startswith("| retrieval | ndcg@10 | map@100 | recall@100 | mrr@10 | p50 ms | p95 ms | CPU ms/query")
    assert len(lines) == 2 + len(RUN_LABELS)
    assert lines[2].startswith("| BM25 (tantivy) | 0.3")


@pytest.fixture(scope="module")
def beir_folder(cranfield: Collection, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cranfield's first 150 documents as a BEIR folder, with the queries judged on them."""
    docs = cranfield.documents[:150]
    ids = {d.doc_id for d in docs}
    qrels = {q: {d: g for d, g in judged.items() if d in ids} for q, judged in cranfield.qrels.items()}
    qrels = {q: judged for q, judged in qrels.items() if any(g > 0 for g in judged.values())}
    collection = Collection("slice", docs, {q: cranfield.queries[q] for q in qrels}, qrels)
    return write_beir(collection, tmp_path_factory.mktemp("beir") / "cran150")


def test_command_on_a_beir_folder(beir_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "out"
    status = main(["--collection", str(beir_folder), "--out", str(out), "--folds", "3", "--quiet",
                   "--depths", "10", "20", "--rerank-depths", "0", "5", "10", "30"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "hybrid RRF + rerank" in printed and "K / K′ ablation on cran150" in printed
    summary = json.loads((out / "results.json").read_text())
    assert summary["collection"] == "cran150" and set(summary["runs"]) == set(RUN_LABELS)
    for name, numbers in summary["runs"].items():
        run = read_run(out / "runs" / f"{name}.trec")
        assert len(run) == summary["n_queries"]
        assert {"p50_ms", "p95_ms", "cpu_ms_per_query", *MEASURES} <= set(numbers)
    assert (out / "results.md").read_text().count("\n| ") == len(RUN_LABELS) + 1
    ablation = (out / "ablation.md").read_text()
    assert ablation.count("\n| 10 | ") == 3 and ablation.count("\n| 20 | ") == 4  # K' <= 2K only
    assert (out / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "index" / "bm25" / "meta.json").is_file()


def test_command_scores_its_runs_with_the_metrics(beir_folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert main(["--collection", str(beir_folder), "--out", str(out), "--folds", "2", "--quiet",
                 "--no-ablation", "--workdir", str(tmp_path / "index")]) == 0
    summary = json.loads((out / "results.json").read_text())
    qrels = load_beir(beir_folder).qrels
    for name in RUN_LABELS:
        ours = evaluate_run(read_run(out / "runs" / f"{name}.trec"), qrels)
        for measure in MEASURES:
            assert summary["runs"][name][measure] == pytest.approx(ours[measure], abs=1e-12)
    assert not (out / "ablation.md").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--collection", "msmarco"], "unknown collection 'msmarco'"),
    (["--collection", "cranfield", "--folds", "1"], "--folds >= 2"),
    (["--collection", "cranfield", "--top-k", "0"], "--top-k >= 1"),
    (["--collection", "cranfield", "--folds", "500"], "225 judged queries, fewer than --folds 500"),
])
def test_command_bad_input(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_ablation_on_a_subset(cranfield_system: RetrievalSystem, cranfield: Collection):
    queries = cranfield.judged_queries()[:30]
    table = run_ablation(cranfield_system, build_extractor(cranfield_system), queries, depths=[5, 50],
                         rerank_depths=[0, 10, 20], n_folds=3)
    assert [(r.depth, r.rerank_depth) for r in table.rows] == [(5, 0), (5, 10), (50, 0), (50, 10), (50, 20)]
    assert all(0 <= r.ndcg_at_10 <= 1 and r.ms_per_query > 0 for r in table.rows)
    assert table.n_queries == 30 and "| 50 | 20 |" in table.markdown()

