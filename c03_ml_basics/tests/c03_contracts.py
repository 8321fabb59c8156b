"""The contract every c03 estimator keeps, as reusable checks (imported by each task's tests).

scikit-learn's conventions: ``fit`` returns self, ``NotFittedError`` before fit, parameters
round-trip through ``get_params`` / ``set_params`` / ``clone``, and bad input gets a clear error
whose message names the problem. Each task's test file runs these checks on its own estimators.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone, is_classifier
from sklearn.exceptions import DataConversionWarning, NotFittedError

N_SAMPLES, N_FEATURES = 24, 4


def good_data(estimator, seed: int = 0):
    """A small, well-posed problem of the estimator's kind: (X, y)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, N_FEATURES))
    if is_classifier(estimator):
        y = np.tile([0, 1, 2], N_SAMPLES // 3)
        x[:, 0] += y  # learnable
        return x, y
    return x, x @ np.arange(1.0, N_FEATURES + 1) + 0.1 * rng.standard_normal(N_SAMPLES)


def _with(x, row, col, value):
    out = np.array(x, dtype=object if isinstance(value, str) else x.dtype)
    out[row, col] = value
    return out


def bad_data_cases(estimator):
    """(id, X, y, exception, message regex) for every kind of bad training data."""
    x, y = good_data(estimator)
    cases = [
        ("X 1-D", x[:, 0], y, ValueError, r"must be 2-D .*Reshape your data"),
        ("X 3-D", x[:, :, None], y, ValueError, r"must be 2-D .*shape \(24, 4, 1\)"),
        ("X empty", np.empty((0, N_FEATURES)), y[:0], ValueError, r"0 sample\(s\)"),
        ("X without features", np.empty((N_SAMPLES, 0)), y, ValueError, r"0 feature\(s\)"),
        ("X with NaN", _with(x, 1, 2, np.nan), y, ValueError, r"NaN or infinity .*first, NaN, at row 1, column 2"),
        ("X with inf", _with(x, 3, 0, np.inf), y, ValueError, r"NaN or infinity .*infinity, at row 3, column 0"),
        ("X with a string", _with(x, 0, 0, "seven"), y, ValueError, r"X must hold numbers"),
        ("X complex", x + 1j, y, ValueError, r"Complex data not supported"),
        ("X sparse", scipy.sparse.csr_matrix(x), y, TypeError, r"sparse matrix.*toarray"),
        ("y too short", x, y[:-1], ValueError, r"inconsistent lengths: X has 24 samples, y has 23"),
        ("y None", x, None, ValueError, r"requires y to be passed"),
        ("y 2-D", x, np.column_stack([y, y]), ValueError, r"y must be 1-D .*shape \(24, 2\)"),
        ("y with NaN", x, np.where(np.arange(N_SAMPLES) == 5, np.nan, y.astype(float)), ValueError,
         r"y contains NaN"),
    ]
    if is_classifier(estimator):
        cases.append(("y continuous", x, y + 0.5, ValueError, r"Unknown label type: continuous"))
    else:
        cases.append(("y strings", x, np.array(["a"] * N_SAMPLES), ValueError, r"y must hold numbers"))
    return cases


def assert_rejects_bad_data(estimator) -> None:
    """fit raises the documented error with a clear message for every bad-data case."""
    for case_id, x, y, error, message in bad_data_cases(estimator):
        with pytest.raises(error, match=message):
            clone(estimator).fit(x, y)
        assert case_id  # the id names the case in a failure's traceback


def assert_rejects_bad_params(estimator, bad_params) -> None:
    """Each (params, exception, regex) in ``bad_params`` makes fit raise; __init__ accepted them silently."""
    x, y = good_data(estimator)
    for params, error, message in bad_params:
        model = clone(estimator).set_params(**params)  # sklearn's rule: no validation in __init__/set_params
        with pytest.raises(error, match=message):
            model.fit(x, y)


def prediction_methods(estimator):
    return [m for m in ("predict", "predict_proba", "predict_log_proba", "decision_function", "apply")
            if hasattr(estimator, m)]


def assert_unfitted_and_feature_checks(estimator) -> None:
    """NotFittedError before fit; after fit, a wrong feature count or NaN at predict time is refused."""
    x, y = good_data(estimator)
    fresh = clone(estimator)
    for method in prediction_methods(fresh):
        with pytest.raises(NotFittedError, match=f"This {type(fresh).__name__} instance is not fitted yet"):
            getattr(fresh, method)(x)
    fitted = clone(estimator).fit(x, y)
    for method in prediction_methods(fitted):
        with pytest.raises(ValueError, match=rf"X has 3 features, but {type(fitted).__name__} is expecting 4"):
            getattr(fitted, method)(x[:, :3])
        with pytest.raises(ValueError, match="NaN or infinity"):
            getattr(fitted, method)(_with(x, 0, 0, np.nan))
        with pytest.raises(ValueError, match="must be 2-D"):
            getattr(fitted, method)(x[0])


def assert_follows_sklearn_conventions(estimator) -> None:
    """fit returns self; params round-trip; a column-vector y warns and is raveled; lists work."""
    x, y = good_data(estimator)
    model = clone(estimator)
    assert model.fit(x, y) is model
    params = model.get_params()
    assert clone(model).get_params() == params
    assert model.set_params(**params) is model
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(not_a_parameter=1)
    expected = model.predict(x)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = clone(estimator).fit(x, y[:, None])
    np.testing.assert_allclose(column.predict(x), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # plain lists are ordinary input: no warning
        from_lists = clone(estimator).fit(x.tolist(), y.tolist())
    np.testing.assert_allclose(from_lists.predict(x.tolist()), expected)
