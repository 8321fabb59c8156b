"""Least squares by mini-batch gradient descent, with momentum, a growing batch and a stopping rule.

The loss is L(w) = 1/(2n) ||Z w - yc||² on standardised features Z (centred,
unit variance) and the centred target yc; its gradient is Zᵀ(Z w - yc) / n.
A mini-batch step uses the same formula on ``batch_size`` rows only: cheap,
but noisy. Four ideas make it converge to the exact least-squares answer:

1. **Standardise the features.** Gradient descent needs about cond(ZᵀZ)
   steps; features on wildly different scales make that condition number
   huge for no reason. We fit on Z and map the coefficients back to X.
2. **Step size from the curvature.** The largest stable step for the
   quadratic is about 1 / λ_max(ZᵀZ / n). ``learning_rate="auto"`` estimates
   λ_max by power iteration (a few matrix-vector products; forming ZᵀZ would
   cost as much as solving the problem in closed form).
3. **Momentum** (heavy ball): v ← μ v - η g, w ← w + v. It remembers past
   gradients, which speeds up progress along the shallow, ill-conditioned
   directions from ~cond steps to ~√cond. On a well-conditioned problem
   the same memory makes it overshoot and circle the answer, so we use
   *adaptive restart* (O'Donoghue and Candès, 2015): when the velocity points
   uphill (g · v > 0), drop it and start the momentum afresh.
4. **A growing batch.** At the optimum the *full* gradient is zero, but a
   mini-batch gradient is not: constant-step mini-batch descent ends up
   bouncing in a noise ball around the answer. Multiplying the batch size by
   ``batch_growth`` after every epoch shrinks that noise geometrically; once
   the batch covers the data set the method is plain (full) gradient descent,
   which converges linearly to the exact answer. ``batch_growth=1`` keeps
   pure mini-batch descent, which stalls at its noise level.

**Stopping rule:** after every epoch, stop when the full gradient has shrunk
to ``tol`` times its size at the start, ||g|| <= tol ||g₀||, which is
scale-free; otherwise stop after ``max_epochs`` with a ConvergenceWarning.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning

from c03_ml_basics.linear import LinearPredictor, center
from c03_ml_basics.validation import FloatMatrix, check_number, check_regression_data

POWER_ITERATIONS = 30  # enough for a step size: the estimate only needs the right order of magnitude


def largest_eigenvalue(z: FloatMatrix, n_iterations: int = POWER_ITERATIONS, seed: int = 0) -> float:
    """Estimate λ_max(ZᵀZ / n) by power iteration, never forming ZᵀZ."""
    # BEGIN SOLUTION c03.1: repeat v <- ZᵀZv / n / ||.||; the Rayleigh quotient converges to λ_max
    vector = np.random.default_rng(seed).standard_normal(z.shape[1])  # (d,)
    vector /= float(np.linalg.norm(vector))
    eigenvalue = 0.0
    for _ in range(n_iterations):
        product = z.T @ (z @ vector) / z.shape[0]  # (d,)
        eigenvalue = float(vector @ product)
        norm = float(np.linalg.norm(product))
        if norm == 0.0:  # Z is all zeros: any step is stable
            return 0.0
        vector = product / norm
    return eigenvalue
    # END SOLUTION


class MiniBatchGDRegressor(LinearPredictor, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ordinary least squares fitted by mini-batch gradient descent (see the module docstring).

    Attributes after fit: ``coef_``, ``intercept_``, ``n_features_in_``, ``n_epochs_`` (epochs
    run), ``converged_`` (the stopping rule fired), ``learning_rate_`` (the step used, on the
    standardised problem) and ``gradient_norms_`` (the full-gradient norm after each epoch,
    relative to the start).
    """

    def __init__(
        self,
        learning_rate: float | str = "auto",
        batch_size: int = 32,
        batch_growth: float = 2.0,
        momentum: float = 0.9,
        max_epochs: int = 2000,
        tol: float = 1e-10,
        fit_intercept: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.batch_growth = batch_growth
        self.momentum = momentum
        self.max_epochs = max_epochs
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def _check_params(self) -> None:
        # BEGIN SOLUTION c03.1: every hyper-parameter's type and range, learning_rate "auto" or > 0
        if self.learning_rate != "auto":
            check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("batch_growth", self.batch_growth, low=1.0)
        check_number("momentum", self.momentum, low=0.0, high=0.999)
        check_number("max_epochs", self.max_epochs, low=1, integer=True)
        check_number("tol", self.tol, low=0.0)
        # END SOLUTION

    def fit(self, x: object, y: object) -> MiniBatchGDRegressor:
        """Fit on ``x`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        # BEGIN SOLUTION c03.1: standardise, pick the step, run epochs of momentum steps on growing batches
        self._check_params()
        features, target = check_regression_data(x, y)
        xc, yc, x_mean, y_mean = center(features, target, bool(self.fit_intercept))
        scale = xc.std(axis=0) if self.fit_intercept else np.sqrt((xc**2).mean(axis=0))  # (d,)
        scale[scale == 0.0] = 1.0  # a constant column stays zero: its coefficient stays zero
        z = xc / scale  # (n, d), standardised
        n_samples, n_features = z.shape
        if self.learning_rate == "auto":
            curvature = largest_eigenvalue(z)
            step = 1.0 / curvature if curvature > 0 else 1.0
        else:
            step = float(self.learning_rate)  # checked by _check_params
        rng = np.random.default_rng(self.random_state)
        weights, velocity = np.zeros(n_features), np.zeros(n_features)  # (d,), (d,)
        initial_norm = float(np.linalg.norm(z.T @ yc)) / n_samples  # ||∇L(0)||
        batch = float(self.batch_size)
        norms: list[float] = []
        self.converged_ = initial_norm == 0.0  # y is constant: w = 0 is already optimal
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
            full_gradient = -z.T @ yc / n_samples  # ∇L at w = 0, kept for the full-batch step below
            while not self.converged_ and len(norms) < self.max_epochs:
                size = min(n_samples, int(batch))
                if size < n_samples:  # shuffle once per epoch; the batches are then contiguous views
                    order = rng.permutation(n_samples)
                    z_epoch, y_epoch = z[order], yc[order]
                for start in range(0, n_samples, size):
                    if size < n_samples:
                        z_batch, y_batch = z_epoch[start : start + size], y_epoch[start : start + size]
                        gradient = z_batch.T @ (z_batch @ weights - y_batch) / len(y_batch)  # (d,)
                    else:  # one full-batch step: its gradient is the one the stopping rule just computed
                        gradient = full_gradient
                    if gradient @ velocity > 0:  # the velocity points uphill: restart the momentum
                        velocity[:] = 0.0
                    velocity = self.momentum * velocity - step * gradient
                    weights = weights + velocity
                batch = min(batch * self.batch_growth, float(n_samples))
                full_gradient = z.T @ (z @ weights - yc) / n_samples  # (d,)
                norm = float(np.linalg.norm(full_gradient)) / initial_norm
                if not np.isfinite(norm):
                    raise ValueError(f"gradient descent diverged after {len(norms) + 1} epochs: "
                                     f"lower learning_rate (was {step:.3g}) or momentum")
                norms.append(norm)
                self.converged_ = norm <= self.tol
        if not self.converged_:
            warnings.warn(f"{type(self).__name__} stopped after max_epochs={self.max_epochs} epochs with "
                          f"relative gradient norm {norms[-1]:.2e} > tol={self.tol}", ConvergenceWarning,
                          stacklevel=2)
        self.coef_ = weights / scale
        self.intercept_ = float(y_mean - x_mean @ self.coef_)
        self.n_features_in_ = n_features
        self.n_epochs_ = len(norms)
        self.learning_rate_ = step
        self.gradient_norms_ = np.asarray(norms)
        return self
        # END SOLUTION
