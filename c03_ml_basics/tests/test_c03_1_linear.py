"""c03.1: least squares by QR or lstsq, and ridge in closed form, against scikit-learn.

Oracles: ``sklearn.linear_model.LinearRegression`` (LAPACK's SVD-based lstsq) and ``Ridge``
(Cholesky for dense input) on the diabetes data, and on random problems.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
from c03_contracts import (
    assert_follows_sklearn_conventions,
    assert_rejects_bad_data,
    assert_rejects_bad_params,
    assert_unfitted_and_feature_checks,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from c03_ml_basics import LeastSquaresRegressor, RidgeRegressor, linear

pytestmark = pytest.mark.task("c03.1")

# Tolerances. Diabetes is well conditioned (cond(Xc) = 22) and its coefficients reach 800, so two
# backward-stable float64 solvers agree to about cond * eps * |w| = 4e-12; the acceptance asks for 1e-8.
DIABETES_ATOL = 1e-8
# Random problems: coefficients of order 1, cond(X) at most a few hundred.
RANDOM_RTOL = 1e-9
RIDGE_ALPHAS = (1e-3, 0.1, 1.0, 10.0)


def coef_and_intercept(model) -> np.ndarray:
    return np.append(np.ravel(model.coef_), model.intercept_)


def test_least_squares_matches_sklearn_on_diabetes(data, metric):
    d = data["diabetes"]
    oracle = LinearRegression().fit(d.x, d.y)
    coef_error = r2_error = 0.0
    for solver in ("qr", "lstsq"):
        model = LeastSquaresRegressor(solver=solver).fit(d.x, d.y)
        coef_error = max(coef_error, np.abs(coef_and_intercept(model) - coef_and_intercept(oracle)).max())
        r2_error = max(r2_error, abs(model.score(d.x, d.y) - oracle.score(d.x, d.y)))
        np.testing.assert_allclose(model.predict(d.x), oracle.predict(d.x), rtol=0, atol=DIABETES_ATOL)
    metric("ols_coef_max_abs_diff_vs_sklearn", coef_error)
    metric("ols_r2_abs_diff_vs_sklearn", r2_error)


def test_ridge_matches_sklearn_on_diabetes(data, metric):
    d = data["diabetes"]
    coef_error = r2_error = 0.0
    for alpha in RIDGE_ALPHAS:
        oracle = Ridge(alpha=alpha).fit(d.x, d.y)
        for solver in ("cholesky", "svd"):
            model = RidgeRegressor(alpha=alpha, solver=solver).fit(d.x, d.y)
            coef_error = max(coef_error, np.abs(coef_and_intercept(model) - coef_and_intercept(oracle)).max())
            r2_error = max(r2_error, abs(model.score(d.x, d.y) - oracle.score(d.x, d.y)))
    metric("ridge_coef_max_abs_diff_vs_sklearn", coef_error)
    metric("ridge_r2_abs_diff_vs_sklearn", r2_error)


@pytest.mark.parametrize("fit_intercept", [True, False])
@settings(deadline=None, report_multiple_bugs=False, max_examples=25, derandomize=True, database=None)
@given(n_features=st.integers(1, 6), extra_rows=st.integers(2, 40), seed=st.integers(0, 2**32 - 1),
       alpha=st.sampled_from([0.0, 0.5, 3.0]))
def test_random_problems_match_sklearn(fit_intercept, n_features, extra_rows, seed, alpha):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_features + extra_rows, n_features)) * rng.uniform(0.5, 2.0, n_features)
    y = x @ rng.standard_normal(n_features) + rng.standard_normal(len(x)) + 3.0
    oracle = LinearRegression(fit_intercept=fit_intercept).fit(x, y)
    for solver in ("qr", "lstsq"):
        model = LeastSquaresRegressor(fit_intercept=fit_intercept, solver=solver).fit(x, y)
        np.testing.assert_allclose(coef_and_intercept(model), coef_and_intercept(oracle), rtol=RANDOM_RTOL,
                                   atol=RANDOM_RTOL)
    if alpha > 0:
        ridge = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(x, y)
        for solver in ("cholesky", "svd"):
            model = RidgeRegressor(alpha=alpha, fit_intercept=fit_intercept, solver=solver).fit(x, y)
            np.testing.assert_allclose(coef_and_intercept(model), coef_and_intercept(ridge), rtol=RANDOM_RTOL,
                                       atol=RANDOM_RTOL)


def test_never_inverts_a_matrix(data, monkeypatch):
    """Least squares and ridge solve systems; an explicit inverse is slower and less accurate."""
    def refuse(*args, **kwargs):
        raise AssertionError("explicit matrix inverse called")

    for module, name in ((np.linalg, "inv"), (np.linalg, "pinv"), (scipy.linalg, "inv"), (scipy.linalg, "pinv")):
        monkeypatch.setattr(module, name, refuse)
    d = data["diabetes"]
    for model in (LeastSquaresRegressor(solver="qr"), LeastSquaresRegressor(solver="lstsq"),
                  RidgeRegressor(solver="cholesky"), RidgeRegressor(solver="svd")):
        model.fit(d.x, d.y)


def test_qr_survives_ill_conditioning_that_normal_equations_do_not():
    """cond(X) = 1e7: QR loses about cond * eps = 1e-9; XᵀX (cond 1e14) loses about 1e-2."""
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((200, 5)))
    v, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    x = u @ np.diag(np.logspace(0, -7, 5)) @ v.T  # singular values 1 .. 1e-7
    w_true = rng.standard_normal(5)
    y = x @ w_true  # consistent system: the exact answer is w_true
    qr_error = np.abs(linear.solve_least_squares_qr(x, y) - w_true).max() / np.abs(w_true).max()
    normal_equations_error = np.abs(np.linalg.solve(x.T @ x, x.T @ y) - w_true).max() / np.abs(w_true).max()
    assert qr_error < 1e-8  # measured: 1.6e-10
    assert normal_equations_error > 1e4 * qr_error  # measured: 2.0e-3, what the textbook formula costs


def test_rank_deficient_qr_raises_and_lstsq_gives_the_minimum_norm_solution(data):
    d = data["diabetes"]
    x = np.column_stack([d.x, d.x[:, 0] + d.x[:, 1]])  # an exactly collinear column
    with pytest.raises(ValueError, match="rank-deficient"):
        LeastSquaresRegressor(solver="qr").fit(x, d.y)
    with pytest.raises(ValueError, match="n_samples=3 < n_features=10"):
        LeastSquaresRegressor(solver="qr").fit(d.x[:3], d.y[:3])
    model = LeastSquaresRegressor(solver="lstsq").fit(x, d.y)
    oracle = LinearRegression().fit(x, d.y)
    np.testing.assert_allclose(model.predict(x), oracle.predict(x), atol=DIABETES_ATOL)
    np.testing.assert_allclose(model.coef_, oracle.coef_, atol=1e-6)  # both the minimum-norm solution


def test_ridge_alpha_zero_is_least_squares_and_shrinks_as_alpha_grows(data):
    d = data["diabetes"]
    ols = LeastSquaresRegressor().fit(d.x, d.y)
    np.testing.assert_allclose(RidgeRegressor(alpha=0.0, solver="svd").fit(d.x, d.y).coef_, ols.coef_, atol=1e-8)
    norms = [np.linalg.norm(RidgeRegressor(alpha=a).fit(d.x, d.y).coef_) for a in (0.01, 0.1, 1.0, 10.0, 100.0)]
    assert all(a > b for a, b in itertools.pairwise(norms))
    with pytest.raises(ValueError, match="singular"):
        RidgeRegressor(alpha=0.0).fit(np.column_stack([d.x, d.x[:, 0]]), d.y)


def test_intercept_is_not_penalised():
    """A huge alpha shrinks the slopes to zero; the prediction tends to the mean of y, not to zero."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3))
    y = 100.0 + x @ [1.0, 2.0, 3.0]
    model = RidgeRegressor(alpha=1e12).fit(x, y)
    assert np.abs(model.coef_).max() < 1e-8
    assert model.intercept_ == pytest.approx(y.mean() - x.mean(axis=0) @ model.coef_)


