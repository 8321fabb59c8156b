"""The vector side of the document store: a Qdrant collection that can also delete and read back.

c06's :class:`~c06_retrieval_tools.QdrantStore` adds and searches; a serving index must
also *remove* and *replace* documents, and list every payload on a warm start. This
class speaks to the same Qdrant client, in three locations:

* embedded on disk (the default): c06's :func:`~c06_retrieval_tools.qdrant_client_for`,
  so the process holds one client per folder (embedded Qdrant locks its folder);
* a Qdrant server by URL (same function);
* in memory (``in_memory``): nothing persists, rebuilt at each start from the embedding cache.

Point ids are c06's UUID5 of the document id; the id also travels in the payload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qdrant_client import QdrantClient, models

from c06_retrieval_tools import Hit, close_clients, qdrant_client_for
from c06_retrieval_tools.vector_store import check_vectors, point_id

Payload = dict[str, Any]
SCROLL_PAGE = 512


class VectorIndex:
    """A Qdrant collection of unit vectors keyed by document id."""

    def __init__(self, name: str, dimension: int, *, path: Path | None = None, url: str | None = None,
                 in_memory: bool = False) -> None:
        self.name, self.dimension = name, dimension
        self.client = QdrantClient(location=":memory:") if in_memory else qdrant_client_for(path, url)
        self.owns_client = in_memory
        if not self.client.collection_exists(name):
            self.client.create_collection(name, vectors_config=models.VectorParams(
                size=dimension, distance=models.Distance.COSINE))

    def upsert(self, doc_ids: Sequence[str], vectors: NDArray[Any], payloads: Sequence[Payload]) -> None:
        """Insert or replace points (validated first: a bad batch writes nothing)."""
        array = check_vectors(vectors, self.dimension)
        if not (len(doc_ids) == len(array) == len(payloads)):
            raise ValueError(f"{len(doc_ids)} ids, {len(array)} vectors and {len(payloads)} payloads")
        self.client.upsert(self.name, wait=True, points=models.Batch(
            ids=[point_id(d) for d in doc_ids], vectors=array.tolist(),
            payloads=[{**p, "doc_id": d} for d, p in zip(doc_ids, payloads, strict=True)]))

    def delete(self, doc_ids: Sequence[str]) -> None:
        self.client.delete(self.name, points_selector=models.PointIdsList(points=[point_id(d) for d in doc_ids]),
                           wait=True)

    def payloads(self) -> dict[str, Payload]:
        """Every document's payload (to rebuild the metadata map on a warm start)."""
        out: dict[str, Payload] = {}
        offset: Any = None
        while True:
            points, offset = self.client.scroll(self.name, limit=SCROLL_PAGE, offset=offset, with_payload=True)
            for p in points:
                payload = dict(p.payload or {})
                out[str(payload.pop("doc_id"))] = payload
            if offset is None:
                return out

    @staticmethod
    def _filter(where: Mapping[str, Any] | None) -> models.Filter | None:
        if not where:
            return None
        return models.Filter(must=[
            models.FieldCondition(key=key, match=models.MatchAny(any=list(value)) if isinstance(value, list)
                                  else models.MatchValue(value=value))
            for key, value in where.items()])

    def search(self, vector: NDArray[Any], k: int, where: Mapping[str, Any] | None = None) -> list[Hit]:
        query = check_vectors(np.asarray(vector).reshape(1, -1), self.dimension, "the query vector")[0]
        response = self.client.query_points(self.name, query=query.tolist(), limit=k,
                                            query_filter=self._filter(where), with_payload=["doc_id"])
        return [(str((p.payload or {})["doc_id"]), float(p.score)) for p in response.points]

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def close(self) -> None:
        """Close the client: ours (in memory), or c06's shared ones (one per process: this is its shutdown)."""
        if self.owns_client:
            self.client.close()
        else:
            close_clients()
