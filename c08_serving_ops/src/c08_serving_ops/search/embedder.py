"""The model behind /embed: c06's MiniLM, split into a cheap tokenize step and one forward pass per batch.

The batcher needs two things from the model: the *cost* of a request before it runs
(token counts, so a batch stays under its token budget) and a function that embeds a
whole micro-batch in one forward pass. c06's :class:`~c06_retrieval_tools.MiniLMEncoder`
does both inside ``encode``; here they are apart:

* :meth:`Embedder.tokenize` runs the WordPiece tokenizer (fast, Rust) for the request handler
  (on the service's CPU pool, never on the event loop) and says which inputs were longer than
  ``max_tokens``; a long text is tokenized by its head, so its cost is bounded by ``max_tokens``;
* :meth:`Embedder.forward` embeds a whole micro-batch: rows sorted by length, in groups
  of ``SUB_BATCH`` padded to their longest row (on a CPU the cost is per *padded* token,
  so padding a 5-token query to 39 wastes most of the work), then mean pooling:
  B rows -> (B, 384) vectors, *not* normalised, so each request can ask for
  ``normalize`` or not (text-embeddings-inference's flag).

The vectors equal c06's ``encode`` (which normalises) within float32 round-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from c06_retrieval_tools import MAX_SEQ_LENGTH, MiniLMEncoder, load_tokenizer, mean_pool

FloatMatrix = NDArray[np.float32]
HEAD_CHARS_PER_TOKEN = 16  # a long text is tokenized by its first max_tokens x 16 characters first
SUB_BATCH = 8  # rows per forward pass inside a batch, sorted by length: padding stays small (measured best of 4-32)


@dataclass(frozen=True)
class Tokenized:
    ids: list[int]  # at most max_tokens, [CLS] ... [SEP]
    truncated: bool  # the text was longer than max_tokens


class Embedder:
    """MiniLM as ``tokenize`` + ``forward``; one instance per process, used from one thread at a time."""

    def __init__(self, folder: Path | None = None, max_tokens: int = MAX_SEQ_LENGTH, threads: int = 1) -> None:
        self.encoder = MiniLMEncoder(folder, cache=True, max_length=max_tokens)
        self.max_tokens = max_tokens
        self.dimension = self.encoder.dimension
        self.threads = threads
        self._tokenizer = load_tokenizer(self.encoder.folder, max_tokens)

    def tokenize(self, texts: Sequence[str]) -> list[Tokenized]:
        """Token ids of each text (truncated to ``max_tokens``) and whether it was cut.

        A long text is tokenized by its head first (:func:`head_of`): when the head alone overflows,
        its first ``max_tokens`` ids are the whole text's, so a 1 MB input costs what 4 kB cost.
        Otherwise (a head with few tokens) the whole text is tokenized.
        """
        # BEGIN SOLUTION c08.4: heads of long texts; an encoding with overflowing pieces was truncated
        heads = [head_of(t, self.max_tokens * HEAD_CHARS_PER_TOKEN) for t in texts]
        encodings = self._tokenizer.encode_batch(heads)
        cut = [bool(e.overflowing) for e in encodings]
        whole = [i for i, (t, h) in enumerate(zip(texts, heads, strict=True)) if len(h) < len(t) and not cut[i]]
        for i, e in zip(whole, self._tokenizer.encode_batch([texts[i] for i in whole]), strict=True):
            encodings[i], cut[i] = e, bool(e.overflowing)  # the head fitted: only the whole text can say
        return [Tokenized(list(e.ids), c) for e, c in zip(encodings, cut, strict=True)]
        # END SOLUTION

    def forward(self, rows: Sequence[Sequence[int]]) -> FloatMatrix:
        """(B, 384) mean-pooled vectors (not normalised) of B token-id rows, in one padded forward pass."""
        # BEGIN SOLUTION c08.4: sort by length; pad each group of SUB_BATCH rows to its longest; mean-pool
        out = np.zeros((len(rows), self.dimension), dtype=np.float32)  # (B, C)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            for start in range(0, len(order), SUB_BATCH):
                group = order[start : start + SUB_BATCH]
                width = max(len(rows[i]) for i in group)
                input_ids = torch.zeros((len(group), width), dtype=torch.long)  # (b, T), [PAD] is id 0
                mask = torch.zeros((len(group), width), dtype=torch.long)  # (b, T)
                for j, i in enumerate(group):
                    input_ids[j, : len(rows[i])] = torch.tensor(rows[i], dtype=torch.long)
                    mask[j, : len(rows[i])] = 1
                with torch.inference_mode():
                    out[group] = mean_pool(self.encoder.model(input_ids, mask), mask).numpy()  # (b, C)
        finally:
            torch.set_num_threads(previous)
        return out
        # END SOLUTION

    def embed(self, texts: Sequence[str], normalize: bool = True) -> FloatMatrix:
        """Tokenize and embed ``texts`` directly (no batcher): what the startup code and tests use."""
        vectors = self.forward([t.ids for t in self.tokenize(texts)])
        return normalize_rows(vectors) if normalize else vectors


def head_of(text: str, chars: int) -> str:
    """``text`` cut at the last ASCII space, tab or newline before ``chars`` characters (whole when shorter).

    BERT's pre-tokenizer splits at whitespace and its normaliser works character by character, so
    the tokens of such a head are the first tokens of the whole text. Other characters (Unicode
    spaces, control characters the normaliser drops) are not safe cut points.
    """
    # BEGIN SOLUTION c08.4: short texts whole; else cut at the last safe whitespace (none: the whole text)
    if len(text) <= chars:
        return text
    cut = max(text.rfind(c, 0, chars) for c in " \t\n\r")
    return text if cut <= 0 else text[:cut]
    # END SOLUTION


def normalize_rows(vectors: FloatMatrix) -> FloatMatrix:
    """Rows scaled to unit L2 length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: FloatMatrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
