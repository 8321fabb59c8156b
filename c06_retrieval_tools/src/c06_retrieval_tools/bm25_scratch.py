"""BM25 from scratch over a scipy sparse matrix: what tantivy computes, in a few lines of numpy.

For a query with terms t (a term that repeats counts once per occurrence) and a
document d, Okapi BM25 as tantivy (and Lucene) computes it is::

    score(q, d) = sum_t  idf(t) * (k1 + 1) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

with N documents, df(t) of them containing t, tf(t, d) occurrences of t in d,
|d| the number of tokens of d after analysis, avgdl the mean of |d| over the
collection, k1 = 1.2 (how fast repeated occurrences saturate) and b = 0.75 (how
much longer documents are penalised).

One detail makes engine and formula differ unless you copy it: tantivy stores
|d| in one byte per document (the *fieldnorm*), rounding it down to one of 256
values that are exact up to 39 and then geometrically spaced with 4 significant
bits (Lucene's ``SmallFloat.intToByte4``). avgdl is not rounded. Scores are f32
in the engine and f64 here, hence the 1e-4 tolerance of the agreement test.

Because everything except the query is fixed, the whole index is one sparse
(n_docs, n_terms) matrix ``W`` of per-term weights, and scoring a query is one
sparse matrix-vector product ``W @ q`` with q the query's term counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from c06_retrieval_tools.bm25_tantivy import make_analyzer
from c06_retrieval_tools.collection import Document, Hit

K1 = 1.2
B = 0.75
_FREE_VALUES = 24  # lengths 0..23 are stored as themselves


def _int4_to_long(code: int) -> int:
    """Decode Lucene's 4-bit-mantissa code (3 stored bits plus an implicit leading 1)."""
    bits, shift = code & 0x07, (code >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


FIELDNORM_TABLE: NDArray[np.int64] = np.array(
    [i if i < _FREE_VALUES else _FREE_VALUES + _int4_to_long(i - _FREE_VALUES) for i in range(256)],
    dtype=np.int64,
)  # (256,): 0..40 exact, then 42, 44, ..., 56, 60, ..., up to 2_013_265_944


def quantize_length(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Round each document length down to the nearest value tantivy can store in its fieldnorm byte."""
    # BEGIN SOLUTION c06.3: binary search in FIELDNORM_TABLE, rounding down
    index = np.searchsorted(FIELDNORM_TABLE, lengths, side="right") - 1
    return FIELDNORM_TABLE[index]
    # END SOLUTION


class ScratchBM25:
    """BM25 over a sparse term-weight matrix, with tantivy's analyser and constants.

    Attributes after :meth:`fit`:
        doc_ids: row order of the matrix.
        vocabulary: term -> column.
        weights: (n_docs, n_terms) CSR matrix, ``weights[d, t]`` = the BM25 contribution of one
            occurrence of t in the query.
        idf: (n_terms,) inverse document frequencies.
    """

    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self.analyzer = make_analyzer()
        self.doc_ids: list[str] = []
        self.vocabulary: dict[str, int] = {}
        self.weights: sp.csr_matrix | None = None
        self.idf: NDArray[np.float64] = np.zeros(0)

    def fit(self, documents: Sequence[Document]) -> ScratchBM25:
        """Analyse every document, count terms, and precompute the weight matrix."""
        # BEGIN SOLUTION c06.3: tf matrix (COO -> CSR), df, idf, quantised lengths, then the weights
        rows: list[int] = []
        cols: list[int] = []
        lengths = np.zeros(len(documents), dtype=np.int64)  # (n_docs,) tokens after analysis
        for row, doc in enumerate(documents):
            tokens = self.analyzer.analyze(doc.text)
            lengths[row] = len(tokens)
            for token in tokens:
                rows.append(row)
                cols.append(self.vocabulary.setdefault(token, len(self.vocabulary)))
        n_docs, n_terms = len(documents), len(self.vocabulary)
        ones = np.ones(len(rows), dtype=np.float64)
        tf = sp.csr_matrix((ones, (rows, cols)), shape=(n_docs, n_terms))  # duplicates are summed: counts
        df = np.diff(tf.tocsc().indptr).astype(np.float64)  # (n_terms,) documents per term
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = lengths.sum() / max(n_docs, 1)  # not quantised, as in tantivy
        norm = self.k1 * (1 - self.b + self.b * quantize_length(lengths) / max(avgdl, 1e-12))  # (n_docs,)
        weights = tf.tocoo()
        saturation = weights.data / (weights.data + norm[weights.row])
        values = self.idf[weights.col] * (self.k1 + 1) * saturation
        self.weights = sp.csr_matrix((values, (weights.row, weights.col)), shape=(n_docs, n_terms))
        self.doc_ids = [doc.doc_id for doc in documents]
        return self
        # END SOLUTION

    def query_vector(self, text: str) -> NDArray[np.float64]:
        """(n_terms,) counts of the query's analysed terms; terms unknown to the index are dropped."""
        # BEGIN SOLUTION c06.3: analyse the query and count known terms
        vector = np.zeros(len(self.vocabulary))
        for token in self.analyzer.analyze(text):
            column = self.vocabulary.get(token)
            if column is not None:
                vector[column] += 1
        return vector
        # END SOLUTION

    def scores(self, text: str) -> NDArray[np.float64]:
        """(n_docs,) BM25 score of every document for the raw query ``text``."""
        # BEGIN SOLUTION c06.3: one sparse matrix-vector product
        if self.weights is None:
            raise RuntimeError("call fit() before scoring")
        return np.asarray(self.weights @ self.query_vector(text), dtype=np.float64)
        # END SOLUTION

    def search(self, text: str, top_k: int = 10) -> list[Hit]:
        """The ``top_k`` best documents with a positive score, best first (ties by doc id descending)."""
        scores = self.scores(text)
        matching = np.flatnonzero(scores > 0)
        order = sorted(matching.tolist(), key=lambda i: (scores[i], self.doc_ids[i]), reverse=True)[:top_k]
        return [(self.doc_ids[i], float(scores[i])) for i in order]
