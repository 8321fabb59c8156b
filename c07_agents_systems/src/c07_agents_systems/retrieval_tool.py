"""The retrieval tool: BM25 (c06's tantivy index) over a seeded collection of fact documents.

The collection describes fictional towns, so no model can know the answers
beforehand and every answer is checkable: each document states a few numeric
attributes of one town ("The population of Varnholt is 41250.") and mentions a
trading partner, so a query has to find the right document, not just any one
that names the town.

A lookup is ``{"query": "population of Varnholt"}``: the tool searches the
index (c06's :class:`~c06_retrieval_tools.TantivyBM25`, in memory, built in well
under a second), takes the best document, picks its sentence that shares the
most analysed terms with the query, and returns the number in that sentence
together with the document id and the sentence, so a reviewer can see the
evidence.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from c06_retrieval_tools import Document, Hit, TantivyBM25

ATTRIBUTES: dict[str, tuple[str, int, int]] = {  # attribute -> (phrase used in questions, low, high)
    "population": ("population", 1_000, 900_000),
    "founded": ("founding year", 1100, 1950),
    "elevation": ("elevation", 5, 2500),
    "bridges": ("number of bridges", 1, 60),
}
_SYLLABLES = ("var", "hol", "quel", "moor", "bri", "tan", "kes", "trel", "dun", "mar", "ost", "lin",
              "fen", "gar", "wick", "sel", "rho", "ban", "cor", "vel", "ith", "and", "rum", "pel")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
TOP_DOCS = 3


class RetrievalError(ValueError):
    """A lookup with no usable query, or no document or sentence that holds a number for it."""


@dataclass(frozen=True)
class Town:
    name: str
    facts: dict[str, int]
    partner: str


def make_towns(n: int = 40, seed: int = 7) -> list[Town]:
    """``n`` fictional towns with distinct names and random attributes, reproducible from ``seed``."""
    # BEGIN SOLUTION c07.2: distinct three-syllable names; one value per attribute; a partner town
    if n < 2:
        raise ValueError(f"need at least 2 towns, got {n}")
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < n:
        name = "".join(rng.sample(_SYLLABLES, 3)).capitalize()
        if name not in names:
            names.append(name)
    towns = []
    for i, name in enumerate(names):
        facts = {key: rng.randint(low, high) for key, (_, low, high) in ATTRIBUTES.items()}
        partner = names[(i + rng.randint(1, n - 1)) % n]
        towns.append(Town(name, facts, partner))
    return towns
    # END SOLUTION


def town_document(town: Town) -> Document:
    """The fact document of one town (title = its name)."""
    f = town.facts
    body = (f"{town.name} is a market town on the river. The population of {town.name} is {f['population']}. "
            f"{town.name} was founded in the year {f['founded']}. The elevation of {town.name} is "
            f"{f['elevation']} metres above the sea. {town.name} has {f['bridges']} bridges. "
            f"Merchants of {town.name} trade with {town.partner}.")
    return Document(f"town-{town.name.lower()}", town.name, body)


class RetrievalTool:
    """BM25 over the fact documents; a call returns the number that answers the query."""

    def __init__(self, towns: list[Town]) -> None:
        self.towns = towns
        self.documents = {doc.doc_id: doc for doc in map(town_document, towns)}
        self.index = TantivyBM25.create(None)
        self.index.add(self.documents.values())

    def search(self, query: str, top_k: int = TOP_DOCS) -> list[Hit]:
        return self.index.search(query, top_k)

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """``{"query": text}`` -> ``{"value": number, "doc_id": ..., "sentence": ...}``.

        Raises:
            RetrievalError: no query text, no matching document, or no sentence with a number.
        """
        # BEGIN SOLUTION c07.2: search; best document; its numeric sentence sharing most query terms
        query = request.get("query") if isinstance(request, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise RetrievalError(f"a lookup is {{'query': <text>}}, got {request!r}")
        hits = self.search(query)
        if not hits:
            raise RetrievalError(f"no document matches {query!r}")
        terms = set(self.index.query_terms(query))
        doc = self.documents[hits[0][0]]
        best: tuple[int, str] | None = None
        for sentence in re.split(r"(?<=\.)\s+", doc.body):
            if not _NUMBER.search(sentence):
                continue
            overlap = len(terms & set(self.index.query_terms(sentence)))
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, sentence)
        if best is None:
            raise RetrievalError(f"document {doc.doc_id} has no sentence with a number about {query!r}")
        number = _NUMBER.findall(best[1])[-1]
        return {"value": float(number), "doc_id": doc.doc_id, "sentence": best[1]}
        # END SOLUTION
