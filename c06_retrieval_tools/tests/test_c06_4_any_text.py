"""c06.4: the MiniLM encoder takes any Unicode text and refuses, clearly, what is not text.

Any text: drawn from the whole code-point range (all planes, unassigned code points included; only
surrogates are left out, as they are not characters), mixed with ASCII, spaces and newlines.
Tokenizing never raises, every id is below the vocabulary size (30,522; a character WordPiece
does not know becomes [UNK]), and each row is [CLS] ... [SEP] within ``max_length``. Not text: a
non-str, or a str with a lone surrogate (Rust strings cannot hold one; the tokenizers binding
would fail with a TypeError): a ValueError that names the item and the position.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c06_retrieval_tools import MAX_SEQ_LENGTH, MiniLMEncoder, check_texts

pytestmark = pytest.mark.task("c06.4")

VOCAB_SIZE = 30522
CLS, SEP = 101, 102
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",))
ABOVE_THE_BMP = st.integers(0x10000, 0x10FFFF).map(chr)  # planes 1-16, drawn evenly
MIXED_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(" \n\t"), st.characters(max_codepoint=0x7F), ANY_CHARACTER, ABOVE_THE_BMP),
    max_size=40,
)


def assert_valid_rows(rows: list[list[int]], n: int) -> None:
    assert len(rows) == n
    for ids in rows:
        assert ids[0] == CLS and ids[-1] == SEP and len(ids) <= MAX_SEQ_LENGTH
        assert all(0 <= i < VOCAB_SIZE for i in ids)


def test_the_vocabulary_size(encoder: MiniLMEncoder):
    assert encoder.tokenizer.get_vocab_size() == VOCAB_SIZE
    assert_valid_rows(encoder.tokenize(["shock wave"]), 1)


@settings(deadline=None, max_examples=100, derandomize=True, database=None)
@given(texts=st.lists(MIXED_TEXT, min_size=1, max_size=4))
def test_any_text_tokenizes_to_ids_inside_the_vocabulary(encoder: MiniLMEncoder, texts: list[str]):
    assert_valid_rows(encoder.tokenize(texts), len(texts))


def test_one_code_point_of_every_block_of_every_plane(encoder: MiniLMEncoder):
    blocks = enumerate(range(0, 0x110000, 0x1000))  # one point per 4096-block, its continuation bytes cycling
    points = [*range(0x800), *(start + (n * 0x41 + 0x35) % 0x1000 for n, start in blocks)]
    texts = [f"a{chr(p)} b{chr(p)}" for p in points if not 0xD800 <= p <= 0xDFFF]
    assert_valid_rows(encoder.tokenize(texts), len(texts))


def test_unusual_text_embeds_to_unit_vectors():
    texts = ["\x00\x04\x1d", "\U00040000\U000bffff", "\ufffe\uffff", "\U0010fffd tail", "\u200b", " \n "]
    vectors = MiniLMEncoder(cache=False).encode(texts)
    assert vectors.shape == (len(texts), 384) and bool(np.isfinite(vectors).all())
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        (["fine", "\ud800"], r"text 1 holds a lone surrogate U\+D800 at position 0"),
        (["caf\u00e9 \udfff"], r"text 0 holds a lone surrogate U\+DFFF at position 5"),
        (["\ud83d\ude00"], r"lone surrogate U\+D83D"),  # in a str a surrogate pair is two lone surrogates
        (["a", 3], "text 1 is a int, not a str"),
        ([None], "text 0 is a NoneType"),
        ([b"bytes"], "text 0 is a bytes"),
    ],
)
def test_what_is_not_text_is_a_clear_value_error(encoder: MiniLMEncoder, texts: list[object], match: str):
    with pytest.raises(ValueError, match=match):
        check_texts(texts)
    with pytest.raises(ValueError, match=match):
        encoder.tokenize(texts)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        encoder.encode(texts)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sequence of texts"):
        check_texts("one text")
