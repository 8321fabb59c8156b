"""c02.2 (hidden): edge cases of the covariance route and the shared estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import check_estimator

from c02_data import CovariancePCA, NotFittedError

pytestmark = pytest.mark.task("c02.2")

ATOL = 1e-12


def test_single_feature_and_two_samples():
    one_feature = CovariancePCA().fit(np.array([[1.0], [3.0], [8.0]]))
    np.testing.assert_allclose(one_feature.components_, [[1.0]])
    np.testing.assert_allclose(one_feature.explained_variance_, [np.var([1.0, 3.0, 8.0], ddof=1)], rtol=1e-14)
    two = CovariancePCA(n_components=1).fit(np.array([[0.0, 0.0], [3.0, -4.0]]))
    np.testing.assert_allclose(two.components_, [[-0.6, 0.8]], atol=ATOL)  # largest |entry| positive
    np.testing.assert_allclose(two.explained_variance_ratio_, [1.0], rtol=1e-14)


def test_constant_and_duplicated_columns_whiten_to_finite_values():
    rng = np.random.default_rng(31)
    base = rng.standard_normal((50, 3))
    data = np.column_stack([base, base[:, 0], np.full(50, 7.0)])  # rank 3 of 5
    ours = CovariancePCA(whiten=True).fit(data)
    np.testing.assert_allclose(ours.explained_variance_[3:], 0.0, atol=1e-14)
    scores = ours.transform(data)
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(np.cov(scores[:, :3], rowvar=False), np.eye(3), atol=1e-10)
    np.testing.assert_allclose(ours.inverse_transform(scores), data, atol=1e-10)


def test_a_large_mean_is_centred_away():
    rng = np.random.default_rng(32)
    data = rng.standard_normal((200, 4)) * [3.0, 2.0, 1.0, 0.5] + 1e6  # mean 1e6, spread O(1)
    ours, reference = CovariancePCA().fit(data), PCA(svd_solver="full").fit(data)
    np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.components_, reference.components_, atol=1e-8)


def test_memmap_read_only_and_refit(tmp_path):
    data = np.random.default_rng(33).standard_normal((30, 5))
    np.save(tmp_path / "x.npy", data)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    estimator = CovariancePCA(3).fit(mapped)
    np.testing.assert_allclose(estimator.components_, CovariancePCA(3).fit(data).components_, atol=ATOL)
    estimator.fit(data[:, :4])  # a refit forgets the old shape
    assert estimator.n_features_in_ == 4 and estimator.transform(data[:, :4]).shape == (30, 3)
    with pytest.raises(ValueError, match="X has 5 features, but CovariancePCA is expecting 4 features as input"):
        estimator.transform(data)


def test_numpy_bools_are_bools():
    data = np.random.default_rng(34).standard_normal((20, 3))
    assert CovariancePCA(whiten=np.bool_(True)).fit(data).transform(data).std(axis=0, ddof=1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="whiten must be one of"):
        CovariancePCA(whiten=np.int64(1)).fit(data)


def test_not_fitted_error_is_also_an_attribute_error():
    with pytest.raises(AttributeError):
        CovariancePCA().transform(np.ones((2, 2)))
    assert not hasattr(CovariancePCA(), "components_")
    with pytest.raises(NotFittedError):
        CovariancePCA().inverse_transform([[1.0]])


@pytest.mark.parametrize("estimator", [CovariancePCA(), CovariancePCA(n_components=1, whiten=True)], ids=repr)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-api check: no array_api_strict
def test_sklearn_check_estimator(estimator):
    """scikit-learn's own estimator checks (input validation, clone, pickle, set_output, ...), all of them."""
    check_estimator(estimator)  # raises on the first failed check
