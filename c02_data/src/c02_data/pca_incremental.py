"""Incremental PCA: components from mini-batches, for data that never fits in memory at once.

Every other PCA here needs all of X at once. Incremental PCA (Ross, Lim, Lin
and Yang, 2008; the algorithm behind scikit-learn's ``IncrementalPCA``) keeps
only a summary of the rows seen so far: their count n, mean m and the current
top-k components scaled by their singular values, ``diag(s) @ Vt`` (k, d). That
summary reproduces the centred data's Gram matrix in the top-k subspace, so a
new batch B (b, d) with mean m_B is folded in by one small SVD of

    [ diag(s) @ Vt                        ]   (k, d)   what we knew
    [ B - m_B                             ]   (b, d)   the new batch, centred on itself
    [ sqrt(n b / (n + b)) * (m - m_B)     ]   (1, d)   the shift between the two means

whose right singular vectors are the updated components. The last row is the
*mean correction*: centring the old rows and the batch on their own means
loses exactly the between-group variance ``n b / (n + b) |m - m_B|²``, the
same term that merges two partial variances in Chan's parallel variance
formula (and in ``streaming.py``). Memory: O((k + b) d) whatever the number of
rows; time per batch O((k + b) d min(k + b, d)).

The result is exact (up to rounding) when k = d, and when the data truly has
rank <= k; otherwise each truncation to k components discards a little
variance, and the components differ slightly from a PCA of all the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Self

import numpy as np
import scipy.linalg
from sklearn.utils.validation import check_is_fitted, validate_data

from c02_data.base import BasePCA
from c02_data.validation import FloatArray, check_int, check_n_components


def batch_slices(n_samples: int, batch_size: int, min_batch_size: int = 0) -> Iterator[slice]:
    """Consecutive slices of ``batch_size`` rows covering ``range(n_samples)`` once.

    A last batch shorter than ``min_batch_size`` is merged into the one before it
    (scikit-learn's ``gen_batches`` rule), so that every batch has at least
    ``n_components`` rows when ``n_samples`` allows it.
    """
    # BEGIN SOLUTION c02.5: full batches, skipping one whose successor would be too short; then the rest
    start = 0
    for _ in range(n_samples // batch_size):
        end = start + batch_size
        if end + min_batch_size > n_samples:
            continue
        yield slice(start, end)
        start = end
    if start < n_samples:
        yield slice(start, n_samples)
    # END SOLUTION


class IncrementalPCA(BasePCA):
    """PCA over mini-batches: ``partial_fit`` one batch at a time, or ``fit`` over row batches.

    Args:
        n_components: components to keep. ``None``: fixed by the first batch as
            ``min(batch rows, n_features)``.
        whiten: scale the transformed outputs to unit variance.
        batch_size: rows per batch in :meth:`fit` (an int >= 1); ``None`` uses
            ``5 * n_features``.

    Fitted state beyond :class:`BasePCA`'s: ``n_samples_seen_`` and ``var_``
    (n_features,), the per-feature variance (``ddof=0``) of every row seen.
    """

    n_samples_seen_: int
    var_: FloatArray  # (n_features,)

    def __init__(self, n_components: int | None = None, *, whiten: bool = False, batch_size: int | None = None) -> None:
        super().__init__(n_components, whiten=whiten)
        self.batch_size = batch_size

    def _check_params(self) -> None:
        # BEGIN SOLUTION c02.5: the base checks, then batch_size: None or an int >= 1
        super()._check_params()
        if self.batch_size is not None:
            check_int("batch_size (or None)", self.batch_size, minimum=1, owner=type(self).__name__)
        # END SOLUTION

    def _fit(self, data: FloatArray, n_components: int) -> None:
        # BEGIN SOLUTION c02.5: forget earlier fits, then partial_fit over batch_slices of batch_size rows
        for name in ("components_", "n_samples_seen_"):
            self.__dict__.pop(name, None)
        batch_size = self.batch_size if self.batch_size is not None else 5 * data.shape[1]
        for rows in batch_slices(data.shape[0], batch_size, min_batch_size=self.n_components or 0):
            self._partial_fit(data[rows])
        # END SOLUTION

    def fit_batches(self, batches: Iterable[object]) -> Self:
        """Fit from an iterable of (b, n_features) batches (a generator, a memmap's row blocks, ...).

        Forgets any earlier fit; the first batch must have at least ``n_components`` rows.
        """
        # BEGIN SOLUTION c02.5: check params, forget earlier fits, partial_fit each batch, refuse none
        self._check_params()
        for name in ("components_", "n_samples_seen_"):
            self.__dict__.pop(name, None)
        for batch in batches:
            self.partial_fit(batch)
        # An empty iterable fits nothing: say so (NotFittedError, a ValueError).
        empty = "%(name)s.fit_batches got no batch (an empty iterable): not fitted yet"
        check_is_fitted(self, "components_", msg=empty)
        return self
        # END SOLUTION

    def partial_fit(self, X: object, y: object = None) -> Self:  # noqa: N803 (scikit-learn names)
        """Fold one batch into the fit (the first call starts it); returns ``self``."""
        # BEGIN SOLUTION c02.5: check params, validate the batch (the first one resets), then update
        self._check_params()
        first = not hasattr(self, "components_")
        data = validate_data(self, X, accept_sparse=False, dtype=np.float64, reset=first)
        self._partial_fit(data)
        return self
        # END SOLUTION

    def _partial_fit(self, batch: FloatArray) -> None:
        """The update itself, on a validated float64 batch (b, n_features)."""
        # BEGIN SOLUTION c02.5: k from the first batch, running mean and variance, the stacked SVD, store
        n_batch, n_features = batch.shape
        first = not hasattr(self, "components_")
        owner = type(self).__name__
        if first:
            k = self.n_components
            if isinstance(k, int | np.integer) and not isinstance(k, bool) and k > min(n_batch, n_features):
                raise ValueError(
                    f"{owner}: n_components={k} needs a first batch of at least {k} rows "
                    f"and {k} features, got a batch of shape {batch.shape}"
                )
            k = check_n_components(k, n_batch, n_features, owner=owner)
            n_seen, old_mean, old_var = 0, np.zeros(n_features), np.zeros(n_features)
        else:
            k = self.n_components_
            n_seen, old_mean, old_var = self.n_samples_seen_, self.mean_, self.var_
        n_total = n_seen + n_batch
        batch_mean = batch.mean(axis=0)  # (n_features,)
        centred = batch - batch_mean  # (n_batch, n_features)
        # Running mean from sums (as scikit-learn does); running variance by Chan's merge.
        mean = (old_mean * n_seen + batch_mean * n_batch) / n_total
        between = n_seen * n_batch / n_total * (old_mean - batch_mean) ** 2
        var = (old_var * n_seen + np.einsum("ij,ij->j", centred, centred) + between) / n_total
        if first:
            stacked = centred
        else:
            mean_correction = np.sqrt(n_seen * n_batch / n_total) * (old_mean - batch_mean)  # (n_features,)
            scaled_components = self.singular_values_[:, np.newaxis] * self.components_  # (k, n_features)
            stacked = np.vstack((scaled_components, centred, mean_correction))  # (k + n_batch + 1, n_features)
        _, s, vt = scipy.linalg.svd(stacked, full_matrices=False, check_finite=False)
        self.n_samples_seen_, self.var_ = n_total, var
        self._store(
            mean=mean,
            components=np.ascontiguousarray(vt[:k]),
            explained_variance=s[:k] ** 2 / max(n_total - 1, 1),
            total_variance=float(var.sum()) * n_total / max(n_total - 1, 1),
            n_samples=n_total,
        )
        # END SOLUTION
