"""c02.3: PCA through the SVD of the centred data.

Oracle: ``sklearn.decomposition.PCA(svd_solver="full")`` on digits, wine and a random matrix
with condition number 1e8, in the same scope as c02.2 (conftest.py). Against a matrix built
with a known spectrum, the SVD route's relative error on a variance grows only like
eps * s_max / s_i, not like its square: it resolves the small components of the
ill-conditioned matrix that the covariance route (c02.2) loses.
"""

from __future__ import annotations

import numpy as np
import pytest
from c02_pca_contract import (
    CASES,
    COMPONENT_TOL,
    EPS,
    NORMWISE_TOL,
    PCAContract,
    assert_matches_reference,
    scoped_errors,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from c02_data import SVDPCA, CovariancePCA, component_errors, ill_conditioned, relative_eigengaps

pytestmark = pytest.mark.task("c02.3")

# Known spectrum (d features): |dl_i| / l_i <= SLACK * d * eps * s_max / s_i for the SVD route, and
# |dv_i| <= SLACK * d * eps * s_max / gap_i for its components (Wedin), d * eps for the roundings
# of d-term sums (measured worst ratio to d * eps * ...: 0.56 over three seeds).
ROUNDING_SLACK = 4.0


class TestSVDPCAContract(PCAContract):
    make = staticmethod(SVDPCA)


@pytest.mark.parametrize("name", CASES)
def test_matches_sklearn_where_defined(cases, name):
    case = cases[name]
    ours = SVDPCA().fit(case.data)
    assert_matches_reference(ours, case, name)
    np.testing.assert_allclose(ours.singular_values_, case.reference.singular_values_, rtol=1e-12, atol=1e-12)


def test_accuracy_metrics(cases, metric):
    worst_component, worst_variance = 0.0, 0.0
    for name in CASES:
        component_error, variance_error, _ = scoped_errors(SVDPCA().fit(cases[name].data), cases[name])
        worst_component, worst_variance = max(worst_component, component_error), max(worst_variance, variance_error)
    metric("svd_component_max_error", worst_component)
    metric("svd_explained_variance_max_rel_error", worst_variance)


def test_error_grows_only_with_the_condition_number():
    known = ill_conditioned(seed=3, offset=0.0)  # singular values 1 .. 1e-8, no mean: the truth is exact
    ours = SVDPCA().fit(known.data)
    singular = np.sqrt(known.variances / known.variances[0])  # s_i / s_max
    rounding = ROUNDING_SLACK * known.data.shape[1] * EPS
    variance_error = np.abs(ours.explained_variance_ - known.variances) / known.variances
    assert np.all(variance_error <= rounding / singular), "variances: worse than d * eps * s_max / s_i"
    # Components, against the construction: Wedin's bound with the gap between singular values.
    gaps = relative_eigengaps(singular)  # min_j |s_i - s_j| / s_max
    component_error = component_errors(ours.components_, known.components)
    assert np.all(component_error <= rounding / gaps)
    assert component_error[10] < 1e-9  # s = 6e-5 * s_max: resolved to 1e-9 ...
    covariance_error = component_errors(CovariancePCA().fit(known.data).components_, known.components)
    assert covariance_error[10] > 1e3 * component_error[10]  # ... where the covariance route cannot be


def test_wide_data():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((6, 15))
    ours, reference = SVDPCA().fit(data), PCA(svd_solver="full").fit(data)
    assert ours.n_components_ == 6
    np.testing.assert_allclose(ours.explained_variance_[:5], reference.explained_variance_[:5], rtol=1e-12)
    np.testing.assert_allclose(ours.components_[:5], reference.components_[:5], atol=1e-12)


@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(
    n_samples=st.integers(3, 30),
    n_features=st.integers(2, 10),
    decay=st.floats(0.0, 6.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_agrees_with_sklearn_on_random_spectra(n_samples, n_features, decay, seed):
    rng = np.random.default_rng(seed)
    scales = np.logspace(0.0, -decay, n_features)  # condition numbers up to 1e6
    data = rng.standard_normal((n_samples, n_features)) * scales + rng.standard_normal(n_features)
    ours, reference = SVDPCA().fit(data), PCA(svd_solver="full").fit(data)
    variances = reference.explained_variance_
    assert np.abs(ours.explained_variance_ - variances).max() <= NORMWISE_TOL * variances[0]
    if len(variances) > 1 and variances[0] > 0:
        separated = relative_eigengaps(variances) >= 1e-5
        errors = component_errors(ours.components_, reference.components_)
        assert np.all(errors[separated] <= COMPONENT_TOL)
