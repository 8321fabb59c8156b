"""c05.7: SmolLM2's tokenizer on any Unicode text: ids below 49,152, the oracle's ids, a defined round trip.

SmolLM2's vocabulary lacks the single-byte tokens of six control characters and of the UTF-8 lead
bytes F1 and F2 (every code point from U+40000 to U+BFFFF). Such a character is encoded as U+FFFD;
every other character round-trips exactly. The expected text is computed here independently, from
the GGUF token list: a character is replaced when one of its UTF-8 bytes has no token.

Oracle: the ``tokenizers`` tokenizer that transformers builds from the same GGUF file, given the
text with those characters replaced (it drops the bytes it has no token for, which leaves orphaned
continuation bytes, so it is not asked about the original text). Text is drawn from every plane,
unassigned code points included, mixed with ASCII, spaces and newlines.
"""

from __future__ import annotations

import pytest
from conftest import gpt2_byte_map
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.task("c05.7")

VOCAB_SIZE = 49152
REPLACED_CONTROLS = {0x04, 0x06, 0x13, 0x14, 0x16, 0x1D}  # control characters with no token in SmolLM2
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",))
ABOVE_THE_BMP = st.integers(0x10000, 0x10FFFF).map(chr)  # planes 1-16 evenly: 8 of 16 need F1 or F2
MIXED_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(" \n\t'"), st.characters(max_codepoint=0x7F), ANY_CHARACTER, ABOVE_THE_BMP,
                       st.sampled_from([chr(c) for c in sorted(REPLACED_CONTROLS)])),
    max_size=40,
)


@pytest.fixture(scope="module")
def missing_bytes(smollm) -> set[int]:
    tokens = set(smollm[1].metadata["tokenizer.ggml.tokens"])
    return {b for b, char in gpt2_byte_map().items() if char not in tokens}


@pytest.fixture(scope="module")
def hf_ids(oracle):
    backend = oracle[1].backend_tokenizer
    return lambda text: backend.encode(text, add_special_tokens=False).ids


def spelled(text: str, missing: set[int]) -> str:
    return "".join("\ufffd" if missing.intersection(c.encode("utf-8")) else c for c in text)


def block_sample() -> list[str]:
    """Every code point below U+0800, then one per 4096-block up to U+10FFFF (all lead bytes, F0-F4 included)."""
    points = list(range(0x800))
    for n, start in enumerate(range(0, 0x110000, 0x1000)):
        point = max(start + (n * 0x41 + 0x35) % 0x1000, 0x800 + n)
        if not 0xD800 <= point <= 0xDFFF:
            points.append(point)
    return [chr(p) for p in points]


def test_the_vocabulary_lacks_exactly_these_bytes(missing_bytes):
    never_in_utf8 = {0xC0, 0xC1, *range(0xF5, 0x100)}
    assert missing_bytes == REPLACED_CONTROLS | {0xF1, 0xF2} | never_in_utf8


@settings(deadline=None, max_examples=200, derandomize=True, database=None)
@given(text=MIXED_TEXT)
def test_any_text_gives_ids_below_the_vocabulary_size_and_the_oracles_ids(smollm_tokenizer, hf_ids, missing_bytes,
                                                                           text):
    ids = smollm_tokenizer.encode(text)
    assert all(0 <= i < VOCAB_SIZE for i in ids)
    expected = spelled(text, missing_bytes)
    assert smollm_tokenizer.decode(ids) == expected  # the text itself whenever SmolLM2 can spell all of it
    assert ids == hf_ids(expected)


def test_one_code_point_of_every_block_of_every_plane(smollm_tokenizer, hf_ids, missing_bytes):
    chars = block_sample()
    assert {b for c in chars for b in c.encode("utf-8")} == set(range(256)) - {0xC0, 0xC1, *range(0xF5, 0x100)}
    replaced = set()
    for char in chars:
        ids = smollm_tokenizer.encode(char)
        assert ids and all(0 <= i < VOCAB_SIZE for i in ids), hex(ord(char))
        text = smollm_tokenizer.decode(ids)
        assert text in (char, "\ufffd"), hex(ord(char))
        if text != char:
            replaced.add(ord(char))
    assert replaced == {ord(c) for c in chars if ord(c) in REPLACED_CONTROLS or 0x40000 <= ord(c) <= 0xBFFFF}
    assert len(replaced) == 6 + 128  # the controls and the 8 x 16 blocks of planes 4 to 11
    text = "".join(f"a{c}b {c}\n" for c in chars)
    ids = smollm_tokenizer.encode(text)
    assert all(0 <= i < VOCAB_SIZE for i in ids) and ids == hf_ids(spelled(text, missing_bytes))


def test_lone_surrogates_are_a_clear_error(smollm_tokenizer):
    for text in ("\ud800", "Hello \udbff\udfff", "<|im_start|>user\n\udc00<|im_end|>"):
        with pytest.raises(ValueError, match="lone surrogate"):
            smollm_tokenizer.encode(text)
