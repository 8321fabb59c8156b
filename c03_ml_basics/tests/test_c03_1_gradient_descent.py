"""c03.1: least squares by mini-batch gradient descent, with momentum, a growing batch and a stopping rule.

Oracle: ``sklearn.linear_model.LinearRegression``, the exact least-squares answer that gradient
descent must reach; the acceptance asks for coefficients within 1e-4 on diabetes.
"""

from __future__ import annotations

import numpy as np
import pytest
from c03_contracts import (
    assert_follows_sklearn_conventions,
    assert_rejects_bad_data,
    assert_rejects_bad_params,
    assert_unfitted_and_feature_checks,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score

from c03_ml_basics import MiniBatchGDRegressor, gradient_descent

pytestmark = pytest.mark.task("c03.1")

SEEDS = (0, 1, 2)  # the mini-batch order must not matter for the answer
# Power iteration on diabetes: the top two eigenvalues of the correlation matrix are 4.0 and 1.5,
# so 30 iterations shrink the error by about (1.5/4)^60; 1e-6 leaves room.
EIGENVALUE_RTOL = 1e-6


def standardised(x):
    return (x - x.mean(axis=0)) / x.std(axis=0)


def test_reaches_the_least_squares_solution_on_diabetes(data, metric):
    d = data["diabetes"]
    oracle = LinearRegression().fit(d.x, d.y)
    reference = np.append(oracle.coef_, oracle.intercept_)
    coef_error = r2_error = 0.0
    for seed in SEEDS:
        model = MiniBatchGDRegressor(random_state=seed).fit(d.x, d.y)
        assert model.converged_
        coef_error = max(coef_error, np.abs(np.append(model.coef_, model.intercept_) - reference).max())
        r2_error = max(r2_error, abs(model.score(d.x, d.y) - oracle.score(d.x, d.y)))
    metric("gd_coef_max_abs_diff_vs_sklearn", coef_error)
    metric("gd_r2_abs_diff_vs_sklearn", r2_error)


def test_stopping_rule(data):
    d = data["diabetes"]
    loose = MiniBatchGDRegressor(tol=1e-3, random_state=0).fit(d.x, d.y)
    tight = MiniBatchGDRegressor(tol=1e-10, random_state=0).fit(d.x, d.y)
    for model in (loose, tight):
        assert model.converged_
        assert model.n_epochs_ == len(model.gradient_norms_)
        assert model.gradient_norms_[-1] <= model.tol  # it stopped because the rule fired ...
        assert np.all(model.gradient_norms_[:-1] > model.tol)  # ... and not before
    assert loose.n_epochs_ < tight.n_epochs_


def test_max_epochs_warns_and_keeps_the_last_iterate(data):
    d = data["diabetes"]
    with pytest.warns(ConvergenceWarning, match="stopped after max_epochs=3 epochs"):
        model = MiniBatchGDRegressor(max_epochs=3, random_state=0).fit(d.x, d.y)
    assert not model.converged_ and model.n_epochs_ == 3
    assert model.score(d.x, d.y) > 0.3  # three epochs already learn something


def test_without_a_growing_batch_it_stalls_in_the_noise(data):
    """Constant-size mini-batches never reach the exact answer: their gradient noise does not vanish."""
    d = data["diabetes"]
    with pytest.warns(ConvergenceWarning):
        stalled = MiniBatchGDRegressor(batch_growth=1.0, max_epochs=100, random_state=0).fit(d.x, d.y)
    assert stalled.gradient_norms_[-50:].min() > 1e-3  # a noise floor: 50 more epochs do not get below it
    grown = MiniBatchGDRegressor(random_state=0).fit(d.x, d.y)
    assert grown.converged_ and grown.gradient_norms_[-1] <= grown.tol


def test_deterministic_for_a_seed_and_full_batch_ignores_it(data):
    d = data["diabetes"]
    a = MiniBatchGDRegressor(random_state=3, max_epochs=5, tol=0.0)
    b = MiniBatchGDRegressor(random_state=3, max_epochs=5, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        np.testing.assert_array_equal(a.fit(d.x, d.y).coef_, b.fit(d.x, d.y).coef_)
    full = [MiniBatchGDRegressor(batch_size=10_000, random_state=s).fit(d.x, d.y).coef_ for s in (0, 1)]
    np.testing.assert_array_equal(full[0], full[1])  # no sampling: the seed plays no part


def test_learning_rate(data):
    d = data["diabetes"]
    auto = MiniBatchGDRegressor(random_state=0).fit(d.x, d.y)
    eigenvalue = np.linalg.eigvalsh(np.corrcoef(d.x, rowvar=False)).max()
    assert auto.learning_rate_ == pytest.approx(1.0 / eigenvalue, rel=EIGENVALUE_RTOL)
    fixed = MiniBatchGDRegressor(learning_rate=0.1, random_state=0).fit(d.x, d.y)
    assert fixed.learning_rate_ == 0.1 and fixed.converged_
    np.testing.assert_allclose(fixed.coef_, auto.coef_, atol=1e-3)
    with pytest.raises(ValueError, match="diverged"):
        MiniBatchGDRegressor(learning_rate=50.0, random_state=0).fit(d.x, d.y)


def test_largest_eigenvalue_matches_eigvalsh(data):
    z = standardised(data["diabetes"].x)
    exact = np.linalg.eigvalsh(z.T @ z / len(z)).max()
    assert gradient_descent.largest_eigenvalue(z) == pytest.approx(exact, rel=EIGENVALUE_RTOL)
    assert gradient_descent.largest_eigenvalue(np.zeros((5, 3))) == 0.0


def test_constant_target_and_constant_feature():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.standard_normal(40), np.full(40, 7.0), rng.standard_normal(40)])
    model = MiniBatchGDRegressor(random_state=0).fit(x, np.full(40, 2.5))
    assert model.converged_ and model.n_epochs_ == 0
    np.testing.assert_array_equal(model.coef_, 0.0)
    assert model.intercept_ == 2.5
    y = 1.0 + 2.0 * x[:, 0] - x[:, 2]
    fitted = MiniBatchGDRegressor(random_state=0).fit(x, y)
    np.testing.assert_allclose(fitted.coef_, [2.0, 0.0, -1.0], atol=1e-6)
    no_intercept = MiniBatchGDRegressor(fit_intercept=False, random_state=0).fit(x, y)
    np.testing.assert_allclose(no_intercept.predict(x), LinearRegression(fit_intercept=False).fit(x, y).predict(x),
                               atol=1e-5)


