"""c03.2 (hidden): scikit-learn's estimator checks, and harder logistic-regression cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import check_estimator

from c03_ml_basics import LogisticClassifier

pytestmark = pytest.mark.task("c03.2")

ORACLE = {"tol": 1e-12, "max_iter": 10_000}


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # pandas-only checks
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the checks' unscaled data
def test_sklearn_check_estimator(solver):
    check_estimator(LogisticClassifier(solver=solver))


def test_imbalanced_string_labels_match_sklearn():
    rng = np.random.default_rng(3)
    y = np.array(["rare"] * 10 + ["common"] * 150 + ["middle"] * 40)
    x = rng.standard_normal((200, 3)) + (y == "rare")[:, None] * 1.5 - (y == "middle")[:, None] * [1.0, 0.0, 0.5]
    model = LogisticClassifier().fit(x, y)
    oracle = LogisticRegression(**ORACLE).fit(x, y)
    assert list(model.classes_) == list(oracle.classes_) == ["common", "middle", "rare"]
    np.testing.assert_allclose(model.coef_, oracle.coef_, atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(x), oracle.predict_proba(x), atol=1e-5)


def test_tiny_c_predicts_the_class_frequencies():
    """C -> 0 forces the coefficients to 0; the unpenalised intercepts then fit the class priors."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((100, 2))
    y = np.array([0] * 20 + [1] * 30 + [2] * 50)
    proba = LogisticClassifier(C=1e-8).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(proba, np.tile([0.2, 0.3, 0.5], (100, 1)), atol=1e-6)


def test_duplicated_features_are_fine_with_l2():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((120, 2))
    x = np.column_stack([base, base[:, 0]])  # exactly collinear: L2 still gives a unique optimum
    y = (base[:, 0] + 0.5 * rng.standard_normal(120) > 0).astype(int)
    for solver in ("newton", "lbfgs"):
        model = LogisticClassifier(solver=solver).fit(x, y)
        np.testing.assert_allclose(model.coef_, LogisticRegression(**ORACLE).fit(x, y).coef_, atol=1e-4)
        assert model.coef_[0, 0] == pytest.approx(model.coef_[0, 2])  # the twins share the weight


def test_solvers_agree():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((150, 4))
    y = np.argmax(x[:, :3] + 0.5 * rng.standard_normal((150, 3)), axis=1)
    a = LogisticClassifier(solver="newton", C=0.5).fit(x, y)
    b = LogisticClassifier(solver="lbfgs", C=0.5, tol=1e-10, max_iter=1000).fit(x, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-5)
