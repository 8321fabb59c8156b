"""c05.1: byte-level BPE training, encoding, decoding, special tokens and the GPT-2 file format.

Oracles: a naive trainer written here (recount every pair after every merge) for training; the
``tokenizers`` library, given the same vocabulary and merges, for encoding; and decode(encode(s))
== s on arbitrary Unicode (hypothesis) for the round trip.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
import regex
from conftest import SPECIAL, gpt2_byte_map, oracle_for
from hypothesis import given, settings
from hypothesis import strategies as st

from c05_nlp_transformers import GPT2_PATTERN, BPETokenizer, bytes_to_unicode, merge_pair, train_bpe

pytestmark = pytest.mark.task("c05.1")

SMALL_TEXT_CHARS = 30_000  # the small tokenizer's training text: the first 30k characters
SMALL_VOCAB = 400
PAD = "<|pad|>"
TRICKY = [
    "",
    " ",
    "\n\n\n",
    "hello world",
    "  two  spaces,\ttab\r\nCRLF",
    "e\u0301 vs \u00e9",  # combining accent vs precomposed
    "👩‍👩‍👧 family, 🇫🇷 flag, 🤖",  # zero-width joiners, regional indicators
    "日本語のテキスト 中文 한국어",
    "\x00\x01\x7f null and controls",
    "ﬁ ligature, Ⅻ numeral, ½ fraction, ١٢٣ Arabic digits",
    "I'll, you're, we've, it's, they'd, I'm",
    "a<|endoftext|>b<|pad|><|endoftext|>",
    "<|endoftext",
]


@pytest.fixture(scope="module")
def small(corpus):
    return train_bpe(corpus[:SMALL_TEXT_CHARS], SMALL_VOCAB, special_tokens=[SPECIAL, PAD]).tokenizer


@pytest.fixture(scope="module")
def small_oracle(small):
    return oracle_for(small)


@settings(deadline=None, max_examples=300, derandomize=True, database=None)
@given(text=st.text())
def test_decode_inverts_encode_for_any_unicode(small, text):
    assert small.decode(small.encode(text)) == text
    assert small.decode(small.encode(text, allowed_special="none")) == text


@settings(deadline=None, max_examples=100, derandomize=True, database=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_encoding_agrees_with_the_oracle_on_any_text(small, small_oracle, text):
    assert small.encode_ordinary(text) == small_oracle.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_round_trip_and_match_the_oracle(small, small_oracle, text):
    ids = small.encode(text)
    assert small.decode(ids) == text
    assert ids == small_oracle.encode(text).ids


def test_special_tokens(small):
    eot, pad = small.token_to_id(SPECIAL), small.token_to_id(PAD)
    assert {eot, pad} == {SMALL_VOCAB, SMALL_VOCAB + 1} and small.vocab_size == SMALL_VOCAB + 2
    ids = small.encode("to be<|endoftext|>or not<|pad|>")
    assert ids.count(eot) == 1 and ids.count(pad) == 1
    assert ids[: ids.index(eot)] == small.encode("to be")
    assert eot not in small.encode("to be<|endoftext|>", allowed_special="none")
    only_pad = small.encode("<|endoftext|><|pad|>", allowed_special={PAD})
    assert only_pad[-1] == pad and eot not in only_pad
    assert small.decode(only_pad) == "<|endoftext|><|pad|>"


def test_unknown_special_token_is_a_clear_error(small):
    assert small.encode("x", allowed_special={SPECIAL})
    with pytest.raises(ValueError, match=r"unknown special token '<\|im_start\|>'"):
        small.encode("<|im_start|>hi", allowed_special={"<|im_start|>"})
    with pytest.raises(ValueError, match="unknown special token"):
        small.token_to_id("<|unk|>")
    with pytest.raises(ValueError, match="unknown token id"):
        small.decode([small.vocab_size + 5])


def test_decode_stream_yields_whole_characters(small):
    text = "Señor 日本 🤖 done"
    ids = small.encode(text)
    pieces = list(small.decode_stream(ids))
    assert "".join(pieces) == text
    assert all("\ufffd" not in piece for piece in pieces)  # never half a character
    assert len(pieces) > 1


def test_a_cut_off_character_decodes_to_the_replacement_character(small):
    assert "é".encode() == bytes([0xC3, 0xA9])  # byte b has id b in a trained tokenizer
    assert small.decode([0xC3]) == "\ufffd"
    assert small.decode([0xC3, 0xA9]) == "é"
    assert list(small.decode_stream([0xC3])) == ["\ufffd"]  # flushed at the end


def test_merge_pair_left_to_right_without_overlap():
    assert merge_pair([1, 2, 3, 1, 2], 1, 2, 9) == [9, 3, 9]
    assert merge_pair([5, 5, 5], 5, 5, 7) == [7, 5]
    assert merge_pair([5, 5, 5, 5], 5, 5, 7) == [7, 7]
    assert merge_pair([], 1, 2, 3) == [] and merge_pair([1], 1, 2, 3) == [1]


def naive_train(text: str, n_merges: int) -> tuple[list[tuple[bytes, bytes]], list[int]]:
    """Recount every pair after every merge; highest count, then smallest (left bytes, right bytes)."""
    words = Counter(tuple(bytes([b]) for b in chunk.encode()) for chunk in regex.findall(GPT2_PATTERN, text))
    merges, counts = [], []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for word, freq in words.items():
            for pair in itertools.pairwise(word):
                pairs[pair] += freq
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        counts.append(pairs[best])
        merged: Counter = Counter()
        for word, freq in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        words = merged
    return merges, counts


def test_training_equals_the_naive_trainer(corpus):
    text = corpus[:20_000]
    result = train_bpe(text, 256 + 80)
    vocab = result.tokenizer.vocab
    got = [(vocab[a], vocab[b]) for a, b in result.tokenizer.merges]
    expected, counts = naive_train(text, 80)
    assert got == expected
    assert list(result.merge_counts) == counts


def test_merge_counts_never_increase(trained_bpe, corpus):
    counts = trained_bpe.merge_counts
    assert len(counts) == len(trained_bpe.tokenizer.merges) > 500
    assert all(a >= b for a, b in itertools.pairwise(counts))
    first = trained_bpe.tokenizer.merges[0]
    vocab = trained_bpe.tokenizer.vocab
    # The space belongs to the word after it, so the most common pair is " t" (the, thou, to, ...);
    # every " t" in the text is inside one chunk, so its count is a plain substring count.
    assert (vocab[first[0]], vocab[first[1]]) == (b" ", b"t")
    assert counts[0] == corpus.count(" t")


def test_tie_breaking_is_by_bytes_not_by_order_of_appearance():
    # Every pair occurs once: the smallest (left bytes, right bytes) wins each round.
    for text in ("cd ab", "ab cd"):
        result = train_bpe(text, 259)
        vocab = result.tokenizer.vocab
        assert result.merge_counts == (1, 1, 1)
        merges = [(vocab[a], vocab[b]) for a, b in result.tokenizer.merges]
        if text == "cd ab":
            assert merges == [(b" ", b"a"), (b" a", b"b"), (b"c", b"d")]
        else:
            assert merges == [(b" ", b"c"), (b" c", b"d"), (b"a", b"b")]
    one = train_bpe(" aa bb aa bb cc", 260).tokenizer.merges
    two = train_bpe(" bb aa cc bb aa", 260).tokenizer.merges
    assert one == two  # the same chunks in another order give the same merges


def test_training_stops_when_no_pair_is_left_and_specials_are_never_merged():
    result = train_bpe("ab<|endoftext|>ab", 1000, special_tokens=[SPECIAL])
    tokenizer = result.tokenizer
    assert len(tokenizer.merges) == 1 and len(tokenizer.vocab) == 257
    assert tokenizer.token_to_id(SPECIAL) == 257
    assert tokenizer.encode("ab<|endoftext|>ab") == [256, 257, 256]
    assert train_bpe("", 300).tokenizer.encode("") == []


def test_encoding_uses_a_rank_table_not_the_merge_list(small):
    copy = BPETokenizer(small.vocab, small.merges, small.special_tokens)

    class Untouchable(list):
        def __iter__(self):
            raise AssertionError("encoding must not loop over the merge list")

        def __getitem__(self, index):
            raise AssertionError("encoding must not index the merge list")

    copy.merges = Untouchable(copy.merges)
    text = "Whether 'tis nobler in the mind to suffer"
    assert copy.encode(text) == small.encode(text)


def test_repeated_chunks_are_merged_once(small, monkeypatch):
    copy = BPETokenizer(small.vocab, small.merges, small.special_tokens)
    calls = Counter()
    original = copy._merge_chunk

    def counting(piece: bytes) -> list[int]:
        calls[piece] += 1
        return original(piece)

    monkeypatch.setattr(copy, "_merge_chunk", counting)
    ids = copy.encode("the the the the cat the")
    assert copy.decode(ids) == "the the the the cat the"
    assert calls[b" the"] == 1  # four occurrences, one merge
    assert all(n == 1 for n in calls.values())


def test_gpt2_files_round_trip_and_match_the_oracle(trained_bpe, corpus, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = trained_bpe.tokenizer
    vocab_path, merges_path = tokenizer.save_gpt2(tmp_path)
    assert merges_path.read_text(encoding="utf-8").splitlines()[0].startswith("#version")
    loaded = BPETokenizer.from_gpt2_files(vocab_path, merges_path, {SPECIAL: tokenizer.token_to_id(SPECIAL)})
    oracle = Tokenizer(models.BPE.from_file(str(vocab_path), str(merges_path)))
    oracle.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    sample = corpus[:20_000]
    assert loaded.encode(sample) == tokenizer.encode(sample) == oracle.encode(sample).ids


def test_a_gpt2_style_vocabulary_with_any_id_order(small):
    """Ids in GPT-2's vocab.json follow no byte order; the special token sits inside vocab.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab, merges = small.to_gpt2()
    del vocab[PAD]
    names = sorted(vocab)
    ids = list(range(len(names)))
    random.Random(1).shuffle(ids)
    shuffled = dict(zip(names, ids, strict=True))
    lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
    loaded = BPETokenizer.from_gpt2(shuffled, lines, special_tokens={SPECIAL: shuffled[SPECIAL]})
    oracle = Tokenizer(models.BPE(vocab=shuffled, merges=merges))
    oracle.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    oracle.add_special_tokens([SPECIAL])
    text = "First Citizen:\nBefore we proceed any further, hear me speak.<|endoftext|>Ĝ ünïcödé 123"
    assert loaded.encode(text) == oracle.encode(text).ids
    assert loaded.decode(loaded.encode(text)) == text
    assert loaded.encode(SPECIAL) == [shuffled[SPECIAL]]
    assert bytes_to_unicode() == gpt2_byte_map()  # the alphabet of vocab.json: a space is "Ġ"
    assert "Ġthe" in shuffled and " the" not in shuffled


