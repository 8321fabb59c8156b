"""A byte-level BPE tokenizer (GPT-2 style): encoding, decoding, special tokens, GPT-2 files.

Text becomes ids in three steps:

1. **Special tokens** such as ``<|endoftext|>`` are cut out first and map straight to their ids.
2. **Pre-tokenisation**: a regular expression splits the rest into chunks (words with their
   leading space, numbers, punctuation runs, whitespace), so that no merge ever crosses a
   chunk boundary. :data:`GPT2_PATTERN` is GPT-2's (the ``regex`` module supports ``\\p{L}``).
3. **Merging**: each chunk starts as its UTF-8 bytes (ids of the 256 byte tokens), then the
   adjacent pair with the *lowest merge rank* (the earliest learned merge) is merged, again and
   again, until no adjacent pair has a rank. Equal ranks merge left to right.

Step 3 must not loop over every merge for every chunk (50,000 merges x every word). Instead a
rank table maps a pair of ids to (rank, merged id), and a heap holds the candidate pairs of the
chunk ordered by (rank, position): popping gives the next merge in O(log n). Entries made stale by
an earlier merge are recognised and skipped when popped. A dictionary caches the ids of each chunk
already seen: in natural text most chunks are repeats, so most of the work is a lookup.

Decoding concatenates the bytes of the tokens and decodes UTF-8. Any string survives
``decode(encode(s)) == s``, because every string is bytes and every byte is a token. Two edges:
a lone surrogate (``"\\ud800"``) is not text and has no UTF-8 bytes, so ``encode`` raises a
ValueError naming it; and a vocabulary that lacks some single-byte tokens (SmolLM2's, in part 2)
is accepted only with ``missing_bytes="replace"``: a character it cannot spell is encoded as U+FFFD,
so every id stays inside the vocabulary.

GPT-2 files store tokens not as bytes but as printable strings: each byte is written as one
visible character (a space becomes ``Ġ``; see :mod:`~c05_nlp_transformers.byte_level`).
``vocab.json`` maps those strings to ids, ``merges.txt`` lists one merge per line, ``"Ġ t"``, in
rank order. :meth:`BPETokenizer.from_gpt2` reads that format, which is also what c05 part 2 finds
in a GGUF file.
"""

from __future__ import annotations

import codecs
import functools
import heapq
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import regex  # type: ignore[import-untyped]  # no stubs for the regex module

from c05_nlp_transformers.byte_level import (
    REPLACEMENT,
    bytes_to_gpt2_string,
    check_text,
    gpt2_string_to_bytes,
    replace_unspellable,
)
from c05_nlp_transformers.pretokenize import GPT2_PATTERN

CACHE_LIMIT = 100_000  # chunks whose ids are remembered; a bound keeps memory flat on huge inputs


AllowedSpecial = Literal["all", "none"] | Collection[str]
MissingBytes = Literal["error", "replace"]


