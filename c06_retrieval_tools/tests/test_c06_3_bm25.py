"""c06.3: BM25 with tantivy (index on disk, raw queries, snippets) and the same BM25 from scratch.

Oracle for the scratch model: tantivy itself. The engine computes in f32 and stores document
lengths in one byte; the scratch model copies the byte encoding and computes in f64, so scores
agree to about 1e-5 (tolerance 1e-4, the acceptance's). Rankings agree except where two documents'
scores are closer than that tolerance (ties, which the two sides may order differently).
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import (
    FIELDNORM_TABLE,
    MAX_QUERY_TERMS,
    BadIndexError,
    Collection,
    Document,
    Run,
    ScratchBM25,
    TantivyBM25,
    evaluate_run,
    quantize_length,
)

pytestmark = pytest.mark.task("c06.3")

SCORE_TOLERANCE = 1e-4  # f32 in the engine vs f64 here, ~20 additions per score
TOP_K = 100
RAW_QUERIES = [
    "", "   ", "?!.,;:", "the of and", '"unbalanced quote', "(chapman-enskog theory) .", "title:flow AND",
    "flow^3 +shock -wing", "[1 TO 5]", "a* ~2 \\", "OR AND NOT", "ünïcödé flöw", "x" * 200, "\x00\t\n",
]


@pytest.fixture(scope="module")
def scratch(cranfield: Collection) -> ScratchBM25:
    return ScratchBM25().fit(cranfield.documents)


def test_bm25_ndcg_at_10(bm25_run: Run, cranfield: Collection, metric):
    assert len(bm25_run) == len(cranfield.queries)
    assert all(len(scores) == TOP_K for scores in bm25_run.values())
    metric("bm25_ndcg_at_10", evaluate_run(bm25_run, cranfield.qrels)["ndcg@10"])


def test_scratch_bm25_scores_what_tantivy_scores(bm25_run: Run, scratch: ScratchBM25, cranfield: Collection,
                                                 metric):
    row = {doc_id: i for i, doc_id in enumerate(scratch.doc_ids)}
    worst = 0.0
    for qid, text in cranfield.queries.items():
        ours = scratch.scores(text)  # (1400,)
        engine = bm25_run[qid]
        worst = max(worst, max(abs(ours[row[d]] - s) for d, s in engine.items()))
        # Same documents: every one ranked above the engine's 100th score (by more than the
        # tolerance) is in the engine's top 100, and vice versa.
        cutoff = min(engine.values())
        clearly_in = {scratch.doc_ids[i] for i in np.flatnonzero(ours > cutoff + SCORE_TOLERANCE)}
        assert clearly_in <= set(engine)
        assert all(ours[row[d]] >= cutoff - SCORE_TOLERANCE for d in engine)
    metric("bm25_scratch_max_abs_score_diff", worst)


def test_scratch_search_order(scratch: ScratchBM25, bm25_index: TantivyBM25):
    hits = scratch.search("shock wave boundary layer interaction", 20)
    engine = bm25_index.search("shock wave boundary layer interaction", 20)
    assert [d for d, _ in hits][:5] == [d for d, _ in engine][:5]
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))
    assert scratch.search("zzzunknownzzz", 5) == []


def test_fieldnorm_rounds_lengths_down_like_tantivy():
    assert list(FIELDNORM_TABLE[:41]) == list(range(41))
    assert list(FIELDNORM_TABLE[41:50]) == [42, 44, 46, 48, 50, 52, 54, 56, 60]
    assert FIELDNORM_TABLE[-1] == 2_013_265_944 and np.all(np.diff(FIELDNORM_TABLE) > 0)
    lengths = np.array([0, 7, 39, 40, 41, 57, 59, 60, 151, 152, 153, 1000, 10**9])
    expected = [0, 7, 39, 40, 40, 56, 56, 60, 144, 152, 152, 984, 939_524_120]
    assert quantize_length(lengths).tolist() == expected


def test_scratch_bm25_by_hand():
    docs = [Document("a", "", "wing wing flow"), Document("b", "", "flow"), Document("c", "", "shock")]
    model = ScratchBM25().fit(docs)
    # "wing" is in 1 of 3 docs; doc a has 3 tokens, avgdl = 5/3.
    idf = np.log1p((3 - 1 + 0.5) / (1 + 0.5))
    norm = 1.2 * (1 - 0.75 + 0.75 * 3 / (5 / 3))
    expected = idf * 2.2 * 2 / (2 + norm)
    assert model.scores("wings")[0] == pytest.approx(expected)  # "wings" stems to "wing"
    assert model.scores("wing wing")[0] == pytest.approx(2 * expected)  # a repeated query term counts twice
    assert model.scores("the")[0] == 0.0  # a stopword
    with pytest.raises(RuntimeError, match="fit"):
        ScratchBM25().scores("wing")


def test_index_persists_and_reopens(cranfield: Collection, tmp_path: Path):
    folder = tmp_path / "index"
    index = TantivyBM25.create(folder)
    assert index.add(cranfield.documents[:200]) == 200
    before = index.search("heat transfer in slip flow", 10)
    reopened = TantivyBM25.open(folder)
    assert reopened.num_docs == 200
    assert reopened.search("heat transfer in slip flow", 10) == before  # the analyser is registered again
    assert reopened.contains("17") and not reopened.contains("201")
    with pytest.raises(FileExistsError, match="already holds an index"):
        TantivyBM25.create(folder)
    fresh = TantivyBM25.create(folder, overwrite=True)
    assert fresh.num_docs == 0


def test_raw_queries_never_raise(bm25_index: TantivyBM25, cranfield: Collection):
    for text in [*cranfield.queries.values(), *RAW_QUERIES]:
        hits = bm25_index.search(text, 5)
        assert len(hits) <= 5
    for nothing_to_search in ("", "   ", "?!.,;:", "the of and", "\x00\t\n"):
        assert bm25_index.search(nothing_to_search, 5) == []
    assert bm25_index.search("(the ?slip? effect) .", 3)[0][1] > 0
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        bm25_index.search("flow", 0)
    with pytest.raises(TypeError, match="a query is a str"):
        bm25_index.search(b"flow", 5)  # type: ignore[arg-type]


def test_a_100_kb_query_is_answered(bm25_index: TantivyBM25):
    words = ["flow", *(f"w{i}" for i in range(20_000))]
    text = " ".join(words)[:100_000]
    assert len(text) == 100_000
    terms = bm25_index.query_terms(text)
    assert len(terms) == MAX_QUERY_TERMS
    assert len(bm25_index.search(text, 3)) == 3  # "flow" is among the kept terms
    repeated = bm25_index.search("supersonic " * 10_000, 3)  # one term repeated: one boosted clause
    once = bm25_index.search("supersonic", 3)
    assert [d for d, _ in repeated] == [d for d, _ in once]
    assert repeated[0][1] == pytest.approx(10_000 * once[0][1], rel=1e-5)


def test_snippets_highlight_query_terms(bm25_index: TantivyBM25):
    query = "supersonic boundary layer"
    hits = bm25_index.search(query, 3)
    snippets = bm25_index.snippets(query, [d for d, _ in hits])
    assert [s.doc_id for s in snippets] == [d for d, _ in hits]
    for snippet in snippets:
        assert snippet.highlighted and len(snippet.fragment) <= 200
        marked = {snippet.fragment[a:b].lower() for a, b in snippet.highlighted}
        assert marked <= {"supersonic", "boundary", "layer", "layers"}
        assert "<b>" in snippet.html
    assert bm25_index.snippets("?!", ["1"])[0].fragment == ""
    with pytest.raises(KeyError, match="not in the index"):
        bm25_index.snippets(query, ["no-such-doc"])


def test_a_failed_add_loses_nothing(cranfield: Collection, tmp_path: Path):
    index = TantivyBM25.create(tmp_path / "index")
    index.add(cranfield.documents[:50])
    before = index.search("pressure distribution", 10)
    bad_batch = [*cranfield.documents[50:80], Document("3", "duplicate", "of an indexed id")]
    with pytest.raises(ValueError, match="document id '3' is already indexed"):
        index.add(bad_batch)
    assert index.num_docs == 50 and index.search("pressure distribution", 10) == before
    with pytest.raises(ValueError, match="the id must be a non-empty str"):
        index.add([cranfield.documents[60], Document("", "", "no id")])
    assert TantivyBM25.open(tmp_path / "index").num_docs == 50
    index.add(cranfield.documents[50:80])  # the writer lock was released: a later add works
    assert index.num_docs == 80


def test_a_corrupted_or_missing_index_is_a_clear_error(cranfield: Collection, tmp_path: Path):
    with pytest.raises(BadIndexError, match=r"no tantivy index in .*nowhere"):
        TantivyBM25.open(tmp_path / "nowhere")
    folder = tmp_path / "index"
    TantivyBM25.create(folder).add(cranfield.documents[:20])
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "meta.json").write_text("{ not json")
    with pytest.raises(BadIndexError, match="corrupted or unreadable"):
        TantivyBM25.open(broken)
    gutted = tmp_path / "gutted"
    shutil.copytree(folder, gutted)
    for segment_file in gutted.iterdir():
        if segment_file.name != "meta.json" and not segment_file.name.startswith("."):
            segment_file.unlink()
    with pytest.raises(BadIndexError, match="corrupted or unreadable"):
        TantivyBM25.open(gutted)


@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(text=st.text(max_size=80))
def test_any_text_is_a_valid_query(bm25_index: TantivyBM25, text: str):
    hits = bm25_index.search(text, 3)
    assert all(re.fullmatch(r"\d+", d) and s > 0 for d, s in hits)
