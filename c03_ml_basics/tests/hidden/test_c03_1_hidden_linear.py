"""c03.1 (hidden): scikit-learn's own estimator checks, and harder least-squares cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import check_estimator

from c03_ml_basics import LeastSquaresRegressor, MiniBatchGDRegressor, RidgeRegressor

pytestmark = pytest.mark.task("c03.1")

ATOL = 1e-8


@pytest.mark.parametrize("estimator", [LeastSquaresRegressor(), LeastSquaresRegressor(solver="lstsq"),
                                       RidgeRegressor(), RidgeRegressor(solver="svd"),
                                       MiniBatchGDRegressor(random_state=0)], ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # pandas-only checks
def test_sklearn_check_estimator(estimator):
    check_estimator(estimator)  # raises on the first failed check


def test_square_system_and_integer_input():
    rng = np.random.default_rng(5)
    x = rng.integers(-5, 6, (7, 6))  # n = d + 1: centring leaves a square, full-rank system
    y = rng.integers(0, 100, 7)
    oracle = LinearRegression().fit(x, y)
    model = LeastSquaresRegressor().fit(x, y)
    np.testing.assert_allclose(model.coef_, oracle.coef_, rtol=1e-9, atol=ATOL)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-8)  # interpolates


def test_float32_input_is_computed_in_float64():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    y = (x @ [1.0, -2.0, 0.5]).astype(np.float32)
    for model, oracle in ((LeastSquaresRegressor(), LinearRegression()), (RidgeRegressor(0.3), Ridge(0.3))):
        got = model.fit(x, y).coef_
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, oracle.fit(x.astype(float), y.astype(float)).coef_, atol=1e-9)


def test_single_feature_and_two_samples():
    x, y = np.array([[1.0], [3.0]]), np.array([2.0, 6.0])
    for model in (LeastSquaresRegressor(), RidgeRegressor(alpha=0.0, solver="svd"), MiniBatchGDRegressor()):
        model.fit(x, y)
        np.testing.assert_allclose(model.coef_, [2.0], atol=1e-6)
        assert model.intercept_ == pytest.approx(0.0, abs=1e-6)


def test_gradient_descent_on_badly_scaled_features():
    """Features on scales 1e-3 .. 1e3: standardising inside fit makes them harmless.

    The oracle is our QR solver: scikit-learn's LinearRegression treats singular values below
    tol=1e-6 of the largest as zero, and this X has a ratio of 1e-6, so it drops a direction.
    """
    rng = np.random.default_rng(7)
    x = rng.standard_normal((300, 4)) * [1e-3, 1.0, 1e2, 1e3]
    y = x @ [500.0, 2.0, 0.03, -0.001] + rng.standard_normal(300)
    oracle = LeastSquaresRegressor(solver="qr").fit(x, y)
    model = MiniBatchGDRegressor(random_state=0).fit(x, y)
    assert model.converged_
    np.testing.assert_allclose(model.predict(x), oracle.predict(x), atol=1e-4)


def test_gradient_descent_batch_larger_than_data():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((20, 2))
    y = x @ [1.0, 1.0]
    model = MiniBatchGDRegressor(batch_size=1000, momentum=0.0).fit(x, y)
    np.testing.assert_allclose(model.coef_, [1.0, 1.0], atol=1e-6)
