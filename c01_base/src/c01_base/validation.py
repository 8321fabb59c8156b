"""Input validation for every matmul variant in this module.

A compiled kernel trusts its inputs: a numba loop over a (3, 4) and a (5, 2)
matrix reads past the end of ``b`` or silently computes garbage, and an
integer matrix would be accumulated with integer overflow. So every public
function checks its operands *once*, in Python, before any kernel runs, and
raises an error whose message names the argument and what is wrong with it:

* ``TypeError`` for the wrong kind of thing (not an ndarray, an unsupported or
  mixed dtype), because the caller must convert;
* ``ValueError`` for the right kind of thing with the wrong value (ndim,
  shapes, NaN/inf when ``check_finite=True``, an output that overlaps an input).

Only float32 and float64 are supported, and both operands must share the dtype:
silently promoting float32 @ float64 would hide a doubled memory footprint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

# The dtypes the kernels are compiled for; everything else is a TypeError.
SUPPORTED_DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))


def check_matmul_operands(
    a: object, b: object, *, check_finite: bool = False
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    """Check that ``a @ b`` is a valid float matmul and return both operands typed.

    Args:
        a: the left operand, expected a 2-D float32/float64 ndarray of shape (M, K).
        b: the right operand, expected a 2-D ndarray of shape (K, N), same dtype as ``a``.
        check_finite: also reject NaN and infinity (one O(MK + KN) pass, like scipy's
            ``check_finite``); off by default because NaN propagation is well defined.

    Returns:
        ``(a, b)`` unchanged (no copy), now known to be valid.

    Raises:
        TypeError: an operand is not an ndarray, has an unsupported dtype, or the
            dtypes differ. The message names the operand and its dtype.
        ValueError: an operand is not 2-D, the inner dimensions differ, or
            ``check_finite`` is set and an operand holds NaN or infinity.
    """
    # BEGIN SOLUTION c01.1: check type, ndim and dtype of each operand, then shapes, then finiteness
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D (a matrix), got a {x.ndim}-D array of shape {x.shape}")
        if x.dtype not in SUPPORTED_DTYPES:
            raise TypeError(f"{name} has dtype {x.dtype}; only float32 and float64 are supported")
    assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)  # narrowed by the loop
    if a.dtype != b.dtype:
        raise TypeError(f"a has dtype {a.dtype} but b has dtype {b.dtype}: cast one so both dtypes match")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"a has shape {a.shape} but b has shape {b.shape}: inner dimensions {a.shape[1]} and {b.shape[0]} differ"
        )
    if check_finite:
        for name, x in (("a", a), ("b", b)):
            if not np.isfinite(x).all():
                raise ValueError(f"{name} contains NaN or infinity (check_finite=True)")
    return a, b
    # END SOLUTION


def check_output(
    out: object, shape: tuple[int, int], dtype: DTypeLike, *inputs: NDArray[Any]
) -> NDArray[np.floating[Any]]:
    """Check a caller-supplied output array before parallel workers write into it.

    Args:
        out: the candidate output, expected a writeable ndarray.
        shape: the shape the result needs, ``(M, N)``.
        dtype: the dtype the result needs (the operands' dtype).
        *inputs: the operands; ``out`` must not share memory with any of them,
            or one worker would overwrite rows another worker is still reading.

    Returns:
        ``out`` unchanged, now known to be valid.

    Raises:
        TypeError: ``out`` is not an ndarray or has the wrong dtype.
        ValueError: wrong shape, read-only, or overlapping an input.
    """
    # BEGIN SOLUTION c01.2: check type, shape, dtype, writeability and overlap with the inputs
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape} but the result has shape {shape}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"out has dtype {out.dtype} but the result has dtype {np.dtype(dtype)}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    for x in inputs:
        if np.shares_memory(out, x):
            raise ValueError("out shares memory with an input: workers would overwrite the input")
    return out
    # END SOLUTION
