"""Training a byte-level BPE: learn merges from a corpus by counting adjacent pairs.

Start from the 256 byte tokens. Pre-tokenise the corpus with the same pattern the tokenizer
uses (merges never cross a chunk boundary), and count each distinct chunk once with its
frequency: "the" occurs thousands of times but is processed once. Then repeat until the
vocabulary is full:

1. count every adjacent pair of tokens inside the chunks, weighted by chunk frequency;
2. take the most frequent pair (the tie-break is below) and record it as the next merge, with
   its count;
3. replace every occurrence of that pair, left to right, by the merged token.

Recounting every pair after every merge is O(corpus) per merge. Instead we keep the pair
counts and, for every pair, the set of chunks that contain it; a merge only revisits those
chunks, subtracting their old pairs and adding their new ones. A heap of ``(-count, ...)``
entries finds the most frequent pair; entries whose count has changed since they were pushed
are skipped when popped ("lazy deletion").

**Deterministic tie-breaking.** Among pairs with the highest count, the winner is the pair whose
``(bytes of left token, bytes of right token)`` is smallest, comparing the two byte strings in
order, lexicographically. It depends on the text alone: not on dictionary order, hash seeds or
token ids.

If a merge produces bytes that are already a token (``(a, bc)`` after ``(ab, c)``), the merge is
recorded but reuses that token's id, so that each byte string has exactly one id (as in
``vocab.json`` and the ``tokenizers`` library). Training stops early when no pair is left.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import regex  # type: ignore[import-untyped]  # no stubs for the regex module

from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.byte_level import check_text
from c05_nlp_transformers.pretokenize import GPT2_PATTERN


@dataclass(frozen=True)
class BPETrainResult:
    """The trained tokenizer and, for each merge in rank order, how often its pair occurred."""

    tokenizer: BPETokenizer
    merge_counts: tuple[int, ...]


def merge_pair(word: Sequence[int], left: int, right: int, merged: int) -> list[int]:
    """``word`` with every occurrence of ``(left, right)`` replaced by ``merged``, left to right."""
    # BEGIN SOLUTION c05.1: scan once; on a match emit the merged id and skip both symbols
    out: list[int] = []
    i, n = 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == left and word[i + 1] == right:
            out.append(merged)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out
    # END SOLUTION


def train_bpe(
    text: str,
    vocab_size: int,
    *,
    special_tokens: Sequence[str] = (),
    pattern: str = GPT2_PATTERN,
) -> BPETrainResult:
    """Learn merges on ``text`` until the vocabulary holds ``vocab_size`` ordinary tokens.

    Args:
        text: the training corpus (a str without lone surrogates, ValueError otherwise). Special
            token strings in it are cut out, never merged.
        vocab_size: ordinary tokens wanted: 256 byte tokens plus one per new merge (>= 256).
        special_tokens: names registered right after the ordinary tokens (the next free ids).
        pattern: pre-tokenisation pattern (the tokenizer gets the same one).

    Returns:
        The tokenizer (byte ``b`` has id ``b``, merge ``r`` creates id ``256 + r`` unless its bytes
        already had an id) and the count of each merged pair at the time it was merged.
    """
    # BEGIN SOLUTION c05.1: count chunks and pairs (with a pair -> chunks index), pop the best pair, update
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
        raise ValueError(f"vocab_size must be an int >= 256 (the byte tokens), got {vocab_size!r}")
    if len(set(special_tokens)) != len(special_tokens) or any(not s for s in special_tokens):
        raise ValueError("special tokens must be distinct, non-empty strings")
    check_text(text)  # a lone surrogate has no bytes to count: a clear ValueError, not a codec error mid-count
    compiled = regex.compile(pattern)
    if special_tokens:
        splitter = regex.compile("|".join(regex.escape(s) for s in sorted(special_tokens, key=len, reverse=True)))
        pieces = splitter.split(text)
    else:
        pieces = [text]
    chunk_counts = Counter(chunk for piece in pieces for chunk in compiled.findall(piece))

    vocab: dict[int, bytes] = {b: bytes([b]) for b in range(256)}
    token_ids: dict[bytes, int] = {t: i for i, t in vocab.items()}
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
    freqs = list(chunk_counts.values())
    pair_counts: defaultdict[tuple[int, int], int] = defaultdict(int)
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        for pair in itertools.pairwise(word):
            pair_counts[pair] += freqs[w]
            where[pair].add(w)

    def entry(pair: tuple[int, int], count: int) -> tuple[int, bytes, bytes, int, int]:
        return (-count, vocab[pair[0]], vocab[pair[1]], *pair)  # the tie-break is the tuple order

    heap = [entry(pair, count) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    counts: list[int] = []
    while len(vocab) < vocab_size and heap:
        negative, _, _, left, right = heapq.heappop(heap)
        pair = (left, right)
        if pair_counts.get(pair, 0) != -negative:
            continue  # stale entry
        merged_bytes = vocab[left] + vocab[right]
        merged = token_ids.get(merged_bytes)
        if merged is None:
            merged = len(vocab)
            vocab[merged], token_ids[merged_bytes] = merged_bytes, merged
        merges.append(pair)
        counts.append(-negative)
        changed: set[tuple[int, int]] = set()
        for w in where.pop(pair):
            word = words[w]
            new_word = merge_pair(word, left, right, merged)
            if len(new_word) == len(word):
                continue  # this chunk no longer holds the pair (the index is updated lazily)
            for old in itertools.pairwise(word):
                pair_counts[old] -= freqs[w]
                changed.add(old)
            for new in itertools.pairwise(new_word):
                pair_counts[new] += freqs[w]
                where[new].add(w)
                changed.add(new)
            words[w] = new_word
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, entry(p, pair_counts[p]))
            else:
                del pair_counts[p]
    specials = {name: len(vocab) + n for n, name in enumerate(special_tokens)}
    return BPETrainResult(BPETokenizer(vocab, merges, specials, pattern), tuple(counts))
    # END SOLUTION
