"""c05.11: quantised decoding kernels (int8 per channel, GGUF Q8_0 and Q4_1 blocks) and SmolLM2 on them.

The oracle of every kernel is the same weights dequantised by the formulas below (written here, apart
from the module) and multiplied in float64. The error is judged relative to ``|W| @ |x|``, the scale of
the float32 sum's rounding. Speed is a ratio measured in this process (int8 over float32 decoding,
interleaved, best of several runs), never an absolute time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from c05_nlp_transformers import quant_kernels as qk
from c05_nlp_transformers.gguf import GGMLType
from c05_nlp_transformers.inference import generate_tokens
from c05_nlp_transformers.quant_llama import (
    BlockLinear,
    KernelInt8Linear,
    file_blocks,
    quantize_llama,
    quantized_weight_bytes,
)
from c05_nlp_transformers.quantize import perplexity, quantize_per_channel, top1_agreement
from c05_nlp_transformers.squad import split_by_article

pytestmark = pytest.mark.task("c05.11")

# float32 products summed over K <= 1536 terms in any order (fastmath): the error stays below about
# K * 2^-24 of sum |w| |x| in the worst case, and near sqrt(K) * 2^-24 in practice (measured ~1e-7).
REL_TOL = 1e-5
HELD_OUT_TOKENS = 512
SPEED_REPEATS, SPEED_TOKENS = 4, 16

worst = {"rel": 0.0}  # the largest relative error seen by the property tests, reported as a metric


def dequant_q8_0(raw: np.ndarray) -> np.ndarray:
    blocks = raw.reshape(raw.shape[0], -1, 34)
    d = blocks[:, :, :2].copy().view(np.float16).astype(np.float64)  # (N, B, 1)
    return (d * blocks[:, :, 2:].view(np.int8)).reshape(raw.shape[0], -1)


def dequant_q4_1(raw: np.ndarray) -> np.ndarray:
    blocks = raw.reshape(raw.shape[0], -1, 20)
    d = blocks[:, :, 0:2].copy().view(np.float16).astype(np.float64)
    m = blocks[:, :, 2:4].copy().view(np.float16).astype(np.float64)
    nibbles = blocks[:, :, 4:]
    q = np.concatenate((nibbles & 15, nibbles >> 4), axis=2).astype(np.float64)  # (N, B, 32)
    return (d * q + m).reshape(raw.shape[0], -1)


def random_q4_1(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    blocks = rng.integers(0, 256, size=(n, k // 32, 20), dtype=np.uint8)
    blocks[:, :, 0:2] = rng.uniform(1e-3, 0.1, size=(n, k // 32, 1)).astype(np.float16).view(np.uint8)
    blocks[:, :, 2:4] = rng.uniform(-1.0, 1.0, size=(n, k // 32, 1)).astype(np.float16).view(np.uint8)
    return blocks.reshape(n, -1)


def random_q8_0(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Q8_0 blocks written here (scale, then 32 int8), so every example fails on the same stub when unsolved."""
    blocks = np.empty((n, k // 32, 34), dtype=np.uint8)
    blocks[:, :, 0:2] = rng.uniform(1e-3, 0.1, size=(n, k // 32, 1)).astype(np.float16).view(np.uint8)
    blocks[:, :, 2:] = rng.integers(-127, 128, size=(n, k // 32, 32)).astype(np.int8).view(np.uint8)
    return blocks.reshape(n, -1)


def check(got: torch.Tensor, x: np.ndarray, weight64: np.ndarray) -> None:
    """got (M, N) against x (M, K) @ W^T in float64, relative to |x| @ |W|^T."""
    expected = x.astype(np.float64) @ weight64.T
    scale = np.abs(x).astype(np.float64) @ np.abs(weight64).T + 1e-30
    rel = float(np.max(np.abs(got.numpy().astype(np.float64) - expected) / scale))
    worst["rel"] = max(worst["rel"], rel)
    assert rel <= REL_TOL, rel


@settings(deadline=None, max_examples=40)
@given(m=st.integers(1, 12), n=st.integers(1, 40), k=st.integers(1, 100), seed=st.integers(0, 2**16))
def test_int8_kernel_against_float64(m, n, k, seed):
    rng = np.random.default_rng(seed)
    weight = torch.from_numpy(rng.normal(size=(n, k)).astype(np.float32))
    q, scale = quantize_per_channel(weight)
    x = rng.normal(size=(m, k)).astype(np.float32)
    w64 = q.numpy().astype(np.float64) * scale.numpy().astype(np.float64)[:, None]
    check(qk.int8_linear(torch.from_numpy(x), q, scale), x, w64)  # m > 8: dequantise + BLAS


@settings(deadline=None, max_examples=40)
@given(m=st.integers(1, 12), n=st.integers(1, 40), blocks=st.integers(1, 4), seed=st.integers(0, 2**16),
       kind=st.sampled_from([8, 3]))
def test_block_kernels_against_float64(m, n, blocks, seed, kind):
    rng = np.random.default_rng(seed)
    k = 32 * blocks
    if kind == 8:
        raw = random_q8_0(rng, n, k)
        w64 = dequant_q8_0(raw)
    else:
        raw = random_q4_1(rng, n, k)
        w64 = dequant_q4_1(raw)
    x = rng.normal(size=(m, k)).astype(np.float32)
    check(qk.block_linear(torch.from_numpy(x), raw, kind), x, w64)


def test_parallel_kernels_and_leading_dimensions(metric):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 64)).astype(np.float32)
    flat = x.reshape(6, 64)
    weight = torch.from_numpy(rng.normal(size=(10, 64)).astype(np.float32))
    q, scale = quantize_per_channel(weight)
    raw8, raw4 = qk.quantize_q8_0(weight), random_q4_1(rng, 10, 64)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # the prange builds, on two numba threads
        int8_w64 = q.double().numpy() * scale.double().numpy()[:, None]
        for got, w64 in ((qk.int8_linear(torch.from_numpy(x), q, scale), int8_w64),
                         (qk.block_linear(torch.from_numpy(x), raw8, 8), dequant_q8_0(raw8)),
                         (qk.block_linear(torch.from_numpy(x), raw4, 3), dequant_q4_1(raw4)),
                         (qk.block_linear(torch.from_numpy(np.tile(flat, (2, 1))), raw4, 3), dequant_q4_1(raw4))):
            assert got.shape[-1] == 10
            check(got.reshape(-1, 10), np.tile(flat, (got.numel() // 60, 1)), w64)
    finally:
        torch.set_num_threads(previous)
    metric("quant_kernel_max_rel_error", worst["rel"])  # with the property tests' cases when they ran first


def test_quantize_q8_0_matches_the_block_format():
    weight = torch.zeros(2, 32)
    weight[0, :4] = torch.tensor([1.0, -0.5, 0.25, 0.0])
    raw = qk.quantize_q8_0(weight)
    assert raw.shape == (2, 34) and raw.dtype == np.uint8
    assert raw[0, :2].view(np.float16)[0] == np.float16(1.0 / 127)
    assert raw[0, 2:6].view(np.int8).tolist() == [127, -64, 32, 0]  # round(-63.5) = -64 (half to even)
    assert not raw[1].any()  # an all-zero block: d = 0 and q = 0
    for bad in (torch.ones(3, 33), torch.ones(32)):
        with pytest.raises(ValueError, match="multiple of 32"):
            qk.quantize_q8_0(bad)


def test_errors():
    q, scale = quantize_per_channel(torch.ones(4, 8))
    with pytest.raises(ValueError, match="int8 q"):
        qk.int8_linear(torch.ones(1, 7), q, scale)
    with pytest.raises(ValueError, match="kind"):
        qk.block_linear(torch.ones(1, 32), np.zeros((1, 34), np.uint8), 2)
    with pytest.raises(ValueError, match="uint8 blocks"):
        qk.block_linear(torch.ones(1, 64), np.zeros((1, 34), np.uint8), 8)
    with pytest.raises(ValueError, match="Q8_0 or Q4_1"):
        BlockLinear(np.zeros((1, 34), np.uint8), GGMLType.F32, 32)


def test_kernels_python_semantics():
    """The kernels' Python source (coverage cannot see compiled code) equals the oracle on tiny inputs."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 64)).astype(np.float32)
    weight = torch.from_numpy(rng.normal(size=(3, 64)).astype(np.float32))
    q, scale = quantize_per_channel(weight)
    raw8, raw4 = qk.quantize_q8_0(weight), random_q4_1(rng, 3, 64)
    out = np.zeros((2, 3), np.float32)
    qk.int8_matmul_kernel.py_func(x, q.numpy(), scale.numpy(), out)
    check(torch.from_numpy(out.copy()), x, q.double().numpy() * scale.double().numpy()[:, None])
    qk.q8_0_matmul_kernel.py_func(x, raw8, raw8.view(np.int8), qk.F16_TABLE, out)
    check(torch.from_numpy(out.copy()), x, dequant_q8_0(raw8))
    qk.q4_1_matmul_kernel.py_func(x, raw4.view(np.uint32), qk.F16_TABLE, out)
    check(torch.from_numpy(out.copy()), x, dequant_q4_1(raw4))
    for raw, kind, oracle in ((raw8, 8, dequant_q8_0), (raw4, 3, dequant_q4_1)):
        weight32 = np.zeros((3, 64), np.float32)
        qk.dequantize_rows_kernel.py_func(raw, raw.view(np.int8), kind, qk.F16_TABLE, weight32)
        np.testing.assert_allclose(weight32, oracle(raw), rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def held_out_ids(smollm_tokenizer, xquad):
    held_out = split_by_article(xquad)[1]
    paragraphs = list(dict.fromkeys(example.context for example in held_out))
    return smollm_tokenizer.encode("\n\n".join(paragraphs))[:HELD_OUT_TOKENS]


@pytest.fixture(scope="module")
def quantized(smollm):
    model, gguf = smollm
    return {kind: quantize_llama(model, kind, gguf) for kind in ("int8", "q8_0", "q4_1")}


def test_smollm_on_quantised_weights(smollm, quantized, held_out_ids, metric):
    model, gguf = smollm
    q4_1 = quantized["q4_1"]
    assert isinstance(q4_1.lm_head, BlockLinear) and q4_1.lm_head.kind == GGMLType.Q8_0
    gate = q4_1.layers[0].mlp.gate_proj
    assert isinstance(gate, BlockLinear) and gate.kind == GGMLType.Q4_1
    assert np.shares_memory(gate.raw, gguf.data)  # the file's bytes, not a copy
    assert isinstance(quantized["int8"].layers[0].self_attn.q_proj, KernelInt8Linear)
    ids = torch.tensor([held_out_ids[:128]])
    with torch.inference_mode():
        reference = model(ids)
        # Q4_1 computes exactly the float32 model's weights (the file's blocks): same argmax everywhere
        assert top1_agreement(q4_1(ids), reference) == 1.0
        for kind in ("int8", "q8_0"):
            assert top1_agreement(quantized[kind](ids), reference) >= 0.85, kind
        prompt = held_out_ids[:24]
        assert generate_tokens(q4_1, prompt, 8) == generate_tokens(model, prompt, 8)  # the decode kernels too
    fp32 = perplexity(model, held_out_ids)
    increases = [perplexity(quantized[kind], held_out_ids) / fp32 - 1 for kind in ("q8_0", "q4_1")]
    metric("block_perplexity_relative_increase", max(increases))
    with pytest.raises(ValueError, match="kind"):
        quantize_llama(model, "q2_k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GGUFFile"):
        quantize_llama(model, "q4_1")
    assert file_blocks(gguf, "blk.0.attn_k.weight", 3).shape == (192, 18 * 20)


def test_int8_decode_speedup(smollm, quantized, metric):
    model, int8 = smollm[0], quantized["int8"]
    prompt = torch.randint(100, 40000, (32,), generator=torch.Generator().manual_seed(0)).tolist()
    rates: dict[str, list[float]] = {"fp32": [], "int8": []}
    generate_tokens(int8, prompt, 2)  # compile (or load from numba's cache) before timing
    for _ in range(SPEED_REPEATS):
        for name, runner in (("fp32", model), ("int8", int8)):
            start = time.perf_counter()
            tokens = generate_tokens(runner, prompt, SPEED_TOKENS)
            rates[name].append(len(tokens) / (time.perf_counter() - start))
    metric("int8_decode_speedup", max(rates["int8"]) / max(rates["fp32"]))


def test_block_linear_module_runs_like_nn_linear():
    torch.manual_seed(0)
    linear = nn.Linear(64, 5, bias=False)
    layer = BlockLinear(qk.quantize_q8_0(linear.weight), GGMLType.Q8_0, 64)
    x = torch.randn(2, 64)
    assert "Q8_0" in repr(layer)
    torch.testing.assert_close(layer(x), linear(x), rtol=0.02, atol=0.02)


def test_decode_benchmark_rows(smollm, quantized):
    from c05_nlp_transformers import bench_decode

    model, gguf = smollm
    rows = bench_decode.bench_decode([8], new_tokens=2, repeats=1, model=model, gguf=gguf, oracle=None,
                                     quantized=quantized)
    assert [r.label for r in rows[:4]] == [f"ours {k} (tokens/s)" for k in ("fp32", "int8", "q8_0", "q4_1")]
    assert [r.benchmark for r in rows] == ["SmolLM2 decode"] * 4 + ["SmolLM2 prefill"] * 4 + ["llama.cpp"]
    assert all(r.value > 0 and r.baseline is not None and r.baseline > 0 for r in rows)
    assert rows[-1].baseline == bench_decode.LLAMA_CPP_TOKENS_PER_S
    with pytest.raises(ValueError, match="at least 2 new tokens"):
        bench_decode.bench_decode([8], new_tokens=1)
    with pytest.raises(ValueError, match="together"):
        bench_decode.bench_decode([8], model=model)
    sizes = {kind: quantized_weight_bytes(m) for kind, m in quantized.items()}
    assert sizes["q4_1"] < sizes["int8"] < sizes["q8_0"] < 0.3 * 4 * model.num_parameters()


def test_chat_model_on_quantised_weights():
    from c05_nlp_transformers.chat import load_chat_model

    chat = load_chat_model(quantization="q4_1")
    assert isinstance(chat.model.layers[0].mlp.down_proj, BlockLinear)
    messages = [{"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"}]
    assert "Paris" in chat.generate_chat(messages, max_new_tokens=12).text
    with pytest.raises(ValueError, match="adapter"):
        load_chat_model(quantization="q4_1", adapter="adapter.safetensors")
