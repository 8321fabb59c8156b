"""Linear regression in closed form: least squares by QR (or LAPACK's lstsq), and ridge.

Ordinary least squares minimises ||y - X w - b||². The textbook answer
w = (XᵀX)⁻¹ Xᵀy is the wrong way to compute it: forming XᵀX squares the
condition number (a problem with cond(X) = 1e8 becomes one with 1e16, all of
float64's precision), and an explicit inverse adds its own rounding. Instead:

* **QR**: X = QR with orthonormal Q and upper-triangular R, so
  ||y - Xw|| = ||Qᵀy - Rw|| (plus a constant) and w solves the triangular system
  R w = Qᵀy by back-substitution. The error grows with cond(X), not cond(X)².
  Q is an n x d matrix we never need: ``scipy.linalg.qr_multiply`` applies the
  Householder reflections straight to y (4x faster than forming Q at 10,000 x 20).
  QR needs full column rank: a zero (or tiny) diagonal entry of R means some
  feature is a combination of others, and there is no unique answer.
* **lstsq**: LAPACK's SVD-based solver (what scikit-learn's ``LinearRegression``
  calls); for a rank-deficient X it returns the minimum-norm solution.

The intercept is not a column of ones: we centre X and y (subtract column
means), solve for w without an intercept, and recover b = ȳ - x̄ᵀw. This is the
same minimiser, and it keeps the intercept out of the ridge penalty.

**Ridge** minimises ||y - Xw - b||² + α||w||². Its closed form
w = (XcᵀXc + αI)⁻¹ Xcᵀyc is safe to solve by Cholesky: for α > 0 the matrix is
symmetric positive definite with eigenvalues at least α. The ``svd`` solver
uses Xc = U S Vᵀ instead: w = V diag(s / (s² + α)) Uᵀ yc, which shows what ridge
does, shrinking each singular direction by s² / (s² + α), and copes with α = 0.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, RegressorMixin

from c03_ml_basics.validation import (
    FloatMatrix,
    FloatVector,
    check_choice,
    check_features,
    check_fitted,
    check_number,
    check_regression_data,
)

# A diagonal entry of R smaller than this times the largest one means X is (numerically)
# rank-deficient: back-substitution would divide by rounding noise.
RANK_TOLERANCE = 1e-10


def center(x: FloatMatrix, y: FloatVector, fit_intercept: bool) -> tuple[FloatMatrix, FloatVector, FloatVector, float]:
    """``(Xc, yc, x_mean, y_mean)``: centred copies when fitting an intercept, else the inputs and zeros."""
    # BEGIN SOLUTION c03.1: subtract column means (or return zeros when there is no intercept)
    if not fit_intercept:
        return x, y, np.zeros(x.shape[1]), 0.0
    x_mean = x.mean(axis=0)  # (n_features,)
    y_mean = float(y.mean())
    return x - x_mean, y - y_mean, x_mean, y_mean
    # END SOLUTION


def solve_least_squares_qr(x: FloatMatrix, y: FloatVector) -> FloatVector:
    """argmin_w ||y - x w|| through a reduced QR factorisation and back-substitution.

    Raises:
        ValueError: ``x`` has fewer rows than columns or is numerically rank-deficient.
    """
    # BEGIN SOLUTION c03.1: reduced QR, check R's diagonal for rank deficiency, back-substitute R w = Qᵀy
    n_samples, n_features = x.shape
    if n_samples < n_features:
        raise ValueError(f"QR least squares needs at least as many samples as features, got n_samples={n_samples} "
                         f"< n_features={n_features}; use solver='lstsq' (minimum-norm solution) or ridge")
    # yᵀQ = (Qᵀy)ᵀ and R, with LAPACK applying the Householder reflectors to y: Q (n x d) is never formed.
    qty, r = scipy.linalg.qr_multiply(x, y, mode="right")  # (d,), (d, d)
    diagonal = np.abs(np.diag(r))
    if diagonal.min() <= RANK_TOLERANCE * max(diagonal.max(), np.finfo(np.float64).tiny):
        raise ValueError(f"X is rank-deficient (collinear or constant features, n_samples={n_samples}): the "
                         "least-squares solution is not unique; use solver='lstsq' (minimum-norm solution) or ridge")
    return np.asarray(scipy.linalg.solve_triangular(r, qty, lower=False), dtype=np.float64)
    # END SOLUTION


class LinearPredictor:
    """``predict`` for every fitted linear model: X @ coef_ + intercept_."""

    coef_: FloatVector  # (n_features,)
    intercept_: float
    n_features_in_: int

    def predict(self, x: object) -> FloatVector:
        """Predictions (n_samples,) for the rows of ``x``."""
        # BEGIN SOLUTION c03.1: check fitted, validate X against n_features_in_, apply the linear model
        check_fitted(self, "coef_", "intercept_")
        features = check_features(x, n_features=self.n_features_in_, owner=type(self).__name__)
        return features @ self.coef_ + self.intercept_  # (n, d) @ (d,) -> (n,)
        # END SOLUTION


class LeastSquaresRegressor(LinearPredictor, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ordinary least squares; ``solver`` is ``"qr"`` (full column rank) or ``"lstsq"`` (any rank).

    Attributes after fit: ``coef_`` (n_features,), ``intercept_`` (float), ``n_features_in_``.
    """

    def __init__(self, fit_intercept: bool = True, solver: str = "qr") -> None:
        self.fit_intercept = fit_intercept
        self.solver = solver

    def fit(self, x: object, y: object) -> LeastSquaresRegressor:
        """Fit on ``x`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        # BEGIN SOLUTION c03.1: validate, centre, solve by QR or lstsq, recover the intercept
        check_choice("solver", self.solver, ("qr", "lstsq"))
        features, target = check_regression_data(x, y)
        xc, yc, x_mean, y_mean = center(features, target, bool(self.fit_intercept))
        if self.solver == "qr":
            coef = solve_least_squares_qr(xc, yc)
        else:
            # Singular values below max(n, d) * eps count as zero (numpy's default; scikit-learn's too).
            coef = np.asarray(np.linalg.lstsq(xc, yc, rcond=None)[0], dtype=np.float64)
        self.coef_ = coef
        self.intercept_ = float(y_mean - x_mean @ coef)
        self.n_features_in_ = features.shape[1]
        return self
        # END SOLUTION


class RidgeRegressor(LinearPredictor, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ridge regression in closed form, minimising ||y - Xw - b||² + alpha ||w||² (b is not penalised).

    ``solver="cholesky"`` solves (XcᵀXc + alpha I) w = Xcᵀyc; ``solver="svd"`` shrinks
    each singular direction of Xc by s² / (s² + alpha).
    """

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True, solver: str = "cholesky") -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def fit(self, x: object, y: object) -> RidgeRegressor:
        """Fit on ``x`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        # BEGIN SOLUTION c03.1: validate; centre; Cholesky or SVD closed form; intercept
        check_number("alpha", self.alpha, low=0.0)
        check_choice("solver", self.solver, ("cholesky", "svd"))
        features, target = check_regression_data(x, y)
        xc, yc, x_mean, y_mean = center(features, target, bool(self.fit_intercept))
        alpha = float(self.alpha)
        if self.solver == "cholesky":
            gram = xc.T @ xc + alpha * np.eye(xc.shape[1])  # (d, d), positive definite for alpha > 0
            try:
                factor = scipy.linalg.cho_factor(gram, lower=True)
            except np.linalg.LinAlgError as err:
                raise ValueError("XᵀX + alpha I is singular (alpha = 0 with collinear features): "
                                 "use alpha > 0 or solver='svd'") from err
            coef = scipy.linalg.cho_solve(factor, xc.T @ yc)
        else:
            u, s, vt = np.linalg.svd(xc, full_matrices=False)  # (n, r), (r,), (r, d)
            safe = s > RANK_TOLERANCE * max(s.max(initial=0.0), np.finfo(np.float64).tiny)
            shrink = np.zeros_like(s)
            shrink[safe] = s[safe] / (s[safe] ** 2 + alpha)  # alpha = 0: the pseudo-inverse 1 / s
            coef = vt.T @ (shrink * (u.T @ yc))
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = float(y_mean - x_mean @ self.coef_)
        self.n_features_in_ = features.shape[1]
        return self
        # END SOLUTION
