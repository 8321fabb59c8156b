"""c05.9: per-channel int8 weights (our Int8Linear and torch's dynamic quantisation) against float32.

Quality is measured on held-out text (the paragraphs of the held-out XQuAD articles, first 512 tokens):
top-1 agreement of next-token predictions with the float32 model and the relative increase of
perplexity. Memory is the bytes of the weights (a tied matrix counted once).
"""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from c05_nlp_transformers.quantize import (
    Int8Linear,
    perplexity,
    quantize_dynamic,
    quantize_int8,
    quantize_per_channel,
    top1_agreement,
    weight_bytes,
)

pytestmark = pytest.mark.task("c05.9")

HELD_OUT_TOKENS = 512
HELD_OUT_ARTICLES = 12  # the articles c05.10's fine-tune holds out (its split_by_article defaults)


def held_out_articles(titles: set[str]) -> set[str]:
    """The titles c05.10's ``split_by_article`` holds out (sorted, shuffled with seed 0, the first 12),
    written out here so that this task needs none of c05.10's code."""
    order = sorted(titles)
    random.Random(0).shuffle(order)
    return set(order[:HELD_OUT_ARTICLES])


@pytest.fixture(scope="module")
def held_out_ids(smollm_tokenizer, xquad):
    articles = held_out_articles({example.article for example in xquad})  # the LoRA fine-tune never trains on them
    held_out = [example for example in xquad if example.article in articles]
    paragraphs = list(dict.fromkeys(example.context for example in held_out))
    return smollm_tokenizer.encode("\n\n".join(paragraphs))[:HELD_OUT_TOKENS]


def test_per_channel_quantisation_by_hand():
    weight = torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [2.0, 1.0, -0.01]])
    q, scale = quantize_per_channel(weight)
    assert q.dtype == torch.int8 and scale.dtype == torch.float32
    torch.testing.assert_close(scale, torch.tensor([1.0 / 127, 1.0, 2.0 / 127]))
    assert q.tolist() == [[64, -127, 32], [0, 0, 0], [127, 64, -1]]
    with pytest.raises(ValueError, match="2-D"):
        quantize_per_channel(torch.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        quantize_per_channel(torch.tensor([[float("nan")]]))


@pytest.mark.parametrize("backend", ["dequant", "int_mm"])
def test_int8_linear_close_to_float(backend):
    torch.manual_seed(0)
    linear = nn.Linear(64, 48, bias=False)
    layer = Int8Linear(linear, backend)
    x = torch.randn(2, 5, 64)
    expected = linear(x)
    got = layer(x)
    assert got.shape == expected.shape
    # weight error <= scale / 2 per entry; int_mm adds the activations' rounding (amax / 254 per entry)
    bound = 0.02 if backend == "dequant" else 0.05
    assert float((got - expected).abs().max()) < bound * float(expected.abs().max())
    with pytest.raises(ValueError, match="backend"):
        Int8Linear(linear, "fp8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no bias"):
        Int8Linear(nn.Linear(4, 4), backend)


def test_int8_smollm_quality_and_memory(smollm, held_out_ids, metric):
    model = smollm[0]
    int8 = quantize_int8(model)
    assert sum(isinstance(m, Int8Linear) for m in int8.modules()) == 30 * 7 + 1
    with torch.inference_mode():
        reference = model(torch.tensor([held_out_ids[:256]]))
        quantized = int8(torch.tensor([held_out_ids[:256]]))
    metric("int8_top1_agreement", top1_agreement(quantized, reference))
    fp32_ppl, int8_ppl = perplexity(model, held_out_ids), perplexity(int8, held_out_ids)
    assert 5 < fp32_ppl < 100
    metric("int8_perplexity_relative_increase", int8_ppl / fp32_ppl - 1)
    metric("int8_weight_memory_ratio", weight_bytes(int8) / weight_bytes(model))
    assert weight_bytes(model) == 4 * model.num_parameters()
    with pytest.raises(ValueError, match="shape"):
        top1_agreement(quantized, reference[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        perplexity(model, [1])


def test_dynamic_quantisation_runs_and_packs_int8(smollm, held_out_ids):
    model = smollm[0]
    dynamic = quantize_dynamic(model)
    assert weight_bytes(dynamic) < 0.5 * weight_bytes(model)
    with torch.inference_mode():
        logits = dynamic(torch.tensor([held_out_ids[:64]]))
    assert logits.shape == (1, 64, 49152) and bool(torch.isfinite(logits).all())
