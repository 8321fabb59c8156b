"""c05.1 (hidden): harder inputs for the BPE tokenizer and its trainer."""

from __future__ import annotations

import pytest
from conftest import SPECIAL, oracle_for

from c05_nlp_transformers import BPETokenizer, train_bpe

pytestmark = pytest.mark.task("c05.1")

LONG_RUNS = [
    "a" * 5000,
    "\n" * 1000 + "x",
    " " * 777 + "word",
    "!?" * 400,
    "1234567890" * 100,
    "é" * 300,
    "\u200b" * 50 + "hidden",
]


@pytest.mark.parametrize("text", LONG_RUNS, ids=lambda t: repr(t[:6]))
def test_long_runs_match_the_oracle(trained_bpe, text):
    tokenizer = trained_bpe.tokenizer
    ids = tokenizer.encode(text)
    assert ids == oracle_for(tokenizer).encode(text).ids
    assert tokenizer.decode(ids) == text


def test_overlapping_special_tokens_prefer_the_longest():
    bytes_only = {b: bytes([b]) for b in range(256)}
    tokenizer = BPETokenizer(bytes_only, [], {"<|a|>": 300, "<|a|>b": 301})
    assert tokenizer.encode("x<|a|>b<|a|>") == [120, 301, 300]
    assert tokenizer.encode("x<|a|>b", allowed_special={"<|a|>"}) == [120, 300, 98]


def test_merges_given_as_pairs_and_fresh_instances_agree(trained_bpe, corpus):
    tokenizer = trained_bpe.tokenizer
    vocab, merges = tokenizer.to_gpt2()
    specials = {SPECIAL: tokenizer.token_to_id(SPECIAL)}
    from_pairs = BPETokenizer.from_gpt2(vocab, merges, specials)
    sample = corpus[100_000:130_000]
    assert from_pairs.encode(sample) == tokenizer.encode(sample)
    assert BPETokenizer(tokenizer.vocab, tokenizer.merges, specials).encode(sample) == tokenizer.encode(sample)


def test_training_on_non_ascii_text_round_trips_and_matches_the_oracle():
    text = "naïve café façade — ünïcödé 日本語 日本語 日本 😀😀😀 " * 20
    tokenizer = train_bpe(text, 300).tokenizer
    probe = "café 日本 😀 naïf"
    assert tokenizer.decode(tokenizer.encode(probe)) == probe
    assert tokenizer.encode(probe) == oracle_for(tokenizer).encode(probe).ids
    assert len(tokenizer.encode(" 日本語")) < len(" 日本語".encode())  # seen with its leading space
