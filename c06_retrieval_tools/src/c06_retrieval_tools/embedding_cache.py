"""A disk cache of text embeddings, keyed by model and text hash.

Embedding 1400 Cranfield abstracts with MiniLM takes about a minute on two CPU
cores; every later run (the tests, the evaluation, the benchmark) needs the same
vectors. So each vector is stored under ``sha256(text)`` in a folder named by a
*model key*: a hash of the weights file and of every setting that changes the
output (maximum sequence length, pooling, normalisation, code version). Change any
of them and the key changes, so a stale vector is never served.

Layout: ``<cache home>/c06/embeddings/<model key>/shard-<hash>.npz``, one shard per
:meth:`EmbeddingCache.put` call, each holding ``keys`` (text hashes) and ``vectors``.
A shard is written to a temporary file and renamed, so a reader never sees half a
shard, and two processes that compute the same vectors at once both succeed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools.datahome import cache_home

FloatMatrix = NDArray[np.float32]


def text_key(text: str) -> str:
    """The cache key of one text: the hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors of one model, by text hash, in memory and on disk.

    Args:
        model_key: names the model and its settings (see the module docstring).
        dimension: length of every vector.
        root: the cache folder (default ``<cache home>/c06/embeddings``).
    """

    def __init__(self, model_key: str, dimension: int, root: Path | None = None) -> None:
        if not model_key or "/" in model_key or model_key.startswith("."):
            raise ValueError(f"model_key must be a plain folder name, got {model_key!r}")
        self.dimension = dimension
        self.folder = (root if root is not None else cache_home() / "c06" / "embeddings") / model_key
        self._vectors: dict[str, FloatMatrix] = {}
        self._loaded: set[str] = set()  # shard files already read

    def _refresh(self) -> None:
        """Read shards written since the last call (by this or another process)."""
        if not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("shard-*.npz")):
            if shard.name in self._loaded:
                continue
            self._loaded.add(shard.name)
            try:
                with np.load(shard) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged shard is ignored: its vectors are computed again
            if vectors.ndim == 2 and vectors.shape[1] == self.dimension and len(keys) == len(vectors):
                for key, vector in zip(keys.tolist(), vectors, strict=True):
                    self._vectors[str(key)] = vector.astype(np.float32)

    def get(self, texts: Sequence[str]) -> list[FloatMatrix | None]:
        """The cached vector of each text, or None where there is none."""
        # BEGIN SOLUTION c06.4: refresh from disk, then look each text hash up
        self._refresh()
        return [self._vectors.get(text_key(text)) for text in texts]
        # END SOLUTION

    def put(self, texts: Sequence[str], vectors: FloatMatrix) -> None:
        """Store ``vectors`` (n, dimension) for ``texts`` (n) as one new shard."""
        # BEGIN SOLUTION c06.4: check shapes; write keys and vectors to a temp file; rename it into place
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), self.dimension):
            raise ValueError(f"expected vectors of shape ({len(texts)}, {self.dimension}), got {vectors.shape}")
        if not texts:
            return
        keys = [text_key(text) for text in texts]
        for key, vector in zip(keys, vectors, strict=True):
            self._vectors[key] = vector
        name = f"shard-{hashlib.sha256(''.join(keys).encode()).hexdigest()[:16]}.npz"
        tmp: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.folder)
            tmp = Path(tmp_name)
            with os.fdopen(handle, "wb") as out:
                np.savez(out, keys=np.array(keys), vectors=vectors)
            os.replace(tmp, self.folder / name)
            self._loaded.add(name)
        except OSError:
            pass  # a read-only or full disk only costs recomputation later, never a wrong answer
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        # END SOLUTION

    def __len__(self) -> int:
        self._refresh()
        return len(self._vectors)
