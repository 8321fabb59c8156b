"""SmolLM2's tokenizer from the GGUF metadata (part 1's BPE) and its ChatML chat template.

A GGUF file with ``tokenizer.ggml.model = "gpt2"`` carries a GPT-2-style vocabulary
(``tokenizer.ggml.tokens``: byte-level strings in id order), the merges in rank order
(``tokenizer.ggml.merges``: ``"Ġ t"`` lines) and a type per token (``tokenizer.ggml.token_type``:
1 normal, 3 control). The 17 control tokens (``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``, ...)
are special tokens: matched in the text before pre-tokenisation, never merged.
:meth:`BPETokenizer.from_gpt2` of c05.1 takes exactly this, with one difference from GPT-2's files.

**Bytes without a token.** SmolLM2's vocabulary lacks 21 single-byte tokens: the 13 bytes that
never occur in UTF-8 (``C0``, ``C1``, ``F5``-``FF``), but also 6 control characters (U+0004, U+0006,
U+0013, U+0014, U+0016, U+001D) and the lead bytes ``F1`` and ``F2``, which start every code point from
U+40000 to U+BFFFF (planes 4 to 11, unassigned today). No sequence of its 49,152 ids spells such a
character. Inventing ids past the end of the vocabulary would hand the model an index its
embedding table does not have; dropping the bytes (what ``tokenizers`` and llama.cpp do) leaves
orphaned continuation bytes that decode as three or four U+FFFD. So the tokenizer is built with
``missing_bytes="replace"``: each such character is encoded as one U+FFFD, which SmolLM2 can read.
Every id is below the vocabulary size, and ``decode(encode(s)) == s`` for every text without those
characters (with them: the same text with each one replaced by U+FFFD).

The chat template (``tokenizer.chat_template``, Jinja) is ChatML::

    <|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n
    <|im_start|>user\\nWhat is 2 + 2?<|im_end|>\\n
    <|im_start|>assistant\\n                      <- the generation prompt: the model writes from here

A default system message is inserted when the conversation does not start with one. The model
ends its turn with ``<|im_end|>`` (its end-of-turn token). No BOS token is prepended
(``tokenizer.ggml.add_bos_token = false``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.gguf import GGUFError
from c05_nlp_transformers.pretokenize import GPT2_PATTERN

CONTROL_TOKEN = 3
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
ROLES = ("system", "user", "assistant")
END_OF_TURN = "<|im_end|>"


def tokenizer_from_gguf(metadata: Mapping[str, Any]) -> BPETokenizer:
    """The byte-level BPE tokenizer described by a GGUF file's ``tokenizer.ggml.*`` metadata."""
    # BEGIN SOLUTION c05.7: tokens -> ids, control tokens as special tokens, merges, missing bytes replaced
    model = metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise GGUFError(f"only the byte-level BPE tokenizer ('gpt2') is supported, this file's is {model!r}")
    tokens: list[str] = list(metadata["tokenizer.ggml.tokens"])
    types: list[int] = list(metadata.get("tokenizer.ggml.token_type", [1] * len(tokens)))
    vocab = {token: i for i, token in enumerate(tokens)}
    specials = {token: i for i, (token, kind) in enumerate(zip(tokens, types, strict=True)) if kind == CONTROL_TOKEN}
    # No ids are invented for the bytes the vocabulary lacks: the characters that need them become U+FFFD.
    return BPETokenizer.from_gpt2(vocab, metadata["tokenizer.ggml.merges"], specials, GPT2_PATTERN, "replace")
    # END SOLUTION


def out_of_vocabulary(ids: Sequence[int], vocab_size: int) -> list[int]:
    """The ids in ``ids`` that the model has no embedding for (none from :func:`tokenizer_from_gguf`'s tokenizer)."""
    return [i for i in ids if not 0 <= i < vocab_size]


def apply_chat_template(messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True) -> str:
    """The ChatML text of a conversation (see the module docstring); ValueError on a bad message."""
    # BEGIN SOLUTION c05.7: validate roles and contents, default system message, one block per message
    if not messages:
        raise ValueError("a conversation needs at least one message")
    parts = []
    for n, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ValueError(f"message {n} has role {role!r}; expected one of {ROLES}")
        if not isinstance(content, str):
            raise ValueError(f"message {n} needs a string 'content', got {type(content).__name__}")
        if n == 0 and role != "system":
            parts.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
        parts.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)
    # END SOLUTION
