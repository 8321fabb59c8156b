"""PCA through the singular value decomposition of the centred data.

Factor the centred data itself instead of its covariance:

    Xc = X - mean                          # (n_samples, n_features)
    Xc = U diag(s) Vt                      # thin SVD: U (n, r), s (r,), Vt (r, d), r = min(n, d)

Then ``C = Xc.T @ Xc / (n - 1) = V diag(s² / (n - 1)) Vt``: the rows of Vt are the
principal components and ``s² / (n - 1)`` their variances, exactly what
``pca_eigh.py`` computes, but without ever forming C. The transformed data
comes for free as ``U * s`` (the scores), though we recompute it in
``transform`` to keep one code path.

**Why bother, when eigh is faster for tall data?** Accuracy. A backward-stable
SVD returns singular values with an absolute error around eps * s_max, so a
variance ``lambda = s² / (n - 1)`` is accurate to about eps * s_max * s, not
eps * s_max²: the relative error of a small component grows like
eps * s_max / s instead of eps * (s_max / s)². For a matrix with condition
number 1e8, the covariance route loses the components below s_max * 1e-8
entirely, while the SVD route still gets them to ~1e-8, and every component
with s > 1e-4 * s_max to better than ~1e-12. The cost is O(n d min(n, d)) work on
the full data (``gesdd``, divide and conquer) instead of O(n d²) + O(d³) for the
covariance route, and more memory: the SVD needs a copy of Xc.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from c02_data.base import BasePCA
from c02_data.validation import FloatArray


class SVDPCA(BasePCA):
    """Exact PCA from the thin SVD of the centred data (LAPACK ``gesdd`` through scipy).

    Args:
        n_components: components to keep; ``None`` keeps ``min(n_samples, n_features)``.
        whiten: scale the transformed outputs to unit variance.
    """

    def _fit(self, data: FloatArray, n_components: int) -> None:
        # BEGIN SOLUTION c02.3: centre, thin SVD, variances s²/(n-1), total from every singular value
        n_samples = data.shape[0]
        mean = data.mean(axis=0)  # (n_features,)
        centred = data - mean  # (n_samples, n_features); a new array, so overwriting it is safe
        _, singular_values, vt = scipy.linalg.svd(centred, full_matrices=False, overwrite_a=True, check_finite=False)
        variances = singular_values**2 / (n_samples - 1)  # (min(n, d),) decreasing
        self._store(
            mean=mean,
            components=np.ascontiguousarray(vt[:n_components]),  # (n_components, n_features)
            explained_variance=variances[:n_components].copy(),
            total_variance=float(variances.sum()),
            n_samples=n_samples,
        )
        # END SOLUTION
