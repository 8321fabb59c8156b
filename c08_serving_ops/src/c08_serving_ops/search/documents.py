"""The document store: BM25 and vectors written together, never half a document.

A document lives in two indexes (tantivy for BM25, Qdrant for vectors) and a metadata
map (title and user fields, for filters and results). There is no transaction across
two engines, so each write is ordered and *compensated*:

1. validate everything and compute the vectors first (no index touched yet);
2. read what the write will overwrite: the old texts (BM25 stores them);
3. write BM25 in one commit (tantivy rolls back by itself on error);
4. write the vectors in one request (Qdrant applies it whole or not at all); if that
   fails, undo step 3 from the saved texts and re-raise;
5. update the metadata map.

So after any failure both indexes hold exactly what they held before. If the undo
itself fails, the store marks itself *inconsistent*: ``/health`` turns 503 and names it.
Writes take a lock, so two writers never interleave their steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from c06_retrieval_tools import Collection, Document
from c08_serving_ops.search.text_index import MutableBM25
from c08_serving_ops.search.vectors import Payload, VectorIndex

EmbedFn = Callable[[Sequence[str]], NDArray[np.float32]]  # texts -> (n, d) unit vectors


class IndexWriteError(RuntimeError):
    """A write failed; both indexes were restored (``consistent``) or could not be (not)."""

    def __init__(self, message: str, consistent: bool) -> None:
        super().__init__(message)
        self.consistent = consistent


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> Payload:
        return {**self.metadata, "title": self.title}


def matches(payload: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """Does a payload satisfy ``where`` (every key equal; a list value matches any of its items)?"""
    if not where:
        return True
    for key, wanted in where.items():
        value = payload.get(key)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted or type(value) is not type(wanted):
            return False
    return True


class DocumentStore:
    """BM25 + vectors + metadata of one collection, kept in step (see the module docstring)."""

    def __init__(self, bm25: MutableBM25, vectors: VectorIndex, metadata: dict[str, Payload]) -> None:
        self.bm25, self.vectors, self.metadata = bm25, vectors, metadata
        self.consistent = True
        self.lock = threading.RLock()  # searches read under it too: the embedded Qdrant is not thread-safe

    @classmethod
    def open(cls, collection: Collection, embed: EmbedFn, dimension: int, *, path: Path | None,
             qdrant_url: str | None = None, in_memory: bool = False) -> DocumentStore:
        """Reuse the indexes under ``path`` when both hold documents, else build both from ``collection``.

        When only BM25 is missing and the vectors hold exactly the collection's documents, only
        BM25 is rebuilt: a new replica never rewrites a shared Qdrant collection. (Documents added
        through the API are not in the collection: then both sides are rebuilt from it.)
        """
        # BEGIN SOLUTION c08.1: open or create both indexes; reuse them when they agree, else rebuild both
        name = f"c08-{collection.name}"
        qdrant_path = None if qdrant_url else (path / "qdrant" if path else None)
        if in_memory or path is None:
            bm25, vectors = cast(MutableBM25, MutableBM25.create(None)), VectorIndex(name, dimension, in_memory=True)
        else:
            try:
                bm25 = cast(MutableBM25, MutableBM25.open(path / "bm25"))
            except ValueError:  # BadIndexError: missing or damaged
                bm25 = cast(MutableBM25, MutableBM25.create(path / "bm25", overwrite=True))
            vectors = VectorIndex(name, dimension, path=qdrant_path, url=qdrant_url)
            if bm25.num_docs and vectors.count() == bm25.num_docs:  # a warm start
                return cls(bm25, vectors, vectors.payloads())
            bm25 = cast(MutableBM25, MutableBM25.create(path / "bm25", overwrite=True))
            payloads = vectors.payloads() if vectors.count() == len(collection) else {}
            if payloads and set(payloads) == set(collection.doc_ids):
                # the vectors hold exactly the collection (a new replica of a shared Qdrant, or a lost
                # BM25 folder): rebuild only the local BM25 and leave the vectors, and other replicas, alone
                bm25.add(Document(d.doc_id, "", d.text) for d in collection.documents)  # fresh: c06's bulk add
                return cls(bm25, vectors, payloads)
            if vectors.count():
                vectors.client.delete_collection(name)
                vectors = VectorIndex(name, dimension, path=qdrant_path, url=qdrant_url)
        # Both indexes are empty: a bulk build (c06's add, one Qdrant upsert), not the guarded upsert of /documents.
        docs = [StoredDocument(d.doc_id, d.title, d.text, {"source": collection.name}) for d in collection.documents]
        bm25.add(Document(d.doc_id, "", d.text) for d in docs)
        vectors.upsert([d.doc_id for d in docs], embed([d.text for d in docs]), [d.payload() for d in docs])
        return cls(bm25, vectors, {d.doc_id: d.payload() for d in docs})
        # END SOLUTION

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self.metadata

    def __len__(self) -> int:
        return len(self.metadata)

    def upsert(self, docs: Sequence[StoredDocument], vectors: NDArray[np.float32]) -> None:
        """Add or replace ``docs`` (with their (n, d) vectors) in both indexes, or in neither.

        Raises:
            ValueError: invalid documents or vectors (nothing written).
            IndexWriteError: an index failed; see ``consistent``.
        """
        # BEGIN SOLUTION c08.5: validate; save what is overwritten; BM25; vectors (undo BM25 on failure)
        ids = [d.doc_id for d in docs]
        if not docs or len(set(ids)) != len(ids) or any(not i for i in ids):
            raise ValueError("give at least one document, with unique non-empty ids")
        if np.asarray(vectors).shape != (len(docs), self.vectors.dimension):
            raise ValueError(f"need ({len(docs)}, {self.vectors.dimension}) vectors, got {np.asarray(vectors).shape}")
        with self.lock:
            old_texts = self.bm25.texts(ids)
            try:
                self.bm25.replace([Document(d.doc_id, "", d.text) for d in docs])
            except Exception as err:
                raise IndexWriteError(f"BM25 write failed, nothing changed: {err}", consistent=True) from err
            try:
                self.vectors.upsert(ids, vectors, [d.payload() for d in docs])
            except Exception as err:
                self._undo(ids, old_texts, f"vector write failed: {err}")
            for d in docs:
                self.metadata[d.doc_id] = d.payload()
        # END SOLUTION

    def delete(self, doc_id: str) -> None:
        """Remove a document from both indexes, or from neither.

        Raises:
            KeyError: no such document.
            IndexWriteError: an index failed; see ``consistent``.
        """
        # BEGIN SOLUTION c08.5: 404 first; save the old copies; BM25; vectors (undo BM25 on failure)
        with self.lock:
            if doc_id not in self.metadata:
                raise KeyError(doc_id)
            old_texts = self.bm25.texts([doc_id])
            try:
                self.bm25.delete([doc_id])
            except Exception as err:
                raise IndexWriteError(f"BM25 delete failed, nothing changed: {err}", consistent=True) from err
            try:
                self.vectors.delete([doc_id])
            except Exception as err:
                self._undo([doc_id], old_texts, f"vector delete failed: {err}")
            del self.metadata[doc_id]
        # END SOLUTION

    def _undo(self, ids: Sequence[str], old_texts: dict[str, str], why: str) -> None:
        """Put BM25 back as it was for ``ids`` from the saved texts, then raise.

        The vector side needs no undo: Qdrant applies one upsert or delete request as one
        operation, so the request that failed changed nothing there.
        """
        try:
            self.bm25.delete([i for i in ids if i not in old_texts])
            self.bm25.replace([Document(i, "", t) for i, t in old_texts.items()])
        except Exception as err:
            self.consistent = False
            raise IndexWriteError(f"{why}; restoring BM25 failed too ({err}): the store is inconsistent",
                                  consistent=False) from err
        raise IndexWriteError(f"{why}; both indexes restored", consistent=True)

    def close(self) -> None:
        self.vectors.close()
