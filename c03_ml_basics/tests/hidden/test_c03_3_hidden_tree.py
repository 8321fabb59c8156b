"""c03.3 (hidden): scikit-learn's estimator checks, and trees on continuous random data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import check_estimator

from c03_ml_basics import CARTClassifier, CARTRegressor

pytestmark = pytest.mark.task("c03.3")

LEAF_MEAN_RTOL = 1e-12


@pytest.mark.parametrize("estimator", [CARTClassifier(), CARTClassifier(criterion="entropy"), CARTRegressor()],
                         ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # pandas-only checks
def test_sklearn_check_estimator(estimator):
    check_estimator(estimator)


@pytest.mark.parametrize("max_depth", [2, 4, 6])
def test_regressor_equals_sklearn_on_continuous_data(max_depth):
    """Continuous features, nodes of tens of samples: no ties, so the very same tree."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6))
    y = 2.0 * x[:, 0] + np.sin(3.0 * x[:, 1]) + 0.3 * rng.standard_normal(400)
    x_new = rng.standard_normal((200, 6))
    ours = CARTRegressor(max_depth=max_depth).fit(x, y)
    theirs = DecisionTreeRegressor(max_depth=max_depth, random_state=0).fit(x, y)
    np.testing.assert_allclose(ours.predict(x_new), theirs.predict(x_new), rtol=LEAF_MEAN_RTOL)
    assert ours.tree_.node_count == theirs.tree_.node_count


def test_classifier_equals_sklearn_where_sklearn_is_seed_free():
    x, y = make_classification(600, 8, n_informative=5, n_classes=3, random_state=0)
    for config in ({"max_depth": 3}, {"max_depth": 5, "min_samples_leaf": 10}, {"criterion": "entropy",
                                                                                "max_depth": 4}):
        theirs = [DecisionTreeClassifier(random_state=s, **config).fit(x[:400], y[:400]).predict(x[400:])
                  for s in range(5)]
        if all(np.array_equal(theirs[0], t) for t in theirs[1:]):
            np.testing.assert_array_equal(CARTClassifier(**config).fit(x[:400], y[:400]).predict(x[400:]),
                                          theirs[0])


def test_conflicting_duplicates_and_constant_features():
    x = np.array([[0.0, 5.0], [0.0, 5.0], [1.0, 5.0], [1.0, 5.0]])
    y = np.array([0, 1, 1, 1])
    model = CARTClassifier().fit(x, y)
    assert set(model.node_feature_[model.node_feature_ >= 0]) == {0}  # the constant feature is never used
    np.testing.assert_allclose(model.predict_proba([[0.0, 5.0]]), [[0.5, 0.5]])
    assert model.predict([[0.0, 5.0]])[0] == 0  # a tied leaf predicts the first class
    regressor = CARTRegressor().fit(x, y.astype(float))
    np.testing.assert_allclose(regressor.predict([[0.0, 5.0], [1.0, 5.0]]), [0.5, 1.0])


def test_large_min_samples_leaf_gives_a_stump():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((10, 2)), np.arange(10) % 2
    assert CARTClassifier(min_samples_leaf=6).fit(x, y).get_n_leaves() == 1
    assert CARTClassifier(min_samples_split=11).fit(x, y).get_n_leaves() == 1
    assert CARTClassifier(max_depth=1).fit(x, y).get_n_leaves() == 2
