"""c02.4 (hidden): randomized PCA at the edges of its parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import check_estimator

from c02_data import RandomizedPCA, component_errors, gapped

pytestmark = pytest.mark.task("c02.4")

TOP_K_TOL = 1e-6


def test_every_component_is_exact():
    data = gapped(80, 12, 4, seed=41).data
    ours, reference = RandomizedPCA(random_state=0).fit(data), PCA(svd_solver="full").fit(data)
    assert ours.n_components_ == 12
    np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_, rtol=1e-10)


def test_wide_data_and_capped_oversampling():
    data = gapped(200, 60, 3, seed=42).data[:40]  # (40, 60): wide
    reference = PCA(svd_solver="full").fit(data)
    ours = RandomizedPCA(3, n_oversamples=500, random_state=np.int64(5)).fit(data)
    assert ours.components_.shape == (3, 60)
    errors = component_errors(ours.components_, reference.components_[:3])
    np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_[:3], rtol=TOP_K_TOL)
    assert errors.max() <= TOP_K_TOL


def test_no_oversampling_no_iterations_still_returns_k_orthonormal_components():
    data = gapped(100, 20, 5, seed=43).data
    ours = RandomizedPCA(5, n_oversamples=0, n_power_iterations=0, power_iteration_normalizer="LU").fit(data)
    np.testing.assert_allclose(ours.components_ @ ours.components_.T, np.eye(5), atol=1e-12)
    assert np.all(np.diff(ours.explained_variance_) <= 0)


@pytest.mark.parametrize("estimator", [RandomizedPCA(random_state=0),
                                       RandomizedPCA(2, n_power_iterations=1, power_iteration_normalizer="LU",
                                                     random_state=3)], ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-api check: no array_api_strict
def test_sklearn_check_estimator(estimator):
    """scikit-learn's own estimator checks (input validation, clone, pickle, set_output, ...), all of them."""
    check_estimator(estimator)  # raises on the first failed check
