"""c05.1: any Unicode text, every plane: ids inside the vocabulary, exact round trip, the oracle's ids.

The tokenizer is the one trained on Tiny Shakespeare (every byte is a token), used directly and as
written to and read back from GPT-2 files (``vocab.json`` + ``merges.txt``). Oracles: the
``tokenizers`` library given the same vocabulary and merges (built from the objects, and loading
the same files), and ``decode(encode(s)) == s``. Text is drawn from the whole code-point range,
unassigned code points included (only surrogates are left out: they are not characters), mixed
with ASCII, spaces and newlines so that chunks form around them. A lone surrogate is a clear
ValueError. A vocabulary that lacks single-byte tokens (``missing_bytes="replace"``) keeps every id
in range by encoding each character it cannot spell as U+FFFD.
"""

from __future__ import annotations

import json

import pytest
from conftest import SPECIAL, gpt2_byte_map, oracle_for
from hypothesis import given, settings
from hypothesis import strategies as st

from c05_nlp_transformers import BPETokenizer, train_bpe

pytestmark = pytest.mark.task("c05.1")

ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",))
ABOVE_THE_BMP = st.integers(0x10000, 0x10FFFF).map(chr)  # planes 1-16, drawn evenly (4 UTF-8 bytes each)
MIXED_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(" \n\t'"), st.characters(max_codepoint=0x7F), ANY_CHARACTER, ABOVE_THE_BMP),
    max_size=40,
)


def block_sample() -> list[str]:
    """Every code point below U+0800 (every 1- and 2-byte form), then one per 4096-block up to
    U+10FFFF (every lead byte E0-EF and F0-F4) at an offset that cycles through the continuation bytes."""
    points = list(range(0x800))
    for n, start in enumerate(range(0, 0x110000, 0x1000)):
        point = max(start + (n * 0x41 + 0x35) % 0x1000, 0x800 + n)  # block 0: its upper half, E0's
        if not 0xD800 <= point <= 0xDFFF:
            points.append(point)
    return [chr(p) for p in points]


def covered_bytes(chars: list[str]) -> set[int]:
    return {b for c in chars for b in c.encode("utf-8")}


@pytest.fixture(scope="module")
def trained(trained_bpe):
    return trained_bpe.tokenizer


@pytest.fixture(scope="module")
def oracle(trained):
    return oracle_for(trained)


@pytest.fixture(scope="module")
def from_files(trained, tmp_path_factory):
    """Our tokenizer read from GPT-2 files, and the tokenizers library reading the same two files."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab_path, merges_path = trained.save_gpt2(tmp_path_factory.mktemp("gpt2"))
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    ours = BPETokenizer.from_gpt2_files(vocab_path, merges_path, special_tokens={SPECIAL: vocab[SPECIAL]})
    theirs = Tokenizer(models.BPE.from_file(str(vocab_path), str(merges_path)))
    theirs.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return ours, theirs


@settings(deadline=None, max_examples=200, derandomize=True, database=None)
@given(text=MIXED_TEXT)
def test_any_text_gives_ids_in_range_round_trips_and_equals_the_oracle(trained, oracle, text):
    ids = trained.encode(text)
    assert all(0 <= i < trained.vocab_size for i in ids)
    assert trained.decode(ids) == text
    assert trained.encode_ordinary(text) == oracle.encode(text, add_special_tokens=False).ids


@settings(deadline=None, max_examples=100, derandomize=True, database=None)
@given(text=MIXED_TEXT)
def test_gpt2_files_give_the_oracles_ids_on_any_text(from_files, text):
    ours, theirs = from_files
    ids = ours.encode_ordinary(text)
    assert ids == theirs.encode(text, add_special_tokens=False).ids
    assert all(0 <= i < ours.vocab_size for i in ids) and ours.decode(ids) == text


def test_one_code_point_of_every_block_of_every_plane(trained, oracle):
    chars = block_sample()
    assert covered_bytes(chars) >= {*range(0x80), *range(0x80, 0xC0), *range(0xC2, 0xF5)}  # every UTF-8 byte
    for char in chars:
        ids = trained.encode(char)
        assert all(0 <= i < trained.vocab_size for i in ids) and trained.decode(ids) == char, hex(ord(char))
    text = "".join(f"a{c}b {c}\n" for c in chars)  # each code point between letters, after a space, before a newline
    ids = trained.encode_ordinary(text)
    assert ids == oracle.encode(text, add_special_tokens=False).ids
    assert trained.decode(ids) == text


@pytest.mark.parametrize("char", ["\U000323b0", "\U0003d000", "\u1c89", "\u0558", "\U00012550"])
def test_letters_newer_than_the_oracles_unicode_tables_split_like_the_oracle(trained, oracle, char):
    # CJK Extension J (Unicode 17) and later letters are unassigned to tokenizers; U+1C89 (16.0) is a letter to both.
    text = f"a{char}b 1{char}2 {char}{char}! x'{char}"
    assert trained.encode_ordinary(text) == oracle.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("\ud800", r"lone surrogate U\+D800 at position 0"),
        ("fine, then \udfff", r"lone surrogate U\+DFFF at position 11"),
        ("\ud83d\ude00: in a str, a surrogate pair is two lone surrogates", "lone surrogate U\\+D83D"),
        (b"bytes", "expected text"),
        (None, "expected text"),
    ],
)
def test_lone_surrogates_and_non_text_are_clear_errors(trained, text, match):
    for encode in (trained.encode, trained.encode_ordinary, lambda t: trained.encode(t, allowed_special="none")):
        with pytest.raises(ValueError, match=match):
            encode(text)
    with pytest.raises(ValueError, match=match):
        train_bpe(text, 260)


def bytes_vocab(without: set[int]) -> dict[int, bytes]:
    return {b: bytes([b]) for b in range(256) if b not in without}


@pytest.mark.parametrize("missing", [{0x04, 0xF1, 0xF2}, {0x80}, {0xC3, 0xE4}])
def test_a_vocabulary_without_some_bytes_replaces_what_it_cannot_spell(missing):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = BPETokenizer(bytes_vocab(missing), [], missing_bytes="replace")
    byte_map = gpt2_byte_map()
    theirs = Tokenizer(models.BPE(vocab={byte_map[b]: b for b in range(256) if b not in missing}, merges=[]))
    theirs.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    chars = block_sample()
    spelled = "".join("\ufffd" if missing & set(c.encode("utf-8")) else c for c in chars)
    ids = tokenizer.encode("".join(chars))
    assert all(i in tokenizer.vocab for i in ids)
    assert tokenizer.decode(ids) == spelled and spelled != "".join(chars)
    assert ids == theirs.encode(spelled, add_special_tokens=False).ids  # the oracle, given the replaced text
    assert tokenizer.encode("plain ASCII") == list(b"plain ASCII")


def test_a_vocabulary_without_some_bytes_needs_the_replace_option():
    with pytest.raises(ValueError, match="lacks 3 single-byte tokens"):
        BPETokenizer(bytes_vocab({0x04, 0xF1, 0xF2}), [])
    with pytest.raises(ValueError, match=r"cannot spell U\+FFFD"):
        BPETokenizer(bytes_vocab({0xBD}), [], missing_bytes="replace")
    with pytest.raises(ValueError, match="missing_bytes must be"):
        BPETokenizer(bytes_vocab(set()), [], missing_bytes="drop")  # type: ignore[arg-type]
