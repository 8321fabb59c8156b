"""c06.4: the MiniLM encoder (own BERT forward pass, mean pooling, length buckets, cache) and Qdrant.

Oracle for the encoder: sentence-transformers loading the same model folder offline. Both run the
same float32 maths in a different order (our attention is written out, theirs is torch's SDPA):
differences are ~1e-7, the acceptance's tolerance is 1e-5. Qdrant runs embedded, in tmp folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import (
    MAX_SEQ_LENGTH,
    Collection,
    EmbeddingCache,
    MiniLMEncoder,
    NumpyStore,
    QdrantStore,
    Run,
    close_clients,
    evaluate_run,
    length_buckets,
    load_tokenizer,
    mean_pool,
    model_folder,
    qdrant_client_for,
    text_key,
)

pytestmark = pytest.mark.task("c06.4")

ENCODER_TOLERANCE = 1e-5  # float32 with a different operation order; the acceptance's bound
DIMENSION = 384


@pytest.fixture(scope="module")
def oracle():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_folder()), device="cpu")


@pytest.fixture(scope="module")
def sample_texts(cranfield: Collection) -> list[str]:
    long_docs = sorted(cranfield.documents, key=lambda d: -len(d.text))[:3]  # > 256 tokens: truncated
    return [
        *(d.text for d in long_docs), *list(cranfield.queries.values())[:8], cranfield.documents[5].text,
        "", "a", "Ünïcödé naïve café, résumé — “quotes”", "x " * 600, "(chapman-enskog theory) ?slip?",
    ]


def test_encoder_matches_sentence_transformers(sample_texts: list[str], oracle, metric):
    ours = MiniLMEncoder(cache=False, batch_size=4).encode(sample_texts)
    theirs = oracle.encode(sample_texts, batch_size=4, convert_to_numpy=True)
    assert ours.shape == (len(sample_texts), DIMENSION) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    metric("encoder_max_abs_diff_vs_sentence_transformers", float(np.abs(ours - theirs).max()))


def test_dense_ndcg_at_10(dense_run: Run, cranfield: Collection, metric):
    assert all(len(scores) == 100 for scores in dense_run.values())
    metric("dense_ndcg_at_10", evaluate_run(dense_run, cranfield.qrels)["ndcg@10"])


def test_tokenizer_truncates_at_256_without_padding(cranfield: Collection):
    tokenizer = load_tokenizer(model_folder())
    longest = max(cranfield.documents, key=lambda d: len(d.text)).text
    ids = tokenizer.encode(longest).ids
    assert len(ids) == MAX_SEQ_LENGTH and ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP]
    assert tokenizer.encode("shock wave").ids == [101, 5213, 4400, 102]  # no padding to 128


def test_mean_pooling_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # (1, 3, 2), last token is padding
    mask = torch.tensor([[1, 1, 0]])
    assert mean_pool(hidden, mask).tolist() == [[2.0, 3.0]]
    assert mean_pool(hidden, torch.zeros((1, 3), dtype=torch.long)).tolist() == [[0.0, 0.0]]  # no division by 0


@settings(deadline=None, max_examples=50, derandomize=True, database=None)
@given(lengths=st.lists(st.integers(1, 300), max_size=70), batch_size=st.integers(1, 16))
def test_length_buckets_cover_everything_once(lengths: list[int], batch_size: int):
    batches = length_buckets(lengths, batch_size)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # neighbours have similar lengths


def test_bucketing_does_not_change_vectors(sample_texts: list[str]):
    texts = sample_texts[2:10]  # one long document, queries and a short abstract: padding in every batch
    one_by_one = MiniLMEncoder(cache=False, batch_size=1).encode(texts)
    batched = MiniLMEncoder(cache=False, batch_size=16).encode(texts)
    np.testing.assert_allclose(one_by_one, batched, atol=ENCODER_TOLERANCE)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        length_buckets([3, 4], 0)


def test_cache_serves_vectors_by_model_and_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cache = EmbeddingCache("minilm-test", DIMENSION, root=tmp_path)
    encoder = MiniLMEncoder(cache=cache)
    first = encoder.encode(["shock wave", "slip flow", "shock wave"])
    assert len(cache) == 2 and len(list((tmp_path / "minilm-test").glob("shard-*.npz"))) == 1

    def no_model(texts):
        raise AssertionError(f"encoded {texts} again")

    later = MiniLMEncoder(cache=EmbeddingCache("minilm-test", DIMENSION, root=tmp_path))  # another process
    monkeypatch.setattr(later, "_encode_uncached", no_model)
    np.testing.assert_array_equal(later.encode(["slip flow", "shock wave"]), first[[1, 0]])
    assert text_key("slip flow") != text_key("slip flow ")
    assert MiniLMEncoder(cache=False, max_length=64).model_key != encoder.model_key  # settings are in the key
    with pytest.raises(TypeError, match="sequence of texts"):
        encoder.encode("shock wave")
    with pytest.raises(ValueError, match=r"expected vectors of shape \(1, 384\)"):
        cache.put(["x"], np.zeros((1, 3), np.float32))


def test_a_damaged_cache_shard_is_recomputed(tmp_path: Path):
    cache = EmbeddingCache("minilm-test", DIMENSION, root=tmp_path)
    (tmp_path / "minilm-test").mkdir()
    (tmp_path / "minilm-test" / "shard-broken.npz").write_bytes(b"not a zip file")
    vectors = MiniLMEncoder(cache=cache).encode(["boundary layer"])
    assert vectors.shape == (1, DIMENSION) and len(cache) == 1


def test_qdrant_search_filters_and_persistence(doc_vectors: np.ndarray, cranfield: Collection, tmp_path: Path):
    ids = cranfield.doc_ids[:300]
    store = QdrantStore("docs", DIMENSION, path=tmp_path / "q")
    store.add(ids, doc_vectors[:300], [{"half": "first" if i < 150 else "second", "n": i} for i in range(300)])
    assert store.count() == 300
    baseline = NumpyStore(DIMENSION)
    baseline.add(ids, doc_vectors[:300])
    query = doc_vectors[42]
    hits = store.search(query, 5)
    assert hits[0] == ("43", pytest.approx(1.0, abs=1e-5))
    assert [d for d, _ in hits] == [d for d, _ in baseline.search(query, 5)]
    np.testing.assert_allclose([s for _, s in hits], [s for _, s in baseline.search(query, 5)], atol=1e-5)
    second = store.search(query, 5, where={"half": "second"})
    assert len(second) == 5 and all(int(d) > 150 for d, _ in second)
    assert {d for d, _ in store.search(query, 10, where={"n": [0, 1, 2]})} == {"1", "2", "3"}
    assert qdrant_client_for(tmp_path / "q") is store.client  # one client per folder per process
    close_clients()
    reopened = QdrantStore("docs", DIMENSION, path=tmp_path / "q")
    assert reopened.count() == 300
    again = reopened.search(query, 5)
    assert [d for d, _ in again] == [d for d, _ in hits]
    np.testing.assert_allclose([s for _, s in again], [s for _, s in hits], atol=1e-6)
    with pytest.raises(ValueError, match="holds 384-d vectors, not 12-d"):
        QdrantStore("docs", 12, path=tmp_path / "q")


def test_wrong_vectors_are_refused_and_nothing_is_lost(tmp_path: Path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20, DIMENSION)).astype(np.float32)
    store = QdrantStore("v", DIMENSION, path=tmp_path / "q")
    store.add([f"d{i}" for i in range(10)], vectors[:10])
    before = store.search(vectors[0], 3)
    bad = vectors[10:].copy()
    bad[7, 3] = np.nan
    for ids, batch, message in [
        ([f"e{i}" for i in range(10)], bad, "contain NaN or infinity"),
        ([f"e{i}" for i in range(10)], vectors[10:, :383], "have dimension 383, but the store holds 384-d"),
        (["e1", "e1"], vectors[:2], "must be unique"),
        (["e1"], vectors[:2], "1 ids for 2 vectors"),
        ([f"e{i}" for i in range(10)], vectors[10:, None, :], "must be a 2-D array"),
    ]:
        with pytest.raises(ValueError, match=message):
            store.add(ids, batch)
        assert store.count() == 10 and store.search(vectors[0], 3) == before
    with pytest.raises(ValueError, match="the query vector have dimension 128"):
        store.search(np.zeros(128), 3)
    with pytest.raises(ValueError, match="give one payload dict per vector"):
        store.add(["z"], vectors[:1], payloads=[{}, {}])
    with pytest.raises(ValueError, match="top_k must be positive"):
        store.search(vectors[0], 0)
    with pytest.raises(ValueError, match="exactly one of path"):
        qdrant_client_for()


def test_numpy_baseline_is_exact(tmp_path: Path):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    store = NumpyStore(16)
    store.add([str(i) for i in range(500)], vectors)
    query = rng.standard_normal(16).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.argsort(-(unit @ (query / np.linalg.norm(query))))[:7]
    assert [d for d, _ in store.search(query, 7)] == [str(i) for i in expected]
    assert len(store.search(query, 10_000)) == 500 and store.count() == 500
    with pytest.raises(ValueError, match="already in the store"):
        store.add(["3"], vectors[:1])
    with pytest.raises(ValueError, match="the query vector have dimension 15"):
        store.search(query[:15], 3)
