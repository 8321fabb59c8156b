"""Logistic regression, binary and multinomial (softmax), with L2, fitted by Newton or L-BFGS.

Model. With X1 = [X, 1] (a column of ones for the intercept) and parameters W
of shape (K', n_features + 1):

* binary (K' = 1): P(y = classes_[1] | x) = σ(x1 · w), σ(z) = 1 / (1 + e⁻ᶻ);
* multinomial (K' = K ≥ 3): P(y = k | x) = softmax(X1 Wᵀ)ₖ, one row of W per class.

Objective: exactly scikit-learn's, so that the same C gives the same answer,

    f(W) = 1/n Σᵢ -log P(yᵢ | xᵢ)  +  1 / (2 C n) ||W without its intercept column||²,

which is C Σᵢ loss + ½||w||² divided by C n (the same minimiser, better scaled).
The intercept is not penalised. Its gradient is (P - Y)ᵀ X1 / n + λ W (λ = 1 / (C n)),
where Y is one-hot; the Hessian is X1ᵀ diag(p (1 - p)) X1 / n + λ I for the binary
case, and for classes k, l the block X1ᵀ diag(pₖ (δₖₗ - pₗ)) X1 / n + λ δₖₗ I.

Solvers. ``"newton"`` takes Newton steps H Δ = -g with a backtracking line search
(for the binary case this is IRLS, iteratively reweighted least squares, with
weights p (1 - p)); it converges quadratically, to machine precision in a
dozen steps. ``"lbfgs"`` hands f and g to ``scipy.optimize.minimize``; it needs no
Hessian, so it scales to many features.

The softmax is over-parameterised: adding the same vector to every row of W
changes no probability. The L2 penalty picks the symmetric solution for the
coefficients (at the optimum Σₖ Wₖ = 0), but the unpenalised intercepts stay free
along "add c to every class", so the multinomial Hessian is singular in that one
direction. We solve the Newton system with ``lstsq`` (its minimum-norm step never
moves along it) and report intercepts centred to sum to zero, as scikit-learn's
lbfgs (started from zero) does.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.optimize
from numpy.typing import NDArray
from scipy.special import expit, log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

from c03_ml_basics.validation import (
    FloatMatrix,
    FloatVector,
    check_choice,
    check_classification_data,
    check_features,
    check_fitted,
    check_number,
)

ARMIJO_SLOPE = 1e-4  # accept a step when f falls by at least this fraction of the predicted decrease
MAX_HALVINGS = 50  # line search: halve the Newton step at most this often
LossAndGradient = Callable[[FloatVector], tuple[float, FloatVector]]


def softmax_loss_and_gradient(
    flat: FloatVector, x1: FloatMatrix, y_onehot: FloatMatrix, l2: float, penalised: FloatMatrix
) -> tuple[float, FloatVector]:
    """f(W) and ∇f(W) for the multinomial objective; ``flat`` is W (K, d+1) raveled.

    ``penalised`` is 1 for coefficients and 0 for intercepts, shaped like W.
    """
    # BEGIN SOLUTION c03.2: log-softmax of the scores, mean cross-entropy + penalty, (P - Y)ᵀ X1 / n + λW
    weights = flat.reshape(y_onehot.shape[1], x1.shape[1])  # (K, d+1)
    log_proba = log_softmax(x1 @ weights.T, axis=1)  # (n, K), stable: no exp overflow
    n_samples = x1.shape[0]
    penalty = weights * penalised
    loss = -float((y_onehot * log_proba).sum()) / n_samples + 0.5 * l2 * float((penalty**2).sum())
    gradient = (np.exp(log_proba) - y_onehot).T @ x1 / n_samples + l2 * penalty  # (K, d+1)
    return loss, gradient.ravel()
    # END SOLUTION


def binary_loss_and_gradient(
    w: FloatVector, x1: FloatMatrix, y01: FloatVector, l2: float, penalised: FloatVector
) -> tuple[float, FloatVector]:
    """f(w) and ∇f(w) for the binary objective, labels ``y01`` in {0, 1}."""
    # BEGIN SOLUTION c03.2: loss log(1 + e^{-s z}) with s = ±1 via logaddexp; gradient Xᵀ(σ(z) - y) / n + λw
    scores = x1 @ w  # (n,)
    signs = 2.0 * y01 - 1.0
    n_samples = x1.shape[0]
    penalty = w * penalised
    loss = float(np.logaddexp(0.0, -signs * scores).sum()) / n_samples + 0.5 * l2 * float(penalty @ penalty)
    gradient = x1.T @ (expit(scores) - y01) / n_samples + l2 * penalty  # (d+1,)
    return loss, gradient
    # END SOLUTION


def hessian(w: FloatVector, x1: FloatMatrix, n_outputs: int, l2: float, penalised: FloatVector) -> FloatMatrix:
    """The Hessian of f at ``w`` (raveled), shape (n_outputs (d+1), n_outputs (d+1))."""
    # BEGIN SOLUTION c03.2: X1ᵀ diag(p(1-p)) X1 / n, or softmax blocks; + λ on the coefs
    n_samples, width = x1.shape
    if n_outputs == 1:
        p = expit(x1 @ w)  # (n,)
        result = (x1 * (p * (1.0 - p))[:, None]).T @ x1 / n_samples
    else:
        proba = np.exp(log_softmax(x1 @ w.reshape(n_outputs, width).T, axis=1))  # (n, K)
        result = np.empty((n_outputs * width, n_outputs * width))
        for k in range(n_outputs):
            for j in range(k, n_outputs):
                curvature = proba[:, k] * (float(k == j) - proba[:, j])  # (n,)
                block = (x1 * curvature[:, None]).T @ x1 / n_samples  # (d+1, d+1)
                result[k * width : (k + 1) * width, j * width : (j + 1) * width] = block
                result[j * width : (j + 1) * width, k * width : (k + 1) * width] = block.T
    return np.asarray(result + np.diag(l2 * penalised), dtype=np.float64)
    # END SOLUTION


def newton(objective: LossAndGradient, hess: Callable[[FloatVector], FloatMatrix], start: FloatVector,
           tol: float, max_iter: int) -> tuple[FloatVector, int, bool]:
    """Damped Newton: ``(w, iterations, converged)``; converged when max |∇f| <= tol."""
    # BEGIN SOLUTION c03.2: solve H Δ = -g (lstsq: H may be singular), backtrack until Armijo holds
    w = start
    loss, gradient = objective(w)
    for iteration in range(max_iter):
        if np.abs(gradient).max() <= tol:
            return w, iteration, True
        step = np.linalg.lstsq(hess(w), -gradient, rcond=None)[0]
        slope = float(gradient @ step)  # < 0: a descent direction (H is positive semi-definite)
        t = 1.0
        for _ in range(MAX_HALVINGS):
            new_loss, new_gradient = objective(w + t * step)
            if new_loss <= loss + ARMIJO_SLOPE * t * slope:
                break
            t /= 2.0
        else:  # no decrease at all: we are at the optimum to rounding precision
            return w, iteration, bool(np.abs(gradient).max() <= 1e3 * tol)
        w, loss, gradient = w + t * step, new_loss, new_gradient
    return w, max_iter, bool(np.abs(gradient).max() <= tol)
    # END SOLUTION


class LogisticClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """L2-regularised logistic regression, binary or multinomial; scikit-learn's objective and C.

    Attributes after fit: ``classes_``, ``coef_`` (1 or K, n_features), ``intercept_`` (1 or K,),
    ``n_iter_``, ``n_features_in_``.
    """

    def __init__(self, C: float = 1.0, fit_intercept: bool = True, solver: str = "newton",  # noqa: N803
                 tol: float = 1e-10, max_iter: int = 100) -> None:
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, x: object, y: object) -> LogisticClassifier:
        """Fit on ``x`` (n_samples, n_features) and labels ``y`` (n_samples,) of 2 or more classes."""
        # BEGIN SOLUTION c03.2: validate; X1, targets, penalty mask; minimise; unpack W
        check_number("C", self.C, low=0.0, low_open=True)
        check_choice("solver", self.solver, ("newton", "lbfgs"))
        check_number("tol", self.tol, low=0.0, low_open=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        features, classes, encoded = check_classification_data(x, y)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, but y holds only one "
                             f"class: {classes.tolist()[0]!r}")
        n_samples, n_features = features.shape
        intercept_column = np.ones((n_samples, 1)) if self.fit_intercept else np.zeros((n_samples, 0))
        x1 = np.hstack([features, intercept_column])  # (n, d+1) or (n, d)
        width = x1.shape[1]
        n_outputs = 1 if len(classes) == 2 else len(classes)
        penalised = np.ones((n_outputs, width))
        penalised[:, n_features:] = 0.0  # the intercept column is not penalised
        l2 = 1.0 / (float(self.C) * n_samples)
        objective: LossAndGradient
        if n_outputs == 1:
            y01 = encoded.astype(np.float64)
            objective = functools.partial(binary_loss_and_gradient, x1=x1, y01=y01, l2=l2, penalised=penalised[0])
        else:
            onehot = np.eye(n_outputs)[encoded]  # (n, K)
            objective = functools.partial(softmax_loss_and_gradient, x1=x1, y_onehot=onehot, l2=l2,
                                          penalised=penalised)
        start = np.zeros(n_outputs * width)
        if self.solver == "newton":
            curvature = functools.partial(hessian, x1=x1, n_outputs=n_outputs, l2=l2, penalised=penalised.ravel())
            flat, n_iter, converged = newton(objective, curvature, start, float(self.tol), int(self.max_iter))
        else:
            result = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B", options={
                "maxiter": int(self.max_iter), "gtol": float(self.tol), "ftol": 64 * np.finfo(float).eps})
            flat, n_iter, converged = result.x, int(result.nit), bool(result.success)
        if not converged:
            warnings.warn(f"{type(self).__name__} ({self.solver}) did not reach tol={self.tol} in "
                          f"{n_iter} iterations; raise max_iter or scale the features", ConvergenceWarning,
                          stacklevel=2)
        weights = flat.reshape(n_outputs, width)  # (K', d+1)
        self.classes_ = classes
        self.coef_ = weights[:, :n_features].copy()
        intercept = weights[:, n_features] if self.fit_intercept else np.zeros(n_outputs)
        self.intercept_ = intercept - intercept.mean() if n_outputs > 1 else intercept.copy()
        self.n_iter_ = n_iter
        self.n_features_in_ = n_features
        return self
        # END SOLUTION

    def decision_function(self, x: object) -> NDArray[np.float64]:
        """Scores X Wᵀ + b: shape (n_samples,) for two classes, (n_samples, K) for more."""
        # BEGIN SOLUTION c03.2: check fitted, validate X, linear scores (raveled in the binary case)
        check_fitted(self, "coef_", "intercept_", "classes_")
        features = check_features(x, n_features=self.n_features_in_, owner=type(self).__name__)
        scores = features @ self.coef_.T + self.intercept_  # (n, K')
        return scores.ravel() if scores.shape[1] == 1 else scores
        # END SOLUTION

    def predict_proba(self, x: object) -> FloatMatrix:
        """Class probabilities (n_samples, K), columns in the order of ``classes_``; rows sum to 1."""
        # BEGIN SOLUTION c03.2: σ for the binary case ([1 - p, p]), a stable softmax otherwise
        scores = self.decision_function(x)
        if scores.ndim == 1:
            positive = expit(scores)  # (n,)
            return np.column_stack([1.0 - positive, positive])
        return np.asarray(np.exp(log_softmax(scores, axis=1)), dtype=np.float64)
        # END SOLUTION

    def predict_log_proba(self, x: object) -> FloatMatrix:
        """log of :meth:`predict_proba`, computed without taking the log of a rounded 0."""
        # BEGIN SOLUTION c03.2: log σ(±z) = -logaddexp(0, ∓z) for two classes, log_softmax otherwise
        scores = self.decision_function(x)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)])
        return np.asarray(log_softmax(scores, axis=1), dtype=np.float64)
        # END SOLUTION

    def predict(self, x: object) -> NDArray[np.generic]:
        """The most probable class of each row (labels from ``classes_``)."""
        # BEGIN SOLUTION c03.2: argmax of the scores (binary: score > 0 is classes_[1])
        scores = self.decision_function(x)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return np.asarray(self.classes_[index])
        # END SOLUTION
