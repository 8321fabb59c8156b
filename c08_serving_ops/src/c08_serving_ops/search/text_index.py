"""The BM25 side of the document store: c06's tantivy index, plus delete and replace.

:class:`~c06_retrieval_tools.TantivyBM25` adds documents (all or nothing, one commit)
and searches them. Serving needs updates too. tantivy has no update: a document is
replaced by deleting every document whose ``doc_id`` term matches and adding the new
one *in the same commit*, so a reader sees either the old or the new version, never
neither. :meth:`MutableBM25.replace` and :meth:`MutableBM25.delete` do that, with the
same writer settings as c06, and roll the writer back on any error.
"""

from __future__ import annotations

from collections.abc import Sequence

import tantivy

from c06_retrieval_tools import Document, TantivyBM25
from c06_retrieval_tools.bm25_tantivy import WRITER_HEAP_BYTES


class MutableBM25(TantivyBM25):
    """A :class:`TantivyBM25` whose documents can be replaced and deleted."""

    def _write(self, deletes: Sequence[str], adds: Sequence[Document]) -> None:
        # BEGIN SOLUTION c08.5: one writer: delete by the doc_id term, add, commit; roll back on error
        writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        try:
            for doc_id in deletes:
                writer.delete_documents_by_term("doc_id", doc_id)
            for doc in adds:
                if not isinstance(doc.doc_id, str) or not doc.doc_id or not isinstance(doc.text, str):
                    raise ValueError(f"document {doc.doc_id!r}: the id must be a non-empty str, the text a str")
                writer.add_document(tantivy.Document(doc_id=doc.doc_id, text=doc.text))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer
        self._index.reload()
        # END SOLUTION

    def replace(self, documents: Sequence[Document]) -> None:
        """Add ``documents``, replacing any stored document with the same id, in one commit."""
        ids = [d.doc_id for d in documents]
        if len(set(ids)) != len(ids):
            raise ValueError("document ids must be unique within one write")
        self._write(ids, documents)

    def delete(self, doc_ids: Sequence[str]) -> None:
        """Remove every document with one of these ids, in one commit (unknown ids are ignored)."""
        self._write(doc_ids, [])

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The stored text of each id that is indexed."""
        searcher = self._index.searcher()
        out = {}
        for doc_id in doc_ids:
            hits = searcher.search(tantivy.Query.term_query(self._index.schema, "doc_id", doc_id), 1).hits
            if hits:
                out[doc_id] = str(searcher.doc(hits[0][1])["text"][0])
        return out