def test_drop_into_pipeline_and_cross_val_score(data):
    d = data["diabetes"]
    folds = KFold(5, shuffle=True, random_state=0)
    for ours, theirs in ((LeastSquaresRegressor(), LinearRegression()), (RidgeRegressor(alpha=2.0), Ridge(2.0))):
        a = cross_val_score(make_pipeline(StandardScaler(), ours), d.x, d.y, cv=folds, error_score="raise")
        b = cross_val_score(make_pipeline(StandardScaler(), theirs), d.x, d.y, cv=folds, error_score="raise")
        np.testing.assert_allclose(a, b, atol=DIABETES_ATOL)


@pytest.mark.parametrize("estimator", [LeastSquaresRegressor(), RidgeRegressor()], ids=lambda e: type(e).__name__)
def test_estimator_contract(estimator):
    assert_rejects_bad_data(estimator)
    assert_unfitted_and_feature_checks(estimator)
    assert_follows_sklearn_conventions(estimator)


def test_bad_hyper_parameters():
    assert_rejects_bad_params(LeastSquaresRegressor(), [
        ({"solver": "inverse"}, ValueError, r"solver='inverse' is not supported; choose one of 'qr', 'lstsq'"),
        ({"solver": None}, ValueError, r"solver=None is not supported"),
    ])
    assert_rejects_bad_params(RidgeRegressor(), [
        ({"alpha": -1.0}, ValueError, r"alpha=-1.0 is out of range: it must lie in \[0.0, inf\]"),
        ({"alpha": float("nan")}, ValueError, r"alpha=nan is out of range"),
        ({"alpha": "1"}, TypeError, r"alpha must be a real number, got '1'"),
        ({"alpha": True}, TypeError, r"alpha must be a real number, got True"),
        ({"solver": "qr"}, ValueError, r"choose one of 'cholesky', 'svd'"),
    ])
