"""Input checks shared by every PCA estimator: data arrays (scikit-learn's rules) and hyper-parameters.

A linear-algebra routine given bad input rarely fails loudly: ``eigh`` of a
matrix with a NaN returns NaNs (or raises deep inside LAPACK), a 1-D array is
silently broadcast, an integer matrix is accumulated in integers, and one
sample gives a covariance divided by ``n - 1 = 0``. So each estimator checks
its input *once*, at the door.

Our estimators are scikit-learn estimators, so the door is scikit-learn's own:
:func:`sklearn.utils.validation.validate_data` in ``fit``, ``partial_fit`` and
``transform`` (it also records ``n_features_in_`` when fitting and compares with
it afterwards), and :func:`sklearn.utils.validation.check_array` (through
:func:`check_data`) for arrays that are not the estimator's ``X``, such as the
scores ``Z`` given to ``inverse_transform``. Every tool that works with
scikit-learn (pipelines, ``GridSearchCV``, ``check_estimator``) expects its
errors and messages:

* ``ValueError`` for data it cannot use: not 2-D ("Expected 2D array, got 1D
  array instead ... Reshape your data"), too few samples or no feature ("Found
  array with 0 sample(s) (shape=(0, 3)) while a minimum of 2 is required"),
  NaN or infinity ("Input X contains NaN"), complex numbers ("Complex data not
  supported"), text that is not a number, a feature count unlike the one seen
  in ``fit`` ("X has 7 features, but SVDPCA is expecting 8 features as input");
* ``TypeError`` for a sparse matrix ("Sparse data was passed for X, but dense
  data is required. Use '.toarray()' ..."): centring would make it dense anyway,
  so we refuse it rather than silently allocate ``n_samples * n_features`` floats;
  and for objects that are not numbers at all (a dict inside an object array);
* ``ValueError`` for a hyper-parameter outside its allowed values
  (:func:`check_n_components`, :func:`check_choice`, :func:`check_int`), checked
  in ``fit`` because ``set_params`` and ``clone`` bypass ``__init__``.

Every estimator computes in float64: integer, boolean, float32 and object arrays
holding numbers are converted once, here (``dtype=np.float64``). scikit-learn's
own PCA keeps float32; the accuracy targets of this module are float64 targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.validation import check_array

FloatArray = NDArray[np.float64]


def check_data(
    data: object,
    *,
    name: str = "X",
    min_samples: int = 1,
    n_features: int | None = None,
    expected: str = "",
) -> FloatArray:
    """Check a data matrix with scikit-learn's ``check_array``; return it as float64 (a copy only when converting).

    Args:
        data: a 2-D array-like of shape (n_samples, n_features): an ndarray,
            a memmap, nested sequences or an object array of real numbers.
        name: the argument's name, used in every message.
        min_samples: the fewest rows allowed (2 for fitting: the variance
            divides by ``n_samples - 1``).
        n_features: when given, the number of columns the data must have
            (the number of components, for ``inverse_transform``).
        expected: who expects that many, for the message, e.g.
            ``"SVDPCA is expecting 3 components as input"``.

    Returns:
        The data as a dense 2-D float64 ndarray with only finite values.

    Raises:
        TypeError: ``data`` is sparse, or holds objects that are not numbers.
        ValueError: it holds complex numbers or text, is not 2-D, has fewer than
            ``min_samples`` rows or no column, holds NaN or infinity, or has the
            wrong number of columns.
    """
    # BEGIN SOLUTION c02.2: check_array (dense, float64, finite, 2-D, enough rows), then the column count
    array = check_array(data, accept_sparse=False, dtype=np.float64, ensure_min_samples=min_samples, input_name=name)
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"{name} has {array.shape[1]} features, but {expected or f'{n_features} are expected'}"
        )
    return np.asarray(array, dtype=np.float64)
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


def check_choice(name: str, value: object, choices: tuple[Any, ...], *, owner: str = "PCA") -> None:
    """Raise a ValueError naming the allowed values unless ``value`` is one of ``choices``.

    Every hyper-parameter check of the course takes the parameter's name first and its value second,
    in the order of ``name=value`` in the estimator's signature.
    """
    # BEGIN SOLUTION c02.2: compare with == but refuse bools posing as 0/1 (and 0/1 posing as bools)
    is_bool = isinstance(value, bool | np.bool_)
    if is_bool != any(isinstance(c, bool) for c in choices) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {allowed}; got {value!r}")
    # END SOLUTION


def check_int(name: str, value: object, *, minimum: int, owner: str = "PCA") -> int:
    """Return ``value`` as an int when it is an integer (not a bool) of at least ``minimum``."""
    # BEGIN SOLUTION c02.2: an integer type, not a bool, at least minimum
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)
    # END SOLUTION
