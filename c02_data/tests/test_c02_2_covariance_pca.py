"""c02.2: PCA through the covariance matrix and eigh, and the estimator contract every PCA shares.

Oracle: ``sklearn.decomposition.PCA(svd_solver="full")`` on digits, wine and a random matrix
with condition number 1e8, compared where the numbers are defined (conftest.py): components
with a relative eigengap >= 1e-5 to 1e-10, variances >= 1e-3 of the largest to 1e-12 relative,
and every variance to 1e-12 of the largest. Against a matrix built with a known spectrum, the
covariance route's error on small variances grows like eps * (s_max / s_i)²: the squared
condition number, which the SVD route (c02.3) avoids.
"""

from __future__ import annotations

import numpy as np
import pytest
from c02_pca_contract import (
    CASES,
    COMPONENT_TOL,
    EPS,
    PCAContract,
    PCAValidationContract,
    assert_matches_reference,
    scoped_errors,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from c02_data import CovariancePCA, check_data, flip_signs, ill_conditioned, validation

pytestmark = pytest.mark.task("c02.2")

# Known spectrum (d features): |dl_i| / l_i <= SLACK * d * eps * (s_max / s_i)² for the covariance
# route, d * eps for the roundings of d-term sums (measured worst ratio: 0.19 over three seeds).
ROUNDING_SLACK = 4.0


class TestCovariancePCAContract(PCAContract, PCAValidationContract):
    make = staticmethod(CovariancePCA)


@pytest.mark.parametrize("name", CASES)
def test_matches_sklearn_where_defined(cases, name):
    case = cases[name]
    ours = CovariancePCA().fit(case.data)
    assert_matches_reference(ours, case, name)
    np.testing.assert_allclose(ours.mean_, case.reference.mean_, rtol=1e-14, atol=1e-14)


def test_accuracy_metrics(cases, metric):
    worst_component, worst_variance = 0.0, 0.0
    for name in CASES:
        component_error, variance_error, _ = scoped_errors(CovariancePCA().fit(cases[name].data), cases[name])
        worst_component, worst_variance = max(worst_component, component_error), max(worst_variance, variance_error)
    metric("eigh_component_max_error", worst_component)
    metric("eigh_explained_variance_max_rel_error", worst_variance)


def test_error_grows_with_the_squared_condition_number():
    known = ill_conditioned(seed=3, offset=0.0)  # singular values 1 .. 1e-8, no mean: the truth is exact
    ours = CovariancePCA().fit(known.data)
    singular = np.sqrt(known.variances / known.variances[0])  # s_i / s_max
    error = np.abs(ours.all_explained_variance_ - known.variances) / known.variances
    bound = ROUNDING_SLACK * known.data.shape[1] * EPS / singular**2
    assert np.all(error <= bound), f"worst error / bound: {np.max(error / bound):.2f}"
    assert np.all(ours.all_explained_variance_ >= 0)  # rounding negatives are clipped


def test_transform_and_all_variances():
    data = ill_conditioned(seed=0).data
    ours, reference = CovariancePCA(n_components=4).fit(data), PCA(4, svd_solver="full").fit(data)
    scale = np.abs(reference.transform(data)).max()
    np.testing.assert_allclose(ours.transform(data), reference.transform(data), atol=COMPONENT_TOL * scale)
    assert ours.all_explained_variance_.shape == (20,)
    np.testing.assert_array_equal(ours.all_explained_variance_[:4], ours.explained_variance_)


def test_wide_data_keeps_at_most_n_samples_components():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((5, 12))  # rank 4 after centring
    ours = CovariancePCA().fit(data)
    assert ours.n_components_ == 5
    np.testing.assert_allclose(ours.explained_variance_[4], 0.0, atol=1e-14)
    reference = PCA(svd_solver="full").fit(data)
    np.testing.assert_allclose(ours.explained_variance_[:4], reference.explained_variance_[:4], rtol=1e-12)


def test_flip_signs_and_check_data_directly():
    rows = np.array([[0.1, -0.9, 0.3], [0.5, 0.5, -0.2], [0.0, 0.0, 0.0]])
    flipped, signs = flip_signs(rows)
    np.testing.assert_array_equal(signs, [-1.0, 1.0, 1.0])  # a tie keeps the first maximum; zeros keep +1
    np.testing.assert_array_equal(flipped, rows * signs[:, None])
    checked = check_data([[1, 2], [3, 4]], min_samples=2)
    assert checked.dtype == np.float64 and checked.shape == (2, 2)
    with pytest.raises(ValueError, match=r"Z has 3 features, but 2 are expected"):
        check_data(np.ones((2, 3)), name="Z", n_features=2)



def test_hyper_parameter_checks_take_the_name_first():
    """check_choice and check_int take (name, value, ...), like c03's checks, and name both in the message."""
    validation.check_choice("whiten", True, (False, True))
    with pytest.raises(ValueError, match=r"^SVDPCA: whiten must be one of False, True; got 'yes'$"):
        validation.check_choice("whiten", "yes", (False, True), owner="SVDPCA")
    with pytest.raises(ValueError, match=r"whiten must be one of False, True; got 1"):
        validation.check_choice("whiten", 1, (False, True))  # an int posing as a bool
    assert validation.check_int("batch_size", np.int64(3), minimum=1) == 3
    with pytest.raises(ValueError, match=r"^PCA: batch_size must be an int >= 1, got 0$"):
        validation.check_int("batch_size", 0, minimum=1)

@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(
    n_samples=st.integers(2, 30),
    n_features=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_properties_on_random_data(n_samples, n_features, seed):
    data = np.random.default_rng(seed).standard_normal((n_samples, n_features)) * 10.0 + 3.0
    ours = CovariancePCA().fit(data)
    k = min(n_samples, n_features)
    assert ours.components_.shape == (k, n_features)
    np.testing.assert_allclose(ours.components_ @ ours.components_.T, np.eye(k), atol=1e-12)
    variances = ours.explained_variance_
    assert np.all(variances >= 0) and np.all(np.diff(variances) <= 1e-12 * variances[0])
    total = data.var(axis=0, ddof=1).sum()
    assert ours.explained_variance_ratio_.sum() <= 1 + 1e-12
    np.testing.assert_allclose(variances.sum(), total, rtol=1e-12, atol=1e-12 * total)
    if n_samples > n_features:  # full rank in general position: an exact round trip
        back = ours.inverse_transform(ours.transform(data))
        np.testing.assert_allclose(back, data, rtol=1e-10, atol=1e-10 * np.abs(data).max())
