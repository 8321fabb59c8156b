"""c06.2 (hidden): measures against ir-measures on many random runs with ties, and run-file edges."""

from __future__ import annotations

from pathlib import Path

import ir_measures
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_measures import AP, RR, P, R, nDCG

from c06_retrieval_tools import evaluate_run, per_query, ranking, read_qrels, read_run, write_qrels, write_run

pytestmark = pytest.mark.task("c06.2")

ORACLE_TOLERANCE = 1e-9  # same formulas, float64, different summation order
DOCS = [f"D{i:02d}" for i in range(25)]


def untie(run):
    return {q: {d: float(-rank) for rank, d in enumerate(ranking(scores))} for q, scores in run.items()}


@settings(deadline=None, max_examples=80, derandomize=True, database=None)
@given(
    qrels=st.dictionaries(st.sampled_from(["q1", "q2", "q3"]),
                          st.dictionaries(st.sampled_from(DOCS), st.integers(0, 4), min_size=1), min_size=1),
    run=st.dictionaries(st.sampled_from(["q1", "q2", "q3", "q4"]),
                        st.dictionaries(st.sampled_from(DOCS), st.integers(-3, 3).map(float), min_size=1)),
    k=st.sampled_from([1, 3, 5, 10, 20, 100]),
)
def test_many_queries_with_ties(qrels, run, k):
    names = [f"ndcg@{k}", f"map@{k}", f"recall@{k}", f"mrr@{k}", f"p@{k}"]
    measures = [nDCG @ k, AP @ k, R @ k, RR @ k, P @ k]
    ours = per_query(run, qrels, names)
    theirs = {(m.measure, m.query_id): m.value for m in ir_measures.iter_calc(measures, qrels, untie(run))}
    for name, measure in zip(names, measures, strict=True):
        for qid, value in ours[name].items():
            assert value == pytest.approx(theirs.get((measure, qid), 0.0), abs=ORACLE_TOLERANCE)


def test_run_and_qrels_files_with_odd_whitespace(tmp_path: Path):
    path = tmp_path / "run"
    path.write_text("q1\tQ0\td1\t1\t2.5\tx\n\n  q1 Q0 d2 2 -1e-3 x  \nq2 Q0 d1 1 7 x\n")
    assert read_run(path) == {"q1": {"d1": 2.5, "d2": -0.001}, "q2": {"d1": 7.0}}
    qrels = {"q1": {"d1": 2, "d9": 0}, "q2": {"d3": 1}}
    assert read_qrels(write_qrels(qrels, tmp_path / "qrels")) == qrels
    (tmp_path / "bad").write_text("q1 0 d1\n")
    with pytest.raises(ValueError, match=r"bad:1: expected 'query iteration doc gain'"):
        read_qrels(tmp_path / "bad")
    assert evaluate_run({}, qrels) == {"ndcg@10": 0.0, "map@100": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    assert evaluate_run({}, {}) == {"ndcg@10": 0.0, "map@100": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_empty_run_file_and_depth(tmp_path: Path):
    assert read_run(write_run({}, tmp_path / "empty")) == {}
    run = {"q": {f"d{i}": float(i) for i in range(30)}}
    assert len(read_run(write_run(run, tmp_path / "cut", depth=7))["q"]) == 7
    assert ranking(run["q"], depth=3) == ["d29", "d28", "d27"]