BAD_MERGE_LINES = ["a", "a  b", "a b c", " a"]


def test_bad_vocabularies_and_merges_are_clear_errors(small):
    bytes_only = {b: bytes([b]) for b in range(256)}
    assert BPETokenizer(bytes_only, []).encode("ab") == [97, 98]
    with pytest.raises(ValueError, match="empty vocabulary"):
        BPETokenizer({}, [])
    with pytest.raises(ValueError, match="empty vocabulary"):
        BPETokenizer.from_gpt2({}, [])
    with pytest.raises(ValueError, match="single-byte tokens"):
        BPETokenizer({i: bytes([i]) for i in range(255)}, [])
    with pytest.raises(ValueError, match="same bytes"):
        BPETokenizer({**bytes_only, 256: b"a"}, [])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        BPETokenizer(bytes_only, [(97, 999)])
    with pytest.raises(ValueError, match="has no token id"):
        BPETokenizer(bytes_only, [(97, 98)])
    with pytest.raises(ValueError, match="special tokens"):
        BPETokenizer(bytes_only, [], {"<s>": 5})  # collides with byte 5
    with pytest.raises(ValueError, match="byte-level character"):
        BPETokenizer.from_gpt2({"a": 0, "\u4e00": 1}, [])
    vocab, _ = small.to_gpt2()
    for line in BAD_MERGE_LINES:
        with pytest.raises(ValueError, match="merge line 1"):
            BPETokenizer.from_gpt2(vocab, [line])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        BPETokenizer.from_gpt2(vocab, ["Ġ zzzzzz"])


@pytest.mark.parametrize("size", [0, 255, -1, 300.0, True])
def test_bad_vocab_size_is_a_clear_error(size):
    assert train_bpe("abc", 256).tokenizer.merges == []
    with pytest.raises(ValueError, match="vocab_size must be an int >= 256"):
        train_bpe("abc", size)
    with pytest.raises(ValueError, match="distinct"):
        train_bpe("abc", 300, special_tokens=["<s>", "<s>"])
