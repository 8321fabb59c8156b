"""c06.4 (hidden): encoder invariances, the BERT pieces, and Qdrant persistence details."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from c06_retrieval_tools import (
    BertConfig,
    BertEncoder,
    MiniLMEncoder,
    NumpyStore,
    QdrantStore,
    close_clients,
    model_folder,
)

pytestmark = pytest.mark.task("c06.4")

ENCODER_TOLERANCE = 1e-5  # float32, different batch composition


@pytest.fixture(scope="module")
def plain() -> MiniLMEncoder:
    return MiniLMEncoder(cache=False)


def test_order_and_duplicates_do_not_change_vectors(plain: MiniLMEncoder):
    texts = ["lift of a swept wing", "heat transfer", "lift of a swept wing", "a much longer text " * 20]
    vectors = plain.encode(texts)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=ENCODER_TOLERANCE)
    np.testing.assert_allclose(plain.encode(texts[::-1]), vectors[::-1], atol=ENCODER_TOLERANCE)
    assert plain.encode([]).shape == (0, 384)


def test_truncation_keeps_the_first_256_tokens(plain: MiniLMEncoder):
    head = "boundary layer " * 200  # far more than 256 tokens
    a, b = plain.encode([head + "shock", head + "entirely different ending"])
    np.testing.assert_allclose(a, b, atol=ENCODER_TOLERANCE)


def test_attention_ignores_padding():
    model = BertEncoder.from_folder(model_folder())
    ids = torch.tensor([[101, 5213, 4400, 102]])
    padded = torch.tensor([[101, 5213, 4400, 102, 0, 0, 0]])
    alone = model(ids, torch.ones_like(ids))
    with_padding = model(padded, torch.tensor([[1, 1, 1, 1, 0, 0, 0]]))
    torch.testing.assert_close(with_padding[:, :4], alone, atol=ENCODER_TOLERANCE, rtol=0)
    with pytest.raises(ValueError, match="513 tokens exceed the 512 positions"):
        model.embed(torch.zeros((1, 513), dtype=torch.long))


def test_config_and_checkpoint_checks(tmp_path: Path):
    config = BertConfig.from_json(model_folder() / "config.json")
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (384, 6, 12)
    (tmp_path / "config.json").write_text('{"hidden_act": "relu"}')
    with pytest.raises(ValueError, match="only BERT with exact GELU"):
        BertConfig.from_json(tmp_path / "config.json")
    with pytest.raises(ValueError, match="not a BERT checkpoint"):
        BertEncoder({"pooler.dense.weight": torch.zeros(2, 2)}, config)


def test_qdrant_upsert_replaces_and_payloads_survive(tmp_path: Path):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((6, 8)).astype(np.float32)
    store = QdrantStore("c", 8, path=tmp_path / "q")
    store.add(list("abcdef"), vectors, [{"group": i % 2} for i in range(6)])
    store.add(["a"], -vectors[:1], [{"group": 5}])  # same id: replaced, not duplicated
    assert store.count() == 6
    assert store.search(-vectors[0], 1)[0][0] == "a"
    assert [d for d, _ in store.search(vectors[1], 6, where={"group": 5})] == ["a"]
    close_clients()
    close_clients()  # safe twice
    again = QdrantStore("c", 8, path=tmp_path / "q")
    assert again.count() == 6 and [d for d, _ in again.search(vectors[1], 6, where={"group": [5]})] == ["a"]
    assert again.search(vectors[1], 3, where={"group": 9}) == []


def test_empty_stores_answer_empty():
    store = NumpyStore(4)
    assert store.search(np.ones(4), 3) == []
    with pytest.raises(ValueError, match="dimension must be positive"):
        QdrantStore("x", 0, path="/nonexistent/never-created")
