"""c05.1: trained on Tiny Shakespeare, our ids equal the tokenizers library's on the whole corpus.

The merges our trainer learned (768 of them) are handed to ``tokenizers`` (Rust, the oracle) as a
GPT-2-style vocabulary and merge list with GPT-2's byte-level pre-tokenizer; both encode the full
1.1 MB text. Metric ``bpe_oracle_id_agreement``: the fraction of positions with equal ids (0 if the
lengths differ), which must be 1.
"""

from __future__ import annotations

import pytest
from conftest import BPE_VOCAB, SPECIAL, oracle_for

pytestmark = pytest.mark.task("c05.1")


def test_identical_ids_on_the_whole_corpus(metric, trained_bpe, corpus):
    tokenizer = trained_bpe.tokenizer
    assert len(tokenizer.vocab) == BPE_VOCAB
    ours = tokenizer.encode(corpus)
    oracle = oracle_for(tokenizer)
    theirs = oracle.encode(corpus).ids
    agreement = sum(a == b for a, b in zip(ours, theirs, strict=False)) / len(theirs) if len(ours) == len(theirs) else 0
    metric("bpe_oracle_id_agreement", agreement)
    assert tokenizer.decode(ours) == corpus
    assert oracle.decode(ours) == corpus
    assert len(corpus.encode()) / len(ours) > 2.2  # 768 merges compress Shakespeare to under half


def test_identical_ids_with_special_tokens_between_documents(trained_bpe, corpus):
    tokenizer = trained_bpe.tokenizer
    documents = corpus[:50_000].split("\n\n")
    text = SPECIAL.join(documents)
    ours = tokenizer.encode(text)
    assert ours == oracle_for(tokenizer).encode(text).ids
    assert ours.count(tokenizer.token_to_id(SPECIAL)) == len(documents) - 1
