"""c03.1: the shared validation helpers, called directly (every estimator calls them first).

Each bad input must raise the documented exception type with a message that names the argument,
the problem and, where there is one, the fix.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import DataConversionWarning, NotFittedError

from c03_ml_basics import validation

pytestmark = pytest.mark.task("c03.1")


def test_check_features_converts_and_keeps_values():
    ints = np.arange(6).reshape(3, 2)
    out = validation.check_features(ints)
    assert out.dtype == np.float64 and out.shape == (3, 2)
    np.testing.assert_array_equal(out, ints)
    np.testing.assert_array_equal(validation.check_features([[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(validation.check_features(np.array([[1, 2]], dtype=object)), [[1.0, 2.0]])
    assert validation.check_features(ints, n_features=2).shape == (3, 2)


@pytest.mark.parametrize(("x", "error", "message"), [
    (np.ones(3), ValueError, r"X must be 2-D \(n_samples, n_features\), got an array of shape \(3,\); Reshape"),
    (np.ones((2, 2, 2)), ValueError, r"X must be 2-D .*shape \(2, 2, 2\)$"),
    (np.float64(3.0), ValueError, r"got an array of shape \(\)"),
    (np.empty((0, 2)), ValueError, r"X is empty: 0 sample\(s\) \(shape=\(0, 2\)\)"),
    (np.empty((3, 0)), ValueError, r"X has 0 feature\(s\) \(shape=\(3, 0\)\)"),
    (np.array([[1.0, np.inf]]), ValueError, r"1 values; the first, infinity, at row 0, column 1"),
    (np.array([[np.nan, 1.0], [np.nan, 2.0]]), ValueError, r"\(2 values; the first, NaN, at row 0, column 0\)"),
    (np.array([["1", "x"]]), ValueError, r"X must hold numbers, got dtype <U1: could not convert"),
    (np.array([[1 + 2j]]), ValueError, r"Complex data not supported"),
    (np.array([[{"a": 1}]], dtype=object), TypeError, r"X must hold numbers, got dtype object"),
    (scipy.sparse.eye(3, format="csr"), TypeError, r"X is a sparse matrix"),
])
def test_check_features_rejects(x, error, message):
    with pytest.raises(error, match=message):
        validation.check_features(x)


def test_check_features_names_the_argument_and_the_fitted_width():
    with pytest.raises(ValueError, match=r"x_test has 3 features, but Model is expecting 2 features as input"):
        validation.check_features(np.ones((4, 3)), name="x_test", n_features=2, owner="Model")


def test_regression_data():
    _, y = validation.check_regression_data([[1.0], [2.0]], np.array([1, 2], dtype=np.int32))
    assert y.dtype == np.float64
    with pytest.raises(ValueError, match=r"inconsistent lengths: X has 2 samples, y has 3"):
        validation.check_regression_data(np.ones((2, 1)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        validation.check_regression_data(np.ones((2, 1)), [1.0, np.inf])
    with pytest.raises(ValueError, match=r"y must hold numbers for regression \(Unknown label type"):
        validation.check_regression_data(np.ones((2, 1)), ["a", "b"])
    with pytest.raises(ValueError, match="requires y to be passed"):
        validation.check_regression_data(np.ones((2, 1)), None)
    with pytest.warns(DataConversionWarning, match=r"raveling shape \(2, 1\) to \(2,\)"):
        _, raveled = validation.check_regression_data(np.ones((2, 1)), [[1.0], [2.0]])
    assert raveled.shape == (2,)


def test_classification_data_encodes_labels():
    _, classes, encoded = validation.check_classification_data(np.ones((4, 1)), ["b", "a", "b", "c"])
    assert list(classes) == ["a", "b", "c"]
    np.testing.assert_array_equal(encoded, [1, 0, 1, 2])
    _, classes, _ = validation.check_classification_data(np.ones((3, 1)), [2.0, -1.0, 2.0])  # integral floats: fine
    np.testing.assert_array_equal(classes, [-1.0, 2.0])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        validation.check_classification_data(np.ones((2, 1)), [0.5, 1.0])
    with pytest.raises(ValueError, match="every sample needs a class label"):
        validation.check_classification_data(np.ones((2, 1)), [np.nan, 1.0])


def test_check_fitted():
    class Model:
        pass

    model = Model()
    with pytest.raises(NotFittedError, match=r"This Model instance is not fitted yet. Call 'fit'"):
        validation.check_fitted(model, "coef_")
    model.coef_ = 1.0
    validation.check_fitted(model, "coef_")
    with pytest.raises(NotFittedError):
        validation.check_fitted(model, "coef_", "intercept_")


def test_check_choice():
    validation.check_choice("criterion", "gini", ("gini", "entropy"))
    for value in ("Gini", None, 1, ["gini"]):
        with pytest.raises(ValueError, match=r"criterion=.* is not supported; choose one of 'gini', 'entropy'"):
            validation.check_choice("criterion", value, ("gini", "entropy"))


def test_check_number():
    validation.check_number("alpha", 0.0, low=0.0)
    validation.check_number("alpha", np.float32(2.5), low=0.0)
    validation.check_number("depth", np.int64(3), low=1, integer=True)
    validation.check_number("depth", None, low=1, integer=True, allow_none=True)
    validation.check_number("rate", 1.0, low=0.0, high=1.0)
    cases = [
        ({"value": 0.0, "low": 0.0, "low_open": True}, ValueError, r"rate=0.0 is out of range: it must lie in \(0.0"),
        ({"value": 1.5, "low": 0.0, "high": 1.0}, ValueError, r"must lie in \[0.0, 1.0\]"),
        ({"value": float("nan"), "low": 0.0}, ValueError, "rate=nan is out of range"),
        ({"value": None, "low": 0.0}, TypeError, "rate must be a real number, got None"),
        ({"value": True, "low": 0, "integer": True}, TypeError, "rate must be an int, got True"),
        ({"value": 2.0, "low": 0, "integer": True}, TypeError, "rate must be an int, got 2.0"),
        ({"value": "3", "low": 0, "integer": True, "allow_none": True}, TypeError, "an int or None, got '3'"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            validation.check_number("rate", **kwargs)
