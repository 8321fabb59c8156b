"""c03.4: the worst-predicted examples and their likely reasons, on cases built to have each reason.

Each constructed case has exactly one documented cause (an outlier feature, a coin-flip
probability, a label among the other class, ...), and the analysis must name it.
"""

from __future__ import annotations

import numpy as np
import pytest

from c03_ml_basics import LeastSquaresRegressor, error_analysis, residual_analysis, worst_classified, worst_regressed

pytestmark = pytest.mark.task("c03.4")

NAMES = ("width", "height")


@pytest.fixture(scope="module")
def two_blobs():
    """Training data: class 'a' around (-2, 0), class 'b' around (+2, 0), unit spread."""
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal([-2.0, 0.0], 1.0, (100, 2)), rng.normal([2.0, 0.0], 1.0, (100, 2))])
    y = np.array(["a"] * 100 + ["b"] * 100)
    return x, y


def classify(proba, y_true, x, two_blobs, k=1):
    x_train, y_train = two_blobs
    return worst_classified(np.asarray(proba), np.asarray(y_true), np.array(["a", "b"]), np.asarray(x), x_train,
                            y_train, NAMES, k=k)


def test_reasons_for_classification(two_blobs):
    # Ranked by log-loss: the first is the worst.
    proba = [[0.9, 0.1], [0.45, 0.55], [0.05, 0.95], [0.2, 0.8], [0.6, 0.4]]
    x = [[0.0, 9.0], [0.1, 0.0], [2.0, 0.0], [-2.5, 0.3], [-2.0, 0.0]]
    truth = ["b", "a", "a", "a", "a"]
    found = classify(proba, truth, x, two_blobs, k=5)
    by_row = {e.index: e for e in found}
    assert [e.index for e in found] == [2, 0, 3, 1, 4]  # p(true) = 0.05, 0.1, 0.2, 0.45, 0.6
    assert by_row[0].reason.startswith("outlier in feature 'height' (z = +")
    assert by_row[1].reason.startswith("near the decision boundary (p(true) = 0.45, p(predicted) = 0.55)")
    assert by_row[2].reason.startswith("label ambiguity: 5 of its 5 nearest training examples are labelled 'b'")
    assert by_row[3].reason.startswith("confidently wrong with typical features (p(true) = 0.20)")
    assert by_row[2].predicted == "b" and by_row[2].true == "a"
    assert by_row[2].loss == pytest.approx(-np.log(0.05))


def test_reasons_for_regression():
    rng = np.random.default_rng(1)
    x_train = rng.standard_normal((200, 2))
    y_train = x_train @ [3.0, -1.0] + rng.standard_normal(200)
    model = LeastSquaresRegressor().fit(x_train, y_train)
    x = rng.standard_normal((40, 2)) * 0.5
    y = model.predict(x) + rng.normal(0.0, 0.3, 40)
    x[0] = [6.0, 0.0]  # outlier in 'width'
    y[0] = model.predict(x[:1])[0] + 6.0
    x[1] = [2.4, -2.4]  # no single |z| above 3, but far from the rest: high leverage
    y[1] = model.predict(x[1:2])[0] - 5.0
    y[2] = 12.0  # a typical input with an extreme target
    y[3] = model.predict(x[3:4])[0] - 4.0  # plain bad luck
    pred = model.predict(x)
    analysis = residual_analysis(x, y, pred)
    found = {e.index: e for e in worst_regressed(analysis, y, pred, x, x_train, y_train, NAMES, k=4)}
    assert set(found) == {0, 1, 2, 3}
    assert found[0].reason.startswith("outlier in feature 'width' (z = +")
    assert found[1].reason.startswith("high leverage (h = ")
    assert found[2].reason.startswith("extreme target (y = 12, +")
    assert found[3].reason.startswith("over-predicted by 4 with typical inputs")
    assert found[3].loss == pytest.approx(abs(analysis.standardized[3]))
    influential = worst_regressed(analysis, y, pred, x, x_train, y_train, NAMES, k=2, by="influence")
    assert [e.index for e in influential] == list(np.argsort(-analysis.cooks_distance)[:2])
    with pytest.raises(ValueError, match="by='leverage' is not supported"):
        worst_regressed(analysis, y, pred, x, x_train, y_train, NAMES, by="leverage")


def test_standard_scores():
    reference = np.array([[0.0, 5.0], [2.0, 5.0]])  # the second column is constant
    np.testing.assert_allclose(error_analysis.standard_scores(np.array([[3.0, 6.0]]), reference), [[2.0, 1.0]])
