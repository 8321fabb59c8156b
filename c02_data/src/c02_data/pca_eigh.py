"""PCA through the covariance matrix and its eigendecomposition (``eigh``).

The textbook route. Centre the data, form the sample covariance matrix and
diagonalise it:

    Xc = X - mean                         # (n_samples, n_features)
    C  = Xc.T @ Xc / (n_samples - 1)      # (n_features, n_features), symmetric PSD
    C  = V diag(lambda) V.T               # eigh: lambda ascending, V orthonormal

The eigenvectors with the largest eigenvalues are the principal components and
the eigenvalues are the variances along them. ``numpy.linalg.eigh`` (LAPACK
``syevd``) exploits the symmetry, and the work after forming C is
O(n_features³), independent of n_samples: for tall data (n_samples >>
n_features) this is the fastest exact PCA, which is why scikit-learn picks its
``covariance_eigh`` solver for such data.

**The price is accuracy.** Forming ``Xc.T @ Xc`` squares the singular values of
Xc, so it squares the condition number: singular values spanning 1 to 1e-8
become variances spanning 1 to 1e-16, below float64's resolution relative to
the largest (eps = 2.2e-16). A backward-stable ``eigh`` returns eigenvalues
with an absolute error around eps * lambda_max (Weyl), and eigenvectors with
an error around eps * lambda_max / gap, where gap is the distance to the
nearest other eigenvalue (Davis-Kahan). So the large, well-separated
components come out to ~1e-15, and the components whose variance is below
~eps * lambda_max are noise. The SVD route (``pca_svd.py``) never forms C and
resolves those too. Centring before forming C matters as well: the
uncentred shortcut ``X.T @ X - n * mean mean.T`` cancels catastrophically when
the mean is large compared with the spread.
"""

from __future__ import annotations

import numpy as np

from c02_data.base import BasePCA
from c02_data.validation import FloatArray


class CovariancePCA(BasePCA):
    """Exact PCA from the eigendecomposition of the sample covariance matrix.

    Args:
        n_components: components to keep; ``None`` keeps ``min(n_samples, n_features)``.
        whiten: scale the transformed outputs to unit variance.

    Every variance ever computed is kept in ``all_explained_variance_``
    (n_features,), decreasing, so the truncated tail can be inspected.
    """

    all_explained_variance_: FloatArray  # (n_features,)

    def _fit(self, data: FloatArray, n_components: int) -> None:
        # BEGIN SOLUTION c02.2: centre, covariance, eigh, sort by decreasing variance, clip negatives, store
        n_samples = data.shape[0]
        mean = data.mean(axis=0)  # (n_features,)
        centred = data - mean  # (n_samples, n_features)
        covariance = centred.T @ centred / (n_samples - 1)  # (n_features, n_features)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending; columns are eigenvectors
        eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]  # largest variance first
        # C is positive semi-definite, but rounding can leave eigenvalues of about -eps * lambda_max.
        eigenvalues = np.maximum(eigenvalues, 0.0)
        self.all_explained_variance_ = eigenvalues
        self._store(
            mean=mean,
            components=np.ascontiguousarray(eigenvectors[:, :n_components].T),  # (n_components, n_features)
            explained_variance=eigenvalues[:n_components].copy(),
            total_variance=float(np.trace(covariance)),  # = sum of every eigenvalue, without rounding
            n_samples=n_samples,
        )
        # END SOLUTION
