"""The in-memory test collection: documents, queries and graded relevance judgments.

A *test collection* is what makes retrieval measurable (Cleverdon's Cranfield
experiments, 1960s): a fixed set of documents, a set of queries, and for each
query the documents a person judged, with a grade. Every loader in
:mod:`~c06_retrieval_tools.loaders` returns this one type, so the indexers,
the metrics and the evaluation never care where the data came from.

Conventions (the same as TREC, pytrec_eval and ir-measures):

* ids are strings, documents keep the order of their source file;
* ``qrels[query_id][doc_id]`` is a *gain*: an int, 0 for "judged not relevant",
  higher for more relevant; an unjudged document counts as gain 0;
* a *run* maps ``query_id -> {doc_id: score}``, higher scores ranked first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Qrels = dict[str, dict[str, int]]  # query id -> doc id -> graded gain (0 = judged not relevant)
Run = dict[str, dict[str, float]]  # query id -> doc id -> score (higher is better)
Hit = tuple[str, float]  # (doc id, score) of one retrieved document: BM25 score, cosine similarity or fused score


@dataclass(frozen=True)
class Document:
    """One document: a stable id, a title and a body (either may be empty)."""

    doc_id: str
    title: str
    body: str

    @property
    def text(self) -> str:
        """Title and body as one text, the field every retriever indexes."""
        return f"{self.title}\n{self.body}" if self.title else self.body


@dataclass
class Collection:
    """Documents, queries and judgments of one test collection.

    Attributes:
        name: a short name for tables ("cranfield", or the BEIR folder's name).
        documents: in source order; ``doc_id`` values are unique.
        queries: query id -> raw query text, exactly as the user typed it.
        qrels: query id -> doc id -> gain (see the module docstring).
    """

    name: str
    documents: list[Document]
    queries: dict[str, str]
    qrels: Qrels
    _position: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._position = {}
        for i, doc in enumerate(self.documents):
            if doc.doc_id in self._position:
                raise ValueError(f"collection {self.name!r}: document id {doc.doc_id!r} appears twice")
            self._position[doc.doc_id] = i

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def doc_ids(self) -> list[str]:
        return [doc.doc_id for doc in self.documents]

    def position(self, doc_id: str) -> int:
        """Row of ``doc_id`` in ``documents`` (KeyError for an unknown id)."""
        return self._position[doc_id]

    def document(self, doc_id: str) -> Document:
        return self.documents[self._position[doc_id]]

    def judged_queries(self) -> list[str]:
        """Query ids with at least one relevant (gain > 0) document, in query order.

        Queries without a relevant document score 0 on every measure whatever the system
        does, so evaluations average over these only (as trec_eval does).
        """
        return [q for q in self.queries if any(g > 0 for g in self.qrels.get(q, {}).values())]