class BPETokenizer:
    """Byte-level BPE over a vocabulary of byte strings and a ranked list of merges.

    Args:
        vocab: token id -> its bytes. Must hold every single byte (256 tokens) and one id per
            distinct byte string.
        merges: ``(left id, right id)`` pairs in rank order; the merge of a pair produces the
            token whose bytes are the two tokens' bytes concatenated, which must be in ``vocab``.
        special_tokens: special token string -> id; ids must not collide with ``vocab``.
        pattern: the pre-tokenisation regular expression (``regex`` syntax).
        missing_bytes: ``"error"`` (a vocabulary must hold all 256 single-byte tokens) or
            ``"replace"`` (it may lack some; a character whose UTF-8 bytes include one of them is
            encoded as U+FFFD, whose bytes must be in the vocabulary).
    """

    def __init__(
        self,
        vocab: Mapping[int, bytes],
        merges: Sequence[tuple[int, int]],
        special_tokens: Mapping[str, int] | None = None,
        pattern: str = GPT2_PATTERN,
        missing_bytes: MissingBytes = "error",
    ) -> None:
        self.vocab: dict[int, bytes] = dict(vocab)
        self.merges: list[tuple[int, int]] = [(int(a), int(b)) for a, b in merges]
        self.special_tokens: dict[str, int] = dict(special_tokens or {})
        self.pattern = pattern
        self._compiled = regex.compile(pattern)
        self._cache: dict[str, list[int]] = {}
        # BEGIN SOLUTION c05.1: validate the vocabulary, build the byte-to-id table and the rank table
        if not self.vocab:
            raise ValueError("empty vocabulary: a byte-level BPE needs at least the 256 single-byte tokens")
        self._token_ids: dict[bytes, int] = {}
        for token_id, token in self.vocab.items():
            if token in self._token_ids:
                raise ValueError(f"tokens {self._token_ids[token]} and {token_id} have the same bytes {token!r}")
            self._token_ids[token] = token_id
        missing = [b for b in range(256) if bytes([b]) not in self._token_ids]
        if missing_bytes not in ("error", "replace"):
            raise ValueError(f"missing_bytes must be 'error' or 'replace', not {missing_bytes!r}")
        if missing and missing_bytes == "error":
            raise ValueError(f"the vocabulary lacks {len(missing)} single-byte tokens (first: byte {missing[0]})")
        self._missing = frozenset(missing)  # encode() replaces any character that needs one of these
        if self._missing.intersection(REPLACEMENT.encode("utf-8")):
            raise ValueError("the vocabulary cannot spell U+FFFD, the stand-in for characters it lacks bytes for")
        self._byte_ids = [self._token_ids.get(bytes([b]), -1) for b in range(256)]  # -1: never looked up
        self._ranks: dict[tuple[int, int], tuple[int, int]] = {}  # (left, right) -> (rank, merged id)
        for rank, (a, b) in enumerate(self.merges):
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge {rank} ({a}, {b}) names a token id that is not in the vocabulary")
            merged = self._token_ids.get(self.vocab[a] + self.vocab[b])
            if merged is None:
                raise ValueError(f"merge {rank} produces {self.vocab[a] + self.vocab[b]!r}, which has no token id")
            self._ranks.setdefault((a, b), (rank, merged))
        clashes = [s for s, i in self.special_tokens.items() if i in self.vocab or not s]
        if clashes or len(set(self.special_tokens.values())) != len(self.special_tokens):
            raise ValueError(f"special tokens need distinct ids outside the vocabulary and non-empty names: {clashes}")
        self._special_ids = {i: s for s, i in self.special_tokens.items()}
        # END SOLUTION

    @property
    def vocab_size(self) -> int:
        """Number of ids: ordinary tokens plus special tokens."""
        return len(self.vocab) + len(self.special_tokens)

    def token_to_id(self, special: str) -> int:
        """The id of a registered special token (ValueError for an unknown one)."""
        # BEGIN SOLUTION c05.1: look the name up; an unknown one is a ValueError listing the known ones
        if special not in self.special_tokens:
            known = ", ".join(sorted(self.special_tokens)) or "none"
            raise ValueError(f"unknown special token {special!r} (known: {known})")
        return self.special_tokens[special]
        # END SOLUTION

    def _merge_chunk(self, piece: bytes) -> list[int]:
        """The ids of one pre-token: start from its bytes, apply merges lowest rank first (a heap)."""
        # BEGIN SOLUTION c05.1: a linked list of symbols and a heap of (rank, position, left, right)
        ids = [self._byte_ids[b] for b in piece]
        n = len(ids)
        if n < 2:
            return ids
        ranks = self._ranks
        nxt = [*range(1, n), -1]  # next live symbol, -1 at the end
        prv = list(range(-1, n - 1))  # previous live symbol, -1 at the start
        heap: list[tuple[int, int, int, int]] = []
        for i in range(n - 1):
            hit = ranks.get((ids[i], ids[i + 1]))
            if hit is not None:
                heap.append((hit[0], i, ids[i], ids[i + 1]))
        heapq.heapify(heap)
        while heap:
            _, i, left, right = heapq.heappop(heap)
            j = nxt[i]
            if j == -1 or ids[i] != left or ids[j] != right:
                continue  # stale: one of the two symbols was merged away since this entry was pushed
            merged = ranks[(left, right)][1]
            ids[i], ids[j] = merged, -1  # symbol j is absorbed into i
            k = nxt[j]
            nxt[i] = k
            if k != -1:
                prv[k] = i
                hit = ranks.get((merged, ids[k]))
                if hit is not None:
                    heapq.heappush(heap, (hit[0], i, merged, ids[k]))
            p = prv[i]
            if p != -1:
                hit = ranks.get((ids[p], merged))
                if hit is not None:
                    heapq.heappush(heap, (hit[0], p, ids[p], merged))
        return [t for t in ids if t != -1]
        # END SOLUTION

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of ``text`` with no special-token handling: pre-tokenise, then merge each chunk (cached)."""
        # BEGIN SOLUTION c05.1: check the text, replace what it cannot spell, split, merge (cached)
        text = replace_unspellable(check_text(text), self._missing)
        out: list[int] = []
        cache = self._cache
        for chunk in self._compiled.findall(text):
            ids = cache.get(chunk)
            if ids is None:
                ids = self._merge_chunk(chunk.encode("utf-8"))
                if len(cache) < CACHE_LIMIT:
                    cache[chunk] = ids
            out.extend(ids)
        return out
        # END SOLUTION

    def encode(self, text: str, allowed_special: AllowedSpecial = "all") -> list[int]:
        """Ids of ``text``; occurrences of allowed special tokens become their ids.

        ``allowed_special`` is ``"all"`` (every registered special token), ``"none"`` (special token
        strings are encoded as ordinary text) or a collection of names, each of which must be
        registered (ValueError otherwise). ``text`` must be a ``str`` without lone surrogates
        (ValueError otherwise: they have no UTF-8 bytes).
        """
        # BEGIN SOLUTION c05.1: check the text, resolve the allowed set, split on them, encode the gaps
        check_text(text)
        if allowed_special == "all":
            allowed = list(self.special_tokens)
        elif allowed_special == "none":
            allowed = []
        else:
            allowed = list(allowed_special)
            for name in allowed:
                self.token_to_id(name)  # raises on an unknown special token
        if not allowed:
            return self.encode_ordinary(text)
        splitter = _special_splitter(tuple(sorted(set(allowed), key=lambda s: (-len(s), s))))
        out: list[int] = []
        for n, part in enumerate(splitter.split(text)):
            if n % 2:  # odd parts are the captured special tokens
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out
        # END SOLUTION

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the tokens, concatenated (special tokens as their UTF-8 names)."""
        # BEGIN SOLUTION c05.1: token bytes or special-token names; an unknown id is a ValueError
        parts = []
        for token_id in ids:
            token = self.vocab.get(int(token_id))
            if token is None:
                special = self._special_ids.get(int(token_id))
                if special is None:
                    raise ValueError(f"unknown token id {token_id} (vocabulary size {self.vocab_size})")
                token = special.encode("utf-8")
            parts.append(token)
        return b"".join(parts)
        # END SOLUTION

    def decode(self, ids: Iterable[int]) -> str:
        """The text of the tokens; bytes that are not valid UTF-8 (a cut-off character) become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_stream(self, ids: Iterable[int]) -> Iterator[str]:
        """Text pieces as the ids arrive, holding back a character whose bytes are not complete yet."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for token_id in ids:
            piece = decoder.decode(self.decode_bytes([token_id]))
            if piece:
                yield piece
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    # -- GPT-2 format: vocab.json + merges.txt --------------------------------------------------

    @classmethod
    def from_gpt2(
        cls,
        vocab: Mapping[str, int],
        merges: Iterable[str | tuple[str, str]],
        special_tokens: Mapping[str, int] | None = None,
        pattern: str = GPT2_PATTERN,
        missing_bytes: MissingBytes = "error",
    ) -> BPETokenizer:
        """A tokenizer from a GPT-2-style vocabulary (byte-level strings -> ids) and merge list.

        Entries of ``vocab`` that are special tokens are taken as such, not as byte strings.
        ``merges`` holds ``"left right"`` lines (a ``#version`` comment line is skipped) or pairs.
        ``missing_bytes`` as in the constructor.
        """
        # BEGIN SOLUTION c05.1: strings to bytes, merge lines to id pairs; an empty vocabulary is an error
        if not vocab:
            raise ValueError("empty vocabulary: vocab.json holds no tokens")
        specials = dict(special_tokens or {})
        byte_vocab = {int(i): gpt2_string_to_bytes(s) for s, i in vocab.items() if s not in specials}
        pairs = []
        for line_no, merge in enumerate(merges, start=1):
            if isinstance(merge, str):
                if merge.startswith("#version") or not merge.strip():
                    continue
                left, sep, right = merge.rstrip("\r\n").partition(" ")
                if not sep or not left or not right or " " in right:
                    raise ValueError(f"merge line {line_no} is not two tokens separated by one space: {merge!r}")
            else:
                left, right = merge
            if left not in vocab or right not in vocab:
                raise ValueError(f"merge {line_no} ({left!r} {right!r}) names a token that is not in the vocabulary")
            pairs.append((vocab[left], vocab[right]))
        return cls(byte_vocab, pairs, specials, pattern, missing_bytes)
        # END SOLUTION

    @classmethod
    def from_gpt2_files(
        cls,
        vocab_path: str | Path,
        merges_path: str | Path,
        special_tokens: Mapping[str, int] | None = None,
        pattern: str = GPT2_PATTERN,
        missing_bytes: MissingBytes = "error",
    ) -> BPETokenizer:
        """Read ``vocab.json`` and ``merges.txt`` (see :meth:`from_gpt2`)."""
        vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        merges = Path(merges_path).read_text(encoding="utf-8").splitlines()
        return cls.from_gpt2(vocab, merges, special_tokens, pattern, missing_bytes)

    def to_gpt2(self) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """The vocabulary (special tokens included) and merges as GPT-2-style strings."""
        vocab = {bytes_to_gpt2_string(token): i for i, token in sorted(self.vocab.items())}
        vocab.update(self.special_tokens)
        merges = [(bytes_to_gpt2_string(self.vocab[a]), bytes_to_gpt2_string(self.vocab[b])) for a, b in self.merges]
        return vocab, merges

    def save_gpt2(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``vocab.json`` and ``merges.txt`` into ``folder``; return both paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        vocab, merges = self.to_gpt2()
        vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
        vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
        merges_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return vocab_path, merges_path


@functools.lru_cache(maxsize=64)
def _special_splitter(names: tuple[str, ...]) -> regex.Pattern[str]:
    """A pattern whose ``split`` keeps the special tokens (one capturing group, longest name first)."""
    return regex.compile("(" + "|".join(regex.escape(n) for n in names) + ")")
