"""c06.3 (hidden): adversarial queries, repeated adds, the scratch model on tricky text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import Document, ScratchBM25, TantivyBM25

pytestmark = pytest.mark.task("c06.3")

SCORE_TOLERANCE = 1e-4  # f32 engine vs f64 formula

DOCS = [
    Document("a", "Shock waves", "shock-wave/boundary-layer interaction at Mach 3.5 ..."),
    Document("b", "", "The the THE of"),  # stopwords only: length 0 after analysis
    Document("c", "Flutter", "flutter " * 300),  # a long document: its length is quantised
    Document("d", "Ünïcödé", "naïve café résumé 10,000 fps"),
    Document("e", "", ""),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    index = TantivyBM25.create(tmp_path_factory.mktemp("hidden") / "idx")
    index.add(DOCS[:3])
    index.add(DOCS[3:])  # two commits, two segments: statistics are still global
    return index, ScratchBM25().fit(DOCS)


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(text=st.lists(st.sampled_from(["shock", "wave", "flutter", "café", "10", "fps", "mach", "the", "(", ")",
                                      "\"", "?", "AND", "-", "^2", "*", "résumé", "layer"]), max_size=8).map(" ".join))
def test_engine_and_scratch_agree_on_odd_queries(pair, text: str):
    index, scratch = pair
    hits = index.search(text, 10)
    ours = dict(zip(scratch.doc_ids, scratch.scores(text), strict=True))
    for doc_id, score in hits:
        assert abs(ours[doc_id] - score) <= SCORE_TOLERANCE
    assert {d for d, s in ours.items() if s > SCORE_TOLERANCE} == {d for d, _ in hits}


def test_stopword_only_and_empty_documents(pair):
    index, scratch = pair
    assert index.num_docs == 5
    assert index.search("the", 5) == [] and np.all(scratch.scores("the") == 0)
    assert index.search("fps", 5)[0][0] == "d"


def test_reopened_index_keeps_the_analyser(pair):
    index, _ = pair
    reopened = TantivyBM25.open(index.path)
    assert [d for d, _ in reopened.search("waves", 3)] == ["a"]  # stemmed: "waves" -> "wave"
    assert reopened.search("WAVE", 3) == index.search("wave", 3)


def test_create_in_memory_and_overwrite(tmp_path: Path):
    memory = TantivyBM25.create()
    memory.add(DOCS)
    assert memory.path is None and memory.num_docs == 5
    with pytest.raises(ValueError, match="already indexed"):
        memory.add([Document("x", "", "1"), Document("x", "", "2")])
    assert memory.num_docs == 5
