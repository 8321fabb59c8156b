"""What every PCA in this module shares: the estimator contract and the sign convention.

PCA finds the orthonormal directions (principal components) along which
centred data varies most. Whatever the algorithm (covariance + ``eigh``, SVD,
randomized, incremental), the result is the same set of numbers, so they all
share one base class, a real scikit-learn transformer: it inherits
:class:`sklearn.base.BaseEstimator` (``get_params``, ``set_params``, ``clone``,
the ``repr``) and :class:`sklearn.base.TransformerMixin` (``fit_transform``,
``set_output``), names its output columns (``get_feature_names_out``), and passes
scikit-learn's own ``check_estimator``. So it works inside a ``Pipeline`` or a
``GridSearchCV`` like ``sklearn.decomposition.PCA``. The contract:

* ``__init__`` only stores its arguments (``clone`` and ``set_params`` rely on it);
* ``fit(X)`` validates ``X`` with scikit-learn's ``validate_data`` (see
  ``validation.py``), learns and returns ``self``; hyper-parameters are
  checked in ``fit`` (not ``__init__``), so bad values fail with a clear error;
* learned attributes end in ``_``: ``mean_`` (n_features,), ``components_``
  (n_components, n_features) with orthonormal rows, ``explained_variance_``
  (n_components,) in decreasing order (sample variance along each component,
  ``ddof=1``), ``explained_variance_ratio_``, ``singular_values_``,
  ``n_components_``, ``n_features_in_``, ``n_samples_``;
* ``transform(X) = (X - mean_) @ components_.T``, divided by
  ``sqrt(explained_variance_)`` when ``whiten=True`` (unit variance outputs);
  ``inverse_transform`` undoes it; both refuse an unfitted estimator
  (scikit-learn's :class:`NotFittedError`, through ``check_is_fitted``) and the
  wrong number of columns (the feature count ``fit`` recorded).

**Sign convention.** An eigenvector or singular vector is only defined up to
its sign: ``v`` and ``-v`` are equally valid, and different LAPACK routines, or
the same one on a permuted input, may return either. We make the output
deterministic the way scikit-learn does (``svd_flip(..., u_based_decision=False)``):
**in every component, the entry with the largest absolute value is positive**
(on an exact tie, the first such entry). :func:`flip_signs` applies it, once,
for every estimator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted, validate_data

from c02_data.validation import FloatArray, check_choice, check_data, check_n_components

__all__ = ["BasePCA", "NotFittedError", "flip_signs"]  # NotFittedError: scikit-learn's, re-exported


def flip_signs(components: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply the sign convention: make the largest-magnitude entry of each row positive.

    Args:
        components: (n_components, n_features) rows to normalise.

    Returns:
        ``(flipped, signs)``: the flipped rows (a new array) and the (n_components,)
        vector of +1/-1 applied to them, so that a caller can flip the matching
        left singular vectors too (``U * signs``).
    """
    # BEGIN SOLUTION c02.2: argmax of |row| per row, its sign (0 counts as +1), multiply
    largest = np.argmax(np.abs(components), axis=1)  # (n_components,) the first maximum on a tie
    signs = np.sign(components[np.arange(components.shape[0]), largest])
    signs[signs == 0] = 1.0  # an all-zero row keeps its sign
    return components * signs[:, np.newaxis], signs
    # END SOLUTION


