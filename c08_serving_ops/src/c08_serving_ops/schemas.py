"""Request and response bodies. Strict: unknown fields and wrong types are 422, never coerced.

``/embed`` follows text-embeddings-inference (TEI): ``{"inputs": str | [str], "normalize":
bool, "truncate": bool}`` -> ``[[float, ...], ...]``. ``truncate`` defaults to false as in
TEI: an input over the model's 256 tokens is refused (422) unless the client allows the cut.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Metadata and filters: plain keys (Qdrant reads "a.b" or "a[]" as JSON paths) and values Qdrant can match
# exactly (no floats; integers within int64).
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Scalar = Annotated[str, Field(max_length=256)] | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | bool
ScalarList = Annotated[list[Scalar], Field(min_length=1, max_length=100)]
MAX_QUERY_CHARS = 4096
MAX_DOC_CHARS = 100_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EmbedRequest(Strict):
    inputs: str | list[str]
    normalize: bool = True
    truncate: bool = False


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(10, ge=1, le=1000)
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "convex"] = "rrf"
    rerank: bool = False
    filter: Annotated[dict[Key, Scalar | ScalarList], Field(max_length=16)] | None = None


class SearchHit(Strict):
    id: str
    score: float
    title: str
    snippet: str
    ranks: dict[str, int | None]


class SearchResponse(Strict):
    hits: list[SearchHit]
    mode: str
    fusion: str
    reranked: bool
    cached: bool


class DocumentIn(Strict):
    id: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f/]+$")
    title: str = Field("", max_length=1000)
    text: str = Field(min_length=1, max_length=MAX_DOC_CHARS)
    metadata: Annotated[dict[Key, Scalar], Field(max_length=32)] = Field(default_factory=dict)


class DocumentsRequest(Strict):
    documents: list[DocumentIn] = Field(min_length=1)


class DocumentsResponse(Strict):
    upserted: int
    ids: list[str]


class DeleteResponse(Strict):
    deleted: str


class ErrorBody(Strict):
    error: str
    error_type: str


ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (401, 404, 413, 422, 429, 503)}
