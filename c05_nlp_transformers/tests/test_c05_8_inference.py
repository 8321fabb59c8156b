"""c05.8: fast generation (right-sized cache, last-position prefill) and the chat API of chat.py.

Speed is a ratio measured in this process: our generation against transformers' ``generate`` on
the same prompt, same thread count, interleaved, median of 3 runs each (never an absolute time).
Tokens must equal part 1's general ``generate`` loop (greedy), which the c05.5 tests checked
against decoding without a cache.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from c05_nlp_transformers.chat import ChatModel, ChatResult, load_chat_model, main
from c05_nlp_transformers.generate import generate
from c05_nlp_transformers.inference import generate_tokens, stream_tokens
from c05_nlp_transformers.sampling import SamplingConfig

pytestmark = pytest.mark.task("c05.8")

REPEATS = 3
NEW_TOKENS = 24


@pytest.fixture(scope="module")
def chat(smollm, smollm_tokenizer):
    model = smollm[0]
    return ChatModel(model, smollm_tokenizer, model.config.vocab_size, model.context_length)


def test_tokens_equal_part_1_generation(smollm):
    model = smollm[0]
    prompt = list(range(1000, 1020))
    ours = generate_tokens(model, prompt, 12)
    assert ours == generate(model, prompt, 12)
    sampling = SamplingConfig(temperature=0.9, top_k=50)
    first = generate_tokens(model, prompt, 8, sampling=sampling, seed=3)
    assert first == generate_tokens(model, prompt, 8, sampling=sampling, seed=3)
    assert generate_tokens(model, prompt, 0) == []
    for kwargs, match in (({"prompt": [], "max_new_tokens": 1}, "empty"),
                          ({"prompt": [1], "max_new_tokens": -1}, ">= 0"),
                          ({"prompt": [1] * 8190, "max_new_tokens": 8}, "exceed the context")):
        with pytest.raises(ValueError, match=match):
            stream_tokens(model, **kwargs)  # type: ignore[arg-type]


def test_speed_against_the_oracle(smollm, oracle, metric):
    model, hf_model = smollm[0], oracle[0]
    prompt = torch.randint(100, 40000, (32,), generator=torch.Generator().manual_seed(0)).tolist()
    ours, theirs = [], []
    with torch.inference_mode():
        for _ in range(REPEATS):
            start = time.perf_counter()
            tokens = generate_tokens(model, prompt, NEW_TOKENS)
            ours.append(NEW_TOKENS / (time.perf_counter() - start))
            start = time.perf_counter()
            out = hf_model.generate(torch.tensor([prompt]), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                    do_sample=False)
            theirs.append(NEW_TOKENS / (time.perf_counter() - start))
    assert out.shape[1] == len(prompt) + NEW_TOKENS and len(tokens) == NEW_TOKENS
    metric("generation_speedup_vs_oracle", statistics.median(ours) / statistics.median(theirs))


def test_generate_chat_finish_reasons(chat):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    result = chat.generate_chat(messages, max_new_tokens=20)
    assert isinstance(result, ChatResult)
    assert result.finish_reason == "eos_token" and "Paris" in result.text
    assert result.prompt_tokens == chat.count_tokens(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    short = chat.generate_chat(messages, max_new_tokens=3)
    assert short.finish_reason == "length" and short.completion_tokens == 3
    assert result.text.startswith(short.text)
    stopped = chat.generate_chat(messages, max_new_tokens=20, stop=["France"])
    assert stopped.finish_reason == "stop_sequence" and "France" not in stopped.text
    assert result.text.startswith(stopped.text)
    pieces = list(chat.stream_chat(messages, max_new_tokens=20))
    assert len(pieces) > 3 and "".join(pieces) == result.text
    assert "".join(chat.stream_chat(messages, max_new_tokens=20, stop=["France"])) == stopped.text
    sampled = [chat.generate_chat(messages, max_new_tokens=8, temperature=0.8, top_p=0.9, top_k=40, seed=5).text
               for _ in range(2)]
    assert sampled[0] == sampled[1]
    at_start = chat.generate_chat(messages, max_new_tokens=20, stop=["The"])
    assert at_start.text == "" and at_start.finish_reason == "stop_sequence"


def test_chat_errors(chat):
    messages = [{"role": "user", "content": "Hi"}]
    with pytest.raises(ValueError, match="stop string"):
        chat.stream_chat(messages, stop=[""])
    with pytest.raises(ValueError, match="top_p"):
        chat.generate_chat(messages, top_p=0.0)
    with pytest.raises(ValueError, match="lone surrogate"):
        chat.generate_chat([{"role": "user", "content": "\ud800"}])
    with pytest.raises(ValueError, match="quantization"):
        load_chat_model(quantization="int4")
    with pytest.raises(ValueError, match="threads"):
        load_chat_model(threads=0)


def test_command_line_streams_an_answer(capsys):
    assert main(["--prompt", "What is the capital of France?", "--max-new-tokens", "12", "--system",
                 "Answer in one short sentence.", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("smollm> ") and "Paris" in out
