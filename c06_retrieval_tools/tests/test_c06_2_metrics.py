"""c06.2: nDCG@k, MAP@k, recall@k, MRR@k and P@k from scratch, and TREC run files.

Oracle: ir-measures 0.4.3 (pytrec_eval, i.e. trec_eval, for nDCG, AP, R and P; MS MARCO's script
for RR@k). The runs are real: a TF-IDF ranking of Cranfield computed here with scipy (independent of
the learner's BM25), once with its exact scores and once rounded to one decimal, which creates
many ties. trec_eval breaks ties by doc id in descending order; MS MARCO's script breaks them the
other way, so the RR@k oracle gets the run with ties already broken trec_eval's way.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import ir_measures
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_measures import AP, RR, P, R, nDCG

from c06_retrieval_tools import (
    Collection,
    Measure,
    Qrels,
    Run,
    average_precision_at_k,
    evaluate_run,
    ndcg_at_k,
    per_query,
    precision_at_k,
    ranking,
    read_qrels,
    read_run,
    recall_at_k,
    reciprocal_rank_at_k,
    write_qrels,
    write_run,
)

pytestmark = pytest.mark.task("c06.2")

# Same formulas, different summation order and float64 throughout: differences are rounding only,
# a few ulps of values in [0, 1]. 1e-9 leaves room for that and nothing else.
ORACLE_TOLERANCE = 1e-9
OURS = ["ndcg@10", "map@100", "recall@100", "mrr@10", "p@10", "ndcg@5", "recall@10"]
THEIRS = [nDCG @ 10, AP @ 100, R @ 100, RR @ 10, P @ 10, nDCG @ 5, R @ 10]
TFIDF_DEPTH = 100


def tfidf_run(collection: Collection) -> Run:
    """A real run: cosine TF-IDF over lowercased word tokens, top 100 per query."""
    vocab: dict[str, int] = {}

    def counts(text: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            column = vocab.setdefault(word, len(vocab))
            out[column] = out.get(column, 0) + 1
        return out

    docs = [counts(d.text) for d in collection.documents]
    queries = [counts(q) for q in collection.queries.values()]

    def matrix(rows: list[dict[int, int]]) -> sp.csr_matrix:
        r = [i for i, row in enumerate(rows) for _ in row]
        c = [col for row in rows for col in row]
        v = [float(n) for row in rows for n in row.values()]
        return sp.csr_matrix((v, (r, c)), shape=(len(rows), len(vocab)))

    d, q = matrix(docs), matrix(queries)
    idf = np.log(len(docs) / np.maximum(np.diff(d.tocsc().indptr), 1))
    d, q = d.multiply(idf).tocsr(), q.multiply(idf).tocsr()
    d = sp.diags(1 / np.maximum(np.sqrt(d.multiply(d).sum(1).A1), 1e-12)) @ d
    scores = (q @ d.T).toarray()  # (n_queries, n_docs)
    run: Run = {}
    for qid, row in zip(collection.queries, scores, strict=True):
        top = np.argsort(-row, kind="stable")[:TFIDF_DEPTH]
        run[qid] = {collection.documents[i].doc_id: float(row[i]) for i in top if row[i] > 0}
    return run


@pytest.fixture(scope="module")
def real_runs(cranfield: Collection) -> dict[str, Run]:
    exact = tfidf_run(cranfield)
    rounded = {q: {d: round(s, 1) for d, s in scores.items()} for q, scores in exact.items()}
    return {"exact": exact, "ties": rounded}


def untie(run: Run) -> Run:
    """The same ranking with distinct scores, ties broken as trec_eval breaks them (doc id descending)."""
    out: Run = {}
    for qid, scores in run.items():
        ordered = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)
        out[qid] = {doc: float(len(ordered) - rank) for rank, (doc, _) in enumerate(ordered)}
    return out


def oracle(run: Run, qrels: Qrels) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = {name: {} for name in OURS}
    for metric in ir_measures.iter_calc(THEIRS, qrels, untie(run)):
        values[OURS[THEIRS.index(metric.measure)]][metric.query_id] = metric.value
    return values


def test_agreement_with_ir_measures_on_real_runs(real_runs: dict[str, Run], cranfield: Collection, metric):
    worst = 0.0
    for run in real_runs.values():
        ours, theirs = per_query(run, cranfield.qrels, OURS), oracle(run, cranfield.qrels)
        for name in OURS:
            for qid, value in theirs[name].items():
                worst = max(worst, abs(ours[name][qid] - value))
            assert set(theirs[name]) <= set(ours[name])
    metric("metrics_max_abs_diff_vs_ir_measures", worst)


def test_ties_are_broken_like_trec_eval(real_runs: dict[str, Run], cranfield: Collection):
    """pytrec_eval on the raw run with ties (no untying) sees the same order as we do."""
    run = real_runs["ties"]
    ours = per_query(run, cranfield.qrels, ["ndcg@10", "map@100"])
    for metric in ir_measures.iter_calc([nDCG @ 10, AP @ 100], cranfield.qrels, run):
        name = "ndcg@10" if metric.measure == nDCG @ 10 else "map@100"
        assert ours[name][metric.query_id] == pytest.approx(metric.value, abs=ORACLE_TOLERANCE)


def test_means_equal_ir_measures_aggregates(real_runs: dict[str, Run], cranfield: Collection):
    ours = evaluate_run(real_runs["exact"], cranfield.qrels, OURS)
    theirs = ir_measures.calc_aggregate(THEIRS, cranfield.qrels, untie(real_runs["exact"]))
    for name, measure in zip(OURS, THEIRS, strict=True):
        assert ours[name] == pytest.approx(theirs[measure], abs=ORACLE_TOLERANCE)


def test_hand_computed_values():
    judged = {"a": 3, "b": 0, "c": 1, "d": 2}
    ranked = ["x", "a", "b", "c"]  # relevant at ranks 2 and 4; "d" never retrieved
    assert precision_at_k(ranked, judged, 2) == 0.5
    assert precision_at_k(ranked, judged, 10) == 0.2  # divided by k, not by the number retrieved
    assert recall_at_k(ranked, judged, 4) == pytest.approx(2 / 3)
    assert reciprocal_rank_at_k(ranked, judged, 10) == 0.5
    assert reciprocal_rank_at_k(ranked, judged, 1) == 0.0
    assert average_precision_at_k(ranked, judged, 100) == pytest.approx((1 / 2 + 2 / 4) / 3)
    dcg = 3 / math.log2(3) + 1 / math.log2(5)
    idcg = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, judged, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["a", "d", "c"], judged, 3) == pytest.approx(1.0)
    for function in (precision_at_k, recall_at_k, reciprocal_rank_at_k, average_precision_at_k, ndcg_at_k):
        assert function(ranked, {"a": 0}, 10) == 0.0  # no relevant document: 0, not a division by zero
        with pytest.raises(ValueError, match="the cutoff k must be a positive int"):
            function(ranked, judged, 0)


def test_queries_missing_from_the_run_score_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 2}, "q3": {"c": 0}}  # q3 has no relevant document: not averaged
    run = {"q1": {"a": 1.0}, "q9": {"z": 1.0}}
    assert evaluate_run(run, qrels, ["ndcg@10", "mrr@10"]) == {"ndcg@10": 0.5, "mrr@10": 0.5}
    assert set(per_query(run, qrels)["ndcg@10"]) == {"q1", "q2"}


def test_measure_names():
    assert Measure.parse(" NDCG@10 ") == Measure("ndcg", 10) and str(Measure("map", 100)) == "map@100"
    for bad in ("ndcg", "ndcg@0", "bpref@10", "ndcg@x"):
        with pytest.raises(ValueError, match="unknown measure"):
            Measure.parse(bad)


def test_trec_round_trip_keeps_the_evaluation(real_runs: dict[str, Run], cranfield: Collection, tmp_path: Path):
    run = real_runs["ties"]
    path = write_run(run, tmp_path / "run.trec", tag="tfidf")
    first = path.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "tfidf"
    assert read_run(path) == run
    assert evaluate_run(read_run(path), cranfield.qrels, OURS) == evaluate_run(run, cranfield.qrels, OURS)
    theirs = ir_measures.calc_aggregate([nDCG @ 10], read_qrels(write_qrels(cranfield.qrels, tmp_path / "q")),
                                        ir_measures.read_trec_run(str(path)))
    assert theirs[nDCG @ 10] == pytest.approx(evaluate_run(run, cranfield.qrels)["ndcg@10"], abs=ORACLE_TOLERANCE)


def test_full_precision_survives_the_file(tmp_path: Path):
    run = {"q": {"a": 0.1 + 1e-15, "b": 0.1, "c": np.float64(1 / 3)}}
    back = read_run(write_run(run, tmp_path / "r"))
    assert back == {"q": {"a": 0.1 + 1e-15, "b": 0.1, "c": 1 / 3}}
    assert ranking(back["q"]) == ["c", "a", "b"]
    assert write_run(run, tmp_path / "r2", depth=2).read_text().count("\n") == 2


def test_ranking_order_and_nan():
    assert ranking({"a": 1.0, "b": 2.0, "c": 1.0, "d": 1.0}) == ["b", "d", "c", "a"]
    assert ranking({"a": 1.0, "b": 2.0}, depth=1) == ["b"]
    with pytest.raises(ValueError, match="document 'x' has a NaN score"):
        ranking({"x": float("nan")})


def test_bad_run_files_name_file_and_line(tmp_path: Path):
    cases = {
        "q Q0 d 1 0.5\n": "expected 'query Q0 doc rank score tag', got 5 columns",
        "q Q0 d 1 high t\n": "score 'high' is not a number",
        "q Q0 d 1 nan t\n": "score 'nan' is not finite",
        "q Q0 d 1 1.0 t\nq Q0 d 2 0.5 t\n": "document 'd' listed twice for query 'q'",
    }
    for number, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"bad{number}"
        path.write_text("\n" + text)
        with pytest.raises(ValueError, match=rf"{path}:\d: {re.escape(message)}"):
            read_run(path)
    with pytest.raises(ValueError, match="ids in a TREC run must be non-empty words"):
        write_run({"q 1": {"d": 1.0}}, tmp_path / "x")
    with pytest.raises(ValueError, match="run tag must be a non-empty word"):
        write_run({"q": {"d": 1.0}}, tmp_path / "x", tag="my run")


gains = st.dictionaries(st.sampled_from("abcdefghij"), st.integers(0, 3), min_size=1)
scores = st.dictionaries(st.sampled_from("abcdefghijklmn"), st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]))


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(judged=gains, scored=scores, k=st.integers(1, 12))
def test_property_agreement_and_bounds(judged: dict[str, int], scored: dict[str, float], k: int):
    qrels, run = {"q": judged}, {"q": scored}
    ours = per_query(run, qrels, [f"ndcg@{k}", f"map@{k}", f"recall@{k}", f"mrr@{k}", f"p@{k}"])
    if not any(g > 0 for g in judged.values()):
        assert all(not values for values in ours.values())
        return
    measures = [nDCG @ k, AP @ k, R @ k, RR @ k, P @ k]
    theirs = {m.measure: m.value for m in ir_measures.iter_calc(measures, qrels, untie(run))} if scored else {}
    for values, measure in zip(ours.values(), measures, strict=True):
        value = values["q"]
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(theirs.get(measure, 0.0), abs=ORACLE_TOLERANCE)
    ideal = {d: float(g) for d, g in judged.items()}
    assert per_query({"q": ideal}, qrels, [f"ndcg@{k}"])[f"ndcg@{k}"]["q"] == pytest.approx(1.0)
