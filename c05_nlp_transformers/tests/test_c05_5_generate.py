"""c05.5: generation: greedy with and without the KV cache, streaming, stop sequences, seeds, errors.

The cached and uncached paths compute the same logits, so greedy decoding must give exactly the
same tokens, also past the context (where the visible window jumps forward). The cost per new token
is checked by counting the positions the model processes at every step, not by a clock.
"""

from __future__ import annotations

import pytest
import torch

from c05_nlp_transformers import GPT, GPTConfig, SamplingConfig, generate, stream, window_start

pytestmark = pytest.mark.task("c05.5")

CONTEXT = 24
SAMPLING = {"temperature": 0.9, "top_k": 10, "top_p": 0.95}  # SamplingConfig(**SAMPLING) inside the tests


def make_model(dtype: torch.dtype = torch.float32, positional: str = "learned") -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=20, block_size=CONTEXT, n_layer=2, n_head=4, n_kv_head=2, n_embd=32,
                       positional=positional)  # type: ignore[arg-type]
    return GPT(config).to(dtype).eval()


class PositionCounter:
    """Counts the token positions each forward pass processes (a hook on the token embedding)."""

    def __init__(self, model: GPT) -> None:
        self.sizes: list[int] = []
        model.wte.register_forward_hook(lambda module, args, out: self.sizes.append(args[0].shape[1]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("positional", ["learned", "rope"])
def test_greedy_with_the_cache_equals_greedy_without(metric, dtype, positional):
    model = make_model(dtype, positional)
    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    new = 3 * CONTEXT  # well past the context: the window moves several times
    cached = generate(model, prompt, new, use_cache=True)
    uncached = generate(model, prompt, new, use_cache=False)
    assert len(cached) == len(uncached) == new
    metric("kv_cache_greedy_token_agreement", sum(a == b for a, b in zip(cached, uncached, strict=True)) / new)


def test_cost_per_new_token_stays_flat_with_the_cache():
    model = make_model()
    counter = PositionCounter(model)
    prompt = list(range(10))
    generate(model, prompt, 8, use_cache=True)
    assert counter.sizes == [10] + [1] * 7  # one prefill, then one position per token
    counter.sizes.clear()
    generate(model, prompt, 8, use_cache=False)
    assert counter.sizes == list(range(10, 18))  # the whole sequence again every time


def test_the_window_jumps_half_a_context_and_the_cache_refills_only_then():
    assert [window_start(n, 8) for n in range(1, 18)] == [0] * 8 + [4] * 4 + [8] * 4 + [12]
    for n in range(1, 200):
        start = window_start(n, CONTEXT)
        assert n - start <= CONTEXT and (n <= CONTEXT or n - start > CONTEXT // 2)
    model = make_model()
    counter = PositionCounter(model)
    generate(model, list(range(20)), 10, use_cache=True)
    # 20..24 tokens fit; at 25 the window starts at 12: one prefill of 13 positions, then single tokens.
    assert counter.sizes == [20, 1, 1, 1, 1, 13, 1, 1, 1, 1]


def test_tokens_stream_as_they_are_produced():
    model = make_model()
    counter = PositionCounter(model)
    tokens = stream(model, [1, 2, 3], 5)
    assert counter.sizes == []  # nothing computed before the first request
    first = next(tokens)
    assert counter.sizes == [3]  # one forward pass per token yielded
    second = next(tokens)
    assert counter.sizes == [3, 1]
    assert [first, second, *tokens] == generate(model, [1, 2, 3], 5)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()  # nothing leaks to the caller


def test_stop_sequences_end_generation_and_are_not_returned():
    model = make_model()
    full = generate(model, [7, 7, 1], 40)
    stop = full[10:12]
    first = next(i for i in range(len(full) - 1) if full[i : i + 2] == stop)
    assert generate(model, [7, 7, 1], 40, stop_sequences=[stop]) == full[:first]
    assert list(stream(model, [7, 7, 1], 40, stop_sequences=[[99, 98], stop])) == full[:first]
    single = full[5]
    assert generate(model, [7, 7, 1], 40, stop_sequences=[[single]]) == full[: full.index(single)]
    never = [19, 19, 19, 19, 19]
    assert generate(model, [7, 7, 1], 40, stop_sequences=[never]) == full
    # A partial match at the very end is not a stop: the held-back tokens are released.
    assert generate(model, [7, 7, 1], 12, stop_sequences=[[*full[10:12], 99]]) == full[:12]


def test_streaming_never_takes_back_a_token():
    model = make_model()
    full = generate(model, [2, 4], 30)
    stop = full[20:23]
    seen = []
    for token in stream(model, [2, 4], 30, stop_sequences=[stop]):
        seen.append(token)
        assert seen == full[: len(seen)]  # every yielded token is final
    assert seen == full[: next(i for i in range(28) if full[i : i + 3] == stop)]


def test_seeds_make_sampling_reproducible():
    model = make_model()
    sampling = SamplingConfig(**SAMPLING)
    first = generate(model, [1, 2], 30, sampling=sampling, seed=123)
    assert first == generate(model, [1, 2], 30, sampling=sampling, seed=123)
    assert first == generate(model, [1, 2], 30, sampling=sampling, seed=123, use_cache=False)
    assert first != generate(model, [1, 2], 30, sampling=sampling, seed=124)
    assert generate(model, [1, 2], 0) == []


def test_bad_generation_requests_are_clear_errors_at_the_call():
    model = make_model()
    assert len(generate(model, [0] * CONTEXT, 2)) == 2  # a prompt that fills the context is fine
    with pytest.raises(ValueError, match=f"prompt of {CONTEXT + 1} tokens is longer than the context of {CONTEXT}"):
        stream(model, [0] * (CONTEXT + 1), 2)  # raised by the call itself, before any next()
    with pytest.raises(ValueError, match="prompt is empty"):
        stream(model, [], 2)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        stream(model, [1], -1)
    with pytest.raises(ValueError, match="stop sequence must hold at least one token"):
        stream(model, [1], 3, stop_sequences=[[]])
    with pytest.raises(ValueError, match="top_p"):
        generate(model, [1], 3, sampling=SamplingConfig(top_p=0.0))
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [1], 3, sampling=SamplingConfig(temperature=-1.0))


def test_command_line_streams_a_sample_from_a_checkpoint(tmp_path, capsys):
    import importlib

    from c05_nlp_transformers import CharTokenizer
    from c05_nlp_transformers.train import save_checkpoint

    sample_module = importlib.import_module("c05_nlp_transformers.sample")

    tokenizer = CharTokenizer("abcdefghij\n :")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    path = save_checkpoint(tmp_path / "model.safetensors", model, tokenizer)
    arguments = ["--checkpoint", str(path), "--prompt", "abc:", "--max-new-tokens", "20", "--seed", "3"]
    assert sample_module.main([*arguments, "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out
    expected = tokenizer.decode(generate(model.eval(), tokenizer.encode("abc:"), 20))
    assert greedy == "abc:" + expected + "\n"
    sample_module.main([*arguments, "--top-k", "5", "--top-p", "0.9", "--stop", expected[3:5]])
    sampled = capsys.readouterr().out
    assert sampled.startswith("abc:") and len(sampled) <= len("abc:") + 21
