"""c05.5 (hidden): self-overlapping stop sequences, batched caches, and more sampler edges."""

from __future__ import annotations

import pytest
import torch

from c05_nlp_transformers import GPT, GPTConfig, SamplingConfig, generate, probabilities, sample, stream

pytestmark = pytest.mark.task("c05.5")


class Scripted:
    """A fake model that emits a fixed script of tokens (greedy), to test the stop logic alone."""

    context_length = 64
    device = torch.device("cpu")

    def __init__(self, script: list[int], vocab: int = 8) -> None:
        self.script, self.vocab, self.calls = script, vocab, 0

    def logits(self, idx, *, kv_cache=None):
        out = torch.zeros(idx.shape[0], idx.shape[1], self.vocab)
        out[:, -1, self.script[self.calls]] = 1.0
        self.calls += 1
        return out

    def new_kv_cache(self, max_batch=1, max_len=None):
        return None


@pytest.mark.parametrize(
    ("script", "stops", "expected"),
    [
        ([1, 1, 1, 2, 5], [[1, 1, 2]], [1]),  # the match starts inside a longer run
        ([3, 4, 3, 4, 5, 6], [[3, 4, 5]], [3, 4]),
        ([1, 2, 3, 4], [[2, 3, 9], [3]], [1, 2]),  # a short stop completes while a long one is partial
        ([1, 2, 1, 2], [[2, 1, 2, 1]], [1, 2, 1, 2]),  # never completed: everything is released at the end
    ],
)
def test_stop_sequence_hold_back(script, stops, expected):
    assert generate(Scripted(script), [0], len(script), stop_sequences=stops, use_cache=False) == expected


def test_a_batch_shares_one_cache_and_matches_single_rows():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, block_size=12, n_layer=1, n_head=2, n_embd=16)).eval()
    idx = torch.randint(0, 16, (3, 12), generator=torch.Generator().manual_seed(1))
    cache = model.new_kv_cache(max_batch=3)
    with torch.no_grad():
        logits = torch.cat([model.logits(idx[:, t : t + 1], kv_cache=cache) for t in range(12)], dim=1)
        torch.testing.assert_close(logits, model.logits(idx), rtol=0, atol=1e-5)


def test_top_p_keeps_exactly_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = probabilities(logits, SamplingConfig(top_p=0.79)) > 0
    assert kept.tolist() == [[True, True, False, False]]
    kept = probabilities(logits, SamplingConfig(top_p=0.81)) > 0
    assert kept.tolist() == [[True, True, True, False]]
    draws = sample(logits.expand(10_000, -1), SamplingConfig(top_p=0.5), torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0}


def test_streams_are_independent_generators():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    config = SamplingConfig(temperature=1.0)
    a = stream(model, [1, 2], 10, sampling=config, seed=5)
    b = stream(model, [1, 2], 10, sampling=config, seed=5)
    interleaved = [(next(a), next(b)) for _ in range(10)]
    assert all(x == y for x, y in interleaved)
