"""c02.5 (hidden): incremental PCA with awkward batches."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import IncrementalPCA as SkIncrementalPCA
from sklearn.utils.estimator_checks import check_estimator

from c02_data import IncrementalPCA, component_errors, gapped

pytestmark = pytest.mark.task("c02.5")

TOL = 1e-10  # well-separated synthetic spectrum, same algorithm as the oracle


@pytest.mark.parametrize("batch_size", [3, 7, 64, 99])
def test_batches_of_any_size_match_sklearn(batch_size):
    data = gapped(100, 10, 3, seed=51).data
    ours = IncrementalPCA(3, batch_size=batch_size).fit(data)
    theirs = SkIncrementalPCA(3, batch_size=batch_size).fit(data)
    assert component_errors(ours.components_, theirs.components_).max() <= TOL
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=TOL)
    np.testing.assert_allclose(ours.singular_values_, theirs.singular_values_, rtol=TOL)


def test_float32_batches_whiten_and_transform_between_batches():
    data = gapped(90, 6, 2, seed=52).data
    estimator = IncrementalPCA(2, whiten=True)
    estimator.partial_fit(data[:30].astype(np.float32))
    first = estimator.transform(data[:5])
    estimator.partial_fit(data[30:].astype(np.float32))
    assert first.shape == (5, 2) and estimator.components_.dtype == np.float64
    scores = estimator.transform(data)
    np.testing.assert_allclose(scores.std(axis=0, ddof=1), 1.0, rtol=1e-3)  # approximately white


@pytest.mark.parametrize("estimator", [IncrementalPCA(), IncrementalPCA(n_components=1, whiten=True, batch_size=7)],
                         ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-api check: no array_api_strict
def test_sklearn_check_estimator(estimator):
    """scikit-learn's own estimator checks (input validation, partial_fit, clone, pickle, ...), all of them."""
    check_estimator(estimator)  # raises on the first failed check