def test_drop_into_cross_val_score(data):
    d = data["diabetes"]
    folds = KFold(3, shuffle=True, random_state=0)
    ours = cross_val_score(MiniBatchGDRegressor(random_state=0), d.x, d.y, cv=folds, error_score="raise")
    theirs = cross_val_score(LinearRegression(), d.x, d.y, cv=folds, error_score="raise")
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_estimator_contract():
    estimator = MiniBatchGDRegressor(random_state=0)
    assert_rejects_bad_data(estimator)
    assert_unfitted_and_feature_checks(estimator)
    assert_follows_sklearn_conventions(estimator)


def test_bad_hyper_parameters():
    assert_rejects_bad_params(MiniBatchGDRegressor(), [
        ({"learning_rate": 0.0}, ValueError, r"learning_rate=0.0 is out of range: it must lie in \(0.0, inf\]"),
        ({"learning_rate": "fast"}, TypeError, r"learning_rate must be a real number, got 'fast'"),
        ({"batch_size": 0}, ValueError, r"batch_size=0 is out of range"),
        ({"batch_size": 8.0}, TypeError, r"batch_size must be an int, got 8.0"),
        ({"batch_growth": 0.5}, ValueError, r"batch_growth=0.5 is out of range"),
        ({"momentum": 1.0}, ValueError, r"momentum=1.0 is out of range: it must lie in \[0.0, 0.999\]"),
        ({"max_epochs": 0}, ValueError, r"max_epochs=0 is out of range"),
        ({"tol": -1e-3}, ValueError, r"tol=-0.001 is out of range"),
    ])
