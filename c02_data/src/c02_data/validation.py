"""Input checks shared by every PCA estimator: data arrays and hyper-parameters.

A linear-algebra routine given bad input rarely fails loudly: ``eigh`` of a
matrix with a NaN returns NaNs (or raises deep inside LAPACK), a 1-D array is
silently broadcast, an integer matrix is accumulated in integers, and one
sample gives a covariance divided by ``n - 1 = 0``. So each estimator checks
its input *once*, at the door, and raises an error that names the argument
and says what is wrong:

* ``TypeError`` for the wrong kind of thing (not array-like, a non-numeric or
  complex dtype): the caller must convert;
* ``ValueError`` for the right kind of thing with a wrong value (ndim, too
  few samples or features, NaN/inf, a feature count that differs from fit,
  an out-of-range hyper-parameter).

Every estimator computes in float64: integer, boolean and float32 input is
converted once, here. (scikit-learn keeps float32; the accuracy targets of
this module are float64 targets.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def check_data(
    data: object,
    *,
    name: str = "X",
    min_samples: int = 1,
    n_features: int | None = None,
    expected: str = "",
) -> FloatArray:
    """Check a data matrix and return it as a float64 ndarray (a copy only when converting).

    Args:
        data: a 2-D array-like of shape (n_samples, n_features): an ndarray,
            a memmap or nested sequences of real numbers.
        name: the argument's name, used in every message.
        min_samples: the fewest rows allowed (2 for fitting: the variance
            divides by ``n_samples - 1``).
        n_features: when given, the number of columns the data must have
            (the number of features seen in ``fit``, or of components).
        expected: why that many, for the message, e.g. ``"PCA was fitted on 4 features"``.

    Returns:
        The data as a 2-D float64 ndarray with only finite values.

    Raises:
        TypeError: ``data`` is not array-like, or its dtype is not real numeric
            (strings, objects, complex numbers).
        ValueError: it is not 2-D, has fewer than ``min_samples`` rows or no
            column, holds NaN or infinity, or has the wrong number of columns.
    """
    # BEGIN SOLUTION c02.2: convert to an ndarray, check dtype, ndim, sizes, feature count and finiteness
    if isinstance(data, str | bytes | dict) or data is None:
        raise TypeError(f"{name} must be a 2-D array-like of numbers, got {type(data).__name__}")
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise TypeError(f"{name} must be a 2-D array-like of numbers: {err}") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise TypeError(f"{name} has dtype {array.dtype}; only real numbers (int, float, bool) are supported")
    if array.ndim != 2:
        hint = ": use X.reshape(-1, 1) for a single feature" if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a {array.ndim}-D array of shape {array.shape}{hint}"
        )
    n_rows, n_columns = array.shape
    if n_rows < min_samples:
        raise ValueError(f"{name} has {n_rows} sample(s) but at least {min_samples} are needed")
    if n_columns == 0:
        raise ValueError(f"{name} has 0 features: at least one column is needed")
    if n_features is not None and n_columns != n_features:
        raise ValueError(f"{name} has {n_columns} columns but {expected or f'{n_features} are expected'}")
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {row}, column {column}): "
            "impute or drop missing values first"
        )
    return array
    # END SOLUTION


def check_n_components(n_components: object, n_samples: int, n_features: int, *, owner: str = "PCA") -> int:
    """Resolve the ``n_components`` hyper-parameter against the data's shape.

    Args:
        n_components: ``None`` (keep ``min(n_samples, n_features)`` components)
            or an int from 1 to ``min(n_samples, n_features)``.
        n_samples, n_features: the shape of the training data.
        owner: the estimator's name, for the message.

    Returns:
        The number of components to keep.

    Raises:
        ValueError: anything else: a bool, a float, a string such as ``"mle"``,
            zero, a negative number, or more components than the data has.
    """
    # BEGIN SOLUTION c02.2: None means min(n_samples, n_features); otherwise an int in range, never a bool
    limit = min(n_samples, n_features)
    if n_components is None:
        return limit
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise ValueError(f"{owner}: n_components must be None or an int, got {n_components!r}")
    if not 1 <= n_components <= limit:
        raise ValueError(
            f"{owner}: n_components={n_components} must be between 1 and "
            f"min(n_samples, n_features)={limit}"
        )
    return int(n_components)
    # END SOLUTION


def check_choice(value: object, name: str, choices: tuple[Any, ...], *, owner: str = "PCA") -> None:
    """Raise a ValueError naming the allowed values unless ``value`` is one of ``choices``."""
    # BEGIN SOLUTION c02.2: compare with == but refuse bools posing as 0/1 (and 0/1 posing as bools)
    is_bool = isinstance(value, bool | np.bool_)
    if is_bool != any(isinstance(c, bool) for c in choices) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {allowed}; got {value!r}")
    # END SOLUTION


def check_int(value: object, name: str, *, minimum: int, owner: str = "PCA") -> int:
    """Return ``value`` as an int when it is an integer (not a bool) of at least ``minimum``."""
    # BEGIN SOLUTION c02.2: an integer type, not a bool, at least minimum
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)
    # END SOLUTION
