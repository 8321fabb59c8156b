"""Shared fixtures of the c02 tests: the data sets every PCA is checked on, and their exact PCA.

The oracle is scikit-learn's ``PCA(svd_solver="full")`` (LAPACK ``gesdd`` on the centred data).
Which of its numbers are *defined* to a given tolerance is a property of the data, not of the
method: see ``c02_data.numerics`` and the scope constants below, used by every accuracy test.

BLAS runs on one thread in the tests. numpy and scipy each bundle an OpenBLAS with its own
thread pool, and their idle threads spin for a while after every call: alternating small
numpy and scipy calls on a busy 2-core machine made some tests 30 times slower (15 s instead
of 0.5 s). One thread is also faster for these small matrices, and bitwise reproducible.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy and scipy load their OpenBLAS

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loaded now, so that threadpool_limits sees its OpenBLAS)
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from c02_data import ill_conditioned, relative_eigengaps


@pytest.fixture(scope="session", autouse=True)
def single_threaded_blas() -> Iterator[None]:
    """One BLAS thread for every test, also in a numpy loaded before this file (see the docstring)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield

# Compare a component only where its relative eigengap min_j |l_i - l_j| / l_max is at least this:
# Davis-Kahan puts the error of any backward-stable method near eps / gap = 2.2e-11 there, 5x
# under the 1e-10 component tolerance (measured worst: 1.9e-12, the covariance route on digits).
COMPONENT_GAP_MIN = 1e-5
# Compare a variance relative to itself only where l_i / l_max is at least this: Weyl puts its
# relative error near eps * l_max / l_i = 2.2e-13, under the 1e-12 tolerance (measured: 5.7e-14).
VARIANCE_RATIO_MIN = 1e-3


@dataclass(frozen=True)
class Case:
    """A data set, its exact PCA by scikit-learn, and which of its numbers are well defined."""

    name: str
    data: np.ndarray  # (n_samples, n_features)
    reference: PCA  # fitted with svd_solver="full", every component
    separated: np.ndarray  # (n_components,) bool: relative eigengap >= COMPONENT_GAP_MIN
    resolved: np.ndarray  # (n_components,) bool: variance ratio >= VARIANCE_RATIO_MIN


def make_case(name: str, data: np.ndarray) -> Case:
    reference = PCA(svd_solver="full").fit(data)
    variances = reference.explained_variance_
    return Case(
        name=name,
        data=data,
        reference=reference,
        separated=relative_eigengaps(variances) >= COMPONENT_GAP_MIN,
        resolved=variances / variances[0] >= VARIANCE_RATIO_MIN,
    )


@pytest.fixture(scope="session")
def cases() -> dict[str, Case]:
    """digits (1797 x 64, three constant pixels), wine (178 x 13, scales 0.1 to 1000), and a
    400 x 20 matrix with condition number 1e8 and a mean offset (seeded)."""
    return {
        "digits": make_case("digits", load_digits().data.astype(np.float64)),
        "wine": make_case("wine", load_wine().data.astype(np.float64)),
        "ill_conditioned": make_case("ill_conditioned", ill_conditioned(seed=0).data),
    }

