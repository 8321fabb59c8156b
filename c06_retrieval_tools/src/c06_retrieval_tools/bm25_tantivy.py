"""BM25 with tantivy: an inverted index on disk, raw user queries, highlighted snippets.

tantivy is a search-engine library in Rust (Lucene's design): documents are
split into *tokens* by an *analyser*, and for every token the index stores the
documents that contain it (a *posting list*) with term frequencies and
positions. A query looks up only the posting lists of its own tokens, so it
costs time proportional to those lists, not to the collection.

Scoring is Okapi BM25 (Robertson et al.) with tantivy's constants k1 = 1.2 and
b = 0.75; :mod:`~c06_retrieval_tools.bm25_scratch` computes the same formula
over a scipy sparse matrix, so you can see exactly what the engine computes.

The analyser is the same at index and query time, and the scratch BM25 calls it
too: a simple tokenizer (runs of letters and digits), tokens longer than 40
bytes dropped, lowercasing, English stopwords removed, Porter (snowball)
stemming. tantivy does not persist analysers, so it is registered again
whenever an index is opened.

User queries are *text*, not query syntax: ``(chapman-enskog theory)`` or
``the ?slip? effect`` would make a query parser raise. :meth:`TantivyBM25.search`
runs the raw text through the analyser and builds a disjunction of term queries
itself, so no query ever raises: one with no token left (empty, punctuation,
stopwords only) returns an empty result. A term that repeats counts as many
times as it appears (a boost), and the distinct terms are capped at
``MAX_QUERY_TERMS``, so a 100 kB query stays cheap.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy
from rich.progress import Progress

from c06_retrieval_tools.collection import Document, Hit

ANALYZER_NAME = "c06_en"
MAX_TOKEN_BYTES = 40
MAX_QUERY_TERMS = 1024  # distinct terms kept from one query (the first ones)
WRITER_HEAP_BYTES = 50_000_000  # tantivy flushes a segment when its indexing buffer reaches this
SNIPPET_CHARS = 160


class BadIndexError(ValueError):
    """An index directory that does not hold a usable index (missing, corrupted, wrong schema)."""


def make_analyzer() -> tantivy.TextAnalyzer:
    """The analyser used for documents and queries (and by the scratch BM25)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def make_schema() -> tantivy.Schema:
    """``doc_id``: stored, indexed whole (for lookups and deletes); ``text``: analysed, stored, positions."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=True, tokenizer_name=ANALYZER_NAME, index_option="position")
    return builder.build()


@dataclass(frozen=True)
class Snippet:
    """A fragment of a document around the query terms, with the matches marked."""

    doc_id: str
    fragment: str
    highlighted: list[tuple[int, int]]  # character ranges of the matches inside ``fragment``
    html: str  # the fragment with <b>...</b> around each match


class TantivyBM25:
    """A BM25 index over documents' ``text`` (title and body), in memory or in a directory.

    Create with :meth:`create` (a new index) or :meth:`open` (an existing directory), then
    :meth:`add` documents and :meth:`search`.
    """

    def __init__(self, index: tantivy.Index, path: Path | None) -> None:
        self._index = index
        self.path = path
        self.analyzer = make_analyzer()
        self._index.register_tokenizer(ANALYZER_NAME, self.analyzer)
        self._schema = index.schema

    @classmethod
    def create(cls, path: Path | str | None = None, *, overwrite: bool = False) -> TantivyBM25:
        """A new empty index in ``path`` (created if needed), or in memory when ``path`` is None.

        Raises:
            FileExistsError: ``path`` already holds an index and ``overwrite`` is False.
        """
        # BEGIN SOLUTION c06.3: refuse to clobber an index unless asked; make the schema and the index
        if path is None:
            return cls(tantivy.Index(make_schema()), None)
        path = Path(path)
        if (path / "meta.json").exists():
            if not overwrite:
                raise FileExistsError(f"{path} already holds an index: open it, or pass overwrite=True")
            # Move the old index aside first: a reader still open on it may write a lock file into
            # it while it is being deleted, and the new index must start from an empty directory.
            doomed = path.with_name(f".{path.name}.deleting-{uuid.uuid4().hex}")
            path.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return cls(tantivy.Index(make_schema(), path=str(path), reuse=False), path)
        # END SOLUTION

    @classmethod
    def open(cls, path: Path | str) -> TantivyBM25:
        """Reopen an index written by :meth:`create` and :meth:`add`.

        Raises:
            BadIndexError: no index there, a corrupted one, or one with another schema.
        """
        # BEGIN SOLUTION c06.3: need meta.json; open; check the schema; read a doc to detect damage
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise BadIndexError(f"no tantivy index in {path} (meta.json is missing)")
        try:
            index = tantivy.Index.open(str(path))
        except Exception as err:  # tantivy raises ValueError or OSError subclasses for a damaged index
            raise BadIndexError(f"{path} holds a corrupted or unreadable tantivy index: {err}") from err
        bm25 = cls(index, path)
        try:
            searcher = bm25._index.searcher()
            bm25._check_schema()
            if searcher.num_docs:
                searcher.doc(searcher.search(tantivy.Query.all_query(), 1).hits[0][1])
        except BadIndexError:
            raise
        except Exception as err:
            raise BadIndexError(f"{path} holds a corrupted or unreadable tantivy index: {err}") from err
        return bm25
        # END SOLUTION

    def _check_schema(self) -> None:
        try:
            tantivy.Query.term_query(self._schema, "doc_id", "x")
            tantivy.Query.term_query(self._schema, "text", "x")
        except ValueError as err:
            raise BadIndexError(f"{self.path} is a tantivy index with another schema (needs doc_id, text)") from err

    @property
    def num_docs(self) -> int:
        return int(self._index.searcher().num_docs)

    def contains(self, doc_id: str) -> bool:
        return int(self._index.searcher().doc_freq("doc_id", doc_id)) > 0

    def add(self, documents: Iterable[Document], *, progress: bool = False) -> int:
        """Index ``documents`` in one commit; return how many were added.

        All or nothing: if any document is invalid (an empty or duplicate id, a text that
        is not a str) the writer rolls back, so everything indexed before stays intact.

        Raises:
            ValueError: the first invalid document (nothing of this call is committed).
        """
        # BEGIN SOLUTION c06.3: one writer; validate and add each doc (progress bar); commit, or roll back
        docs = list(documents)
        writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        seen: set[str] = set()
        try:
            with Progress(disable=not progress, transient=True) as bar:
                task = bar.add_task("indexing (BM25)", total=len(docs))
                for doc in docs:
                    if not isinstance(doc.doc_id, str) or not doc.doc_id or not isinstance(doc.text, str):
                        raise ValueError(f"document {doc.doc_id!r}: the id must be a non-empty str, the text a str")
                    if doc.doc_id in seen or self.contains(doc.doc_id):
                        raise ValueError(f"document id {doc.doc_id!r} is already indexed")
                    seen.add(doc.doc_id)
                    writer.add_document(tantivy.Document(doc_id=doc.doc_id, text=doc.text))
                    bar.advance(task)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer  # releases the directory's writer lock now, not at garbage collection
        self._index.reload()
        return len(docs)
        # END SOLUTION

    def query_terms(self, text: str) -> Counter[str]:
        """The analysed terms of a raw query with their counts (at most ``MAX_QUERY_TERMS`` distinct)."""
        # BEGIN SOLUTION c06.3: analyse; count; keep the first MAX_QUERY_TERMS distinct terms
        if not isinstance(text, str):
            raise TypeError(f"a query is a str, got {type(text).__name__}")
        counts: Counter[str] = Counter()
        for token in self.analyzer.analyze(text):
            if token in counts or len(counts) < MAX_QUERY_TERMS:
                counts[token] += 1
        return counts
        # END SOLUTION

    def build_query(self, text: str) -> tantivy.Query | None:
        """A disjunction of term queries (boosted by count) for raw ``text``; None if no term is left."""
        # BEGIN SOLUTION c06.3: one SHOULD clause per distinct term, boosted by its count
        terms = self.query_terms(text)
        if not terms:
            return None
        clauses = []
        for term, count in terms.items():
            query = tantivy.Query.term_query(self._schema, "text", term)
            clauses.append((tantivy.Occur.Should, query if count == 1 else tantivy.Query.boost_query(query, count)))
        return tantivy.Query.boolean_query(clauses)
        # END SOLUTION

    def search(self, text: str, top_k: int = 10) -> list[Hit]:
        """The ``top_k`` best documents for a raw user query, best first; [] when no term is left.

        Raises:
            ValueError: ``top_k`` is not a positive int.
        """
        # BEGIN SOLUTION c06.3: check top_k; build the query; search; map addresses to stored doc ids
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        query = self.build_query(text)
        if query is None:
            return []
        searcher = self._index.searcher()
        hits = searcher.search(query, limit=top_k).hits
        return [(str(searcher.doc(address)["doc_id"][0]), float(score)) for score, address in hits]
        # END SOLUTION

    def search_many(self, queries: dict[str, str], top_k: int = 100) -> dict[str, dict[str, float]]:
        """A run: ``{query id: {doc id: score}}`` for every query (its ``top_k`` best documents)."""
        return {qid: dict(self.search(text, top_k)) for qid, text in queries.items()}

    def snippets(self, text: str, doc_ids: Sequence[str], max_chars: int = SNIPPET_CHARS) -> list[Snippet]:
        """A highlighted fragment of each document for a raw query (empty fragments if no term is left)."""
        # BEGIN SOLUTION c06.3: a SnippetGenerator for the query; look each doc up by id; collect the ranges
        query = self.build_query(text)
        searcher = self._index.searcher()
        out = []
        for doc_id in doc_ids:
            found = searcher.search(tantivy.Query.term_query(self._schema, "doc_id", doc_id), 1).hits
            if not found:
                raise KeyError(f"document {doc_id!r} is not in the index")
            if query is None:
                out.append(Snippet(doc_id, "", [], ""))
                continue
            generator = tantivy.SnippetGenerator.create(searcher, query, self._schema, "text")
            generator.set_max_num_chars(max_chars)
            snippet = generator.snippet_from_doc(searcher.doc(found[0][1]))
            ranges = [(r.start, r.end) for r in snippet.highlighted()]
            out.append(Snippet(doc_id, snippet.fragment(), ranges, snippet.to_html()))
        return out
        # END SOLUTION