# The mixins come before BaseEstimator, as scikit-learn requires (check_mixin_order): their
# __sklearn_tags__ run after BaseEstimator's and add the transformer tags.
class BasePCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, ABC):  # type: ignore[misc]
    """The shared estimator: validation, fitted attributes, transform and inverse transform.

    Subclasses implement :meth:`_fit` (the algorithm) and may extend
    :meth:`_check_params` (their own hyper-parameters). ``fit_transform`` comes
    from :class:`~sklearn.base.TransformerMixin` (``fit(X).transform(X)``).
    """

    mean_: FloatArray  # (n_features,)
    components_: FloatArray  # (n_components, n_features)
    explained_variance_: FloatArray  # (n_components,)
    explained_variance_ratio_: FloatArray  # (n_components,)
    singular_values_: FloatArray  # (n_components,)
    n_components_: int
    n_features_in_: int
    n_samples_: int

    def __init__(self, n_components: int | None = None, *, whiten: bool = False) -> None:
        self.n_components = n_components
        self.whiten = whiten

    def __sklearn_tags__(self) -> Any:
        """What ``check_estimator`` and the rest of scikit-learn may expect: dense input, float64 output.

        These are the defaults of a transformer, written out because they are a
        decision: sparse input is refused (centring would densify it), NaN is
        refused, and every result is float64 whatever the input dtype (scikit-learn's
        PCA keeps float32; it says so with ``preserves_dtype = ["float64", "float32"]``).
        """
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    @property
    def _n_features_out(self) -> int:
        """Output columns, for ``get_feature_names_out`` (``covariancepca0``, ...); absent before fit."""
        return int(self.components_.shape[0])

    # -- the algorithm -------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, data: FloatArray, n_components: int) -> None:
        """Learn from validated float64 ``data`` (n_samples, n_features); call :meth:`_store`."""

    def _check_params(self) -> None:
        """Check hyper-parameters that do not depend on the data (extended by subclasses)."""
        check_choice("whiten", self.whiten, (False, True), owner=type(self).__name__)

    # -- the contract ----------------------------------------------------------------------------
    def fit(self, X: object, y: object = None) -> Self:  # noqa: N803 (scikit-learn names)
        """Learn the principal components of ``X`` (n_samples >= 2, n_features >= 1); returns ``self``."""
        # BEGIN SOLUTION c02.2: check params, validate X (reset: record n_features_in_; 2 samples), run _fit
        self._check_params()
        # Dense float64, 2-D, finite, at least 2 rows; records n_features_in_ (and feature_names_in_ for a frame).
        data = validate_data(self, X, accept_sparse=False, dtype=np.float64, ensure_min_samples=2)
        n_components = check_n_components(self.n_components, *data.shape, owner=type(self).__name__)
        self._fit(data, n_components)
        return self
        # END SOLUTION

    def _store(
        self,
        *,
        mean: FloatArray,
        components: FloatArray,
        explained_variance: FloatArray,
        total_variance: float,
        n_samples: int,
    ) -> None:
        """Set every fitted attribute from one algorithm's result, applying the sign convention.

        Args:
            mean: (n_features,) the per-feature mean that was subtracted.
            components: (n_components, n_features) orthonormal rows, by decreasing variance.
            explained_variance: (n_components,) variance along each row (``ddof=1``).
            total_variance: the sum of every feature's variance (``ddof=1``), the
                denominator of ``explained_variance_ratio_``.
            n_samples: the number of rows the fit saw.
        """
        # BEGIN SOLUTION c02.2: flip signs; set mean_, components_, variances, ratios, singular values
        self.mean_ = mean
        self.components_, _ = flip_signs(components)
        self.explained_variance_ = explained_variance
        self.explained_variance_ratio_ = explained_variance / total_variance
        self.singular_values_ = np.sqrt(explained_variance * (n_samples - 1))  # sigma_i^2 = (n - 1) * lambda_i
        self.n_components_ = components.shape[0]
        self.n_features_in_ = components.shape[1]
        self.n_samples_ = n_samples
        # END SOLUTION

    def _whitening_scale(self) -> FloatArray:
        """(n_components,) ``sqrt(explained_variance_)``, floored at machine epsilon.

        A component with (numerically) zero variance would otherwise divide by zero.
        """
        # BEGIN SOLUTION c02.2: square root, floored at eps so a zero-variance component stays finite
        return np.maximum(np.sqrt(self.explained_variance_), np.finfo(np.float64).eps)
        # END SOLUTION

    def transform(self, X: object) -> FloatArray:  # noqa: N803 (scikit-learn names)
        """Project ``X`` (n_samples, n_features) onto the components: (n_samples, n_components)."""
        # BEGIN SOLUTION c02.2: check fitted, validate X (reset=False), centre, project, whiten
        check_is_fitted(self, "components_")
        data: FloatArray = validate_data(self, X, accept_sparse=False, dtype=np.float64, reset=False)
        projected = (data - self.mean_) @ self.components_.T  # (n_samples, n_components)
        if self.whiten:
            projected /= self._whitening_scale()
        return projected
        # END SOLUTION

    def inverse_transform(self, Z: object) -> FloatArray:  # noqa: N803
        """Map scores ``Z`` (n_samples, n_components) back to feature space: (n_samples, n_features).

        Exact for ``n_components = n_features``; otherwise the closest point in the
        span of the components (the reconstruction PCA minimises the error of).
        """
        # BEGIN SOLUTION c02.2: check fitted and Z (n_components_ columns), unwhiten, map back, add mean
        check_is_fitted(self, "components_")
        expected = f"{type(self).__name__} is expecting {self.n_components_} components as input"
        scores = check_data(Z, name="Z", n_features=self.n_components_, expected=expected)
        if self.whiten:
            scores = scores * self._whitening_scale()
        return scores @ self.components_ + self.mean_  # (n_samples, n_features)
        # END SOLUTION
