"""Input and hyper-parameter validation shared by every estimator in this module.

An estimator that trusts its input fails far from the mistake: a 1-D ``X``
broadcasts into a wrong answer, one NaN turns every coefficient into NaN, a
``(100, 1)`` target silently broadcasts against ``(100,)`` predictions into a
(100, 100) residual matrix. So every ``fit`` and ``predict`` calls these helpers
first, and each raises an error whose message names the argument, what is wrong
and, where there is one, the fix:

* ``ValueError`` for data of the wrong shape or value (not 2-D, empty, NaN or
  infinity, lengths that disagree, a feature count unlike the one seen in fit)
  and for a hyper-parameter outside its allowed values (scikit-learn raises
  ``ValueError`` there too, so ``GridSearchCV`` reports it the same way);
* ``TypeError`` for the wrong kind of thing (sparse matrices, objects that
  are not numbers, a hyper-parameter of the wrong type);
* :class:`sklearn.exceptions.NotFittedError` for ``predict`` before ``fit``.

scikit-learn's rule is that ``__init__`` only stores its arguments; they are
checked here, in ``fit``, because ``set_params`` and ``clone`` bypass
``__init__``.

The messages contain the phrases scikit-learn's own ``check_estimator`` looks
for ("Reshape your data", "0 feature(s)", "is expecting 4 features as input",
"Unknown label type", ...), so our estimators pass its input-validation checks.
A column-vector ``y`` of shape (n, 1) is accepted with a ``DataConversionWarning``
and raveled, as in scikit-learn.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import DataConversionWarning, NotFittedError

FloatMatrix = NDArray[np.float64]  # (n_samples, n_features)
FloatVector = NDArray[np.float64]  # (n_samples,)
IntVector = NDArray[np.intp]  # (n_samples,): class indices 0..n_classes-1


def check_features(x: object, *, name: str = "X", n_features: int | None = None, owner: str = "") -> FloatMatrix:
    """Return ``x`` as a finite 2-D float64 array of shape (n_samples, n_features).

    Args:
        x: array-like of numbers (ndarray, nested lists, a DataFrame of numbers).
        name: what to call ``x`` in error messages.
        n_features: the feature count seen in ``fit``; predict-time input must match it.
        owner: the estimator's class name, for the feature-count message.

    Raises:
        TypeError: ``x`` is a sparse matrix or holds objects that are not numbers.
        ValueError: ``x`` holds complex numbers or strings, is not 2-D, has no samples
            or no features, holds NaN or infinity, or has a different feature count than in fit.
    """
    # BEGIN SOLUTION c03.1: to float64; check sparse, complex, ndim, empty, finite, width
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; this estimator needs a dense array: call {name}.toarray()")
    raw = np.asarray(x)
    if raw.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} holds complex numbers; only real numbers are")
    try:
        array = np.asarray(raw, dtype=np.float64)
    except TypeError as err:  # e.g. a dict inside an object array
        raise TypeError(f"{name} must hold numbers, got dtype {raw.dtype}: {err}") from err
    except ValueError as err:  # e.g. a string that is not a number
        raise ValueError(f"{name} must hold numbers, got dtype {raw.dtype}: {err}") from err
    if array.ndim != 2:
        hint = (f"; Reshape your data with {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) "
                "for a single sample") if array.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got an array of shape {array.shape}{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 sample(s) (shape={array.shape}) while a minimum of 1 is required.")
    if array.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required.")
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(array[row, col]) else "infinity"
        raise ValueError(
            f"{name} contains NaN or infinity ({int(bad.sum())} values; the first, {what}, at row {row}, "
            f"column {col}): impute or drop them before fitting"
        )
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"{name} has {array.shape[1]} features, but {owner or 'the estimator'} is expecting "
                         f"{n_features} features as input (the number it was fitted with)")
    return array
    # END SOLUTION


def _check_target_shape(y: object, n_samples: int, name: str) -> NDArray[Any]:
    """``y`` as a 1-D array of length ``n_samples`` (a column vector is raveled), or a ValueError."""
    # BEGIN SOLUTION c03.1: not None; ravel a column vector with a warning; 1-D; the same length as X
    if y is None:
        raise ValueError(f"this estimator requires y to be passed, but the target {name} is None")
    target = np.asarray(y)
    if target.ndim == 2 and target.shape[1] == 1:
        warnings.warn(f"A column-vector {name} was passed when a 1d array was expected: raveling shape "
                      f"{target.shape} to ({target.shape[0]},)", DataConversionWarning, stacklevel=3)
        target = target.ravel()
    if target.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got an array of shape {target.shape}")
    if target.shape[0] != n_samples:
        raise ValueError(f"X and {name} have inconsistent lengths: X has {n_samples} samples, {name} has "
                         f"{target.shape[0]}")
    return target
    # END SOLUTION


def check_regression_data(x: object, y: object) -> tuple[FloatMatrix, FloatVector]:
    """``(X, y)`` for a regressor: X as in :func:`check_features`, y finite float64 of the same length."""
    # BEGIN SOLUTION c03.1: check X, then y's shape, numeric type and finiteness
    features = check_features(x)
    target = _check_target_shape(y, features.shape[0], "y")
    try:
        values = target.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"y must hold numbers for regression (Unknown label type: {target.dtype}): {err}") from err
    if not np.isfinite(values).all():
        raise ValueError(f"y contains NaN or infinity ({int((~np.isfinite(values)).sum())} values)")
    return features, values
    # END SOLUTION


def check_classification_data(x: object, y: object) -> tuple[FloatMatrix, NDArray[Any], IntVector]:
    """``(X, classes, y_encoded)`` for a classifier.

    ``classes`` holds the sorted distinct labels (ints, strings, integral floats)
    and ``y_encoded[i]`` is the index of ``y[i]`` in ``classes``, so that estimators
    work on 0..n_classes-1 and translate back with ``classes[index]``.
    """
    # BEGIN SOLUTION c03.1: check X and y, reject NaN/continuous labels, encode as indices
    features = check_features(x)
    target = _check_target_shape(y, features.shape[0], "y")
    if target.dtype.kind == "f" and not np.isfinite(target).all():
        raise ValueError("y contains NaN or infinity: every sample needs a class label")
    if target.dtype.kind == "f" and np.any(target != np.round(target)):
        raise ValueError("Unknown label type: continuous. y holds non-integer floats, which look like a regression "
                         "target; a classifier needs class labels (ints or strings)")
    classes, encoded = np.unique(target, return_inverse=True)
    return features, classes, encoded.astype(np.intp)
    # END SOLUTION


def check_fitted(estimator: object, *attributes: str) -> None:
    """Raise NotFittedError unless ``estimator`` has every one of ``attributes`` (set by fit)."""
    # BEGIN SOLUTION c03.1: NotFittedError naming the estimator and telling the caller to fit first
    if not all(hasattr(estimator, attribute) for attribute in attributes):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate "
            "arguments before using this estimator."
        )
    # END SOLUTION


def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """A string hyper-parameter that must be one of ``choices`` (``criterion``, ``solver``).

    Every hyper-parameter check of the course takes the parameter's name first and its value second,
    in the order of ``name=value`` in the estimator's signature.
    """
    # BEGIN SOLUTION c03.1: ValueError listing the allowed values
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={value!r} is not supported; choose one of {allowed}")
    # END SOLUTION


def check_number(
    name: str,
    value: object,
    *,
    low: float,
    high: float = np.inf,
    integer: bool = False,
    low_open: bool = False,
    allow_none: bool = False,
) -> None:
    """A numeric hyper-parameter in ``[low, high]`` (``(low, high]`` with ``low_open``).

    ``integer`` demands an int (numpy ints count; bools never do). ``allow_none``
    accepts ``None`` (``max_depth=None`` means unlimited).

    Raises:
        TypeError: the value is not a number (or not an int where one is needed).
        ValueError: the value is NaN or outside the interval.
    """
    # BEGIN SOLUTION c03.1: None when allowed, the type (bools are not numbers), then the interval
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = "an int" if integer else "a real number"
        raise TypeError(f"{name} must be {wanted}{' or None' if allow_none else ''}, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if np.isnan(number) or too_low or number > high:
        left = "(" if low_open else "["
        raise ValueError(f"{name}={value!r} is out of range: it must lie in {left}{low}, {high}]")
    # END SOLUTION
