"""c02.5: incremental PCA over mini-batches (Ross et al. 2008, scikit-learn's IncrementalPCA).

Oracle: ``sklearn.decomposition.IncrementalPCA`` with the same ``n_components`` and batches
(the same algorithm, so the same truncation error), compared in the scope of conftest.py:
digits (k = 20, batches of 200), wine (k = 5, batches of 40) and the condition-number-1e8 matrix
(k = 8, batches of 60). Keeping every component (k = d) the result is the exact PCA, so it is
also compared with ``PCA(svd_solver="full")``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from c02_pca_contract import COMPONENT_TOL, NORMWISE_TOL, VARIANCE_RTOL, PCAContract, scoped_errors
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import IncrementalPCA as SkIncrementalPCA
from sklearn.utils import gen_batches

from c02_data import IncrementalPCA, NotFittedError, batch_slices, component_errors, gapped, relative_errors

pytestmark = pytest.mark.task("c02.5")

# Running mean and variance: sums over <= 1797 rows of values <= 1e3 in float64.
MOMENT_RTOL = 1e-12
SETTINGS = {"digits": (20, 200), "wine": (5, 40), "ill_conditioned": (8, 60)}  # (k, batch size)


class TestIncrementalPCAContract(PCAContract):
    # One batch: the contract is about the estimator; several batches with truncation are tested below.
    make = staticmethod(functools.partial(IncrementalPCA, batch_size=60))


def errors_against_sklearn(case, k, batch_size):
    ours = IncrementalPCA(k, batch_size=batch_size).fit(case.data)
    theirs = SkIncrementalPCA(k, batch_size=batch_size).fit(case.data)
    separated, resolved = case.separated[:k], case.resolved[:k]
    components = component_errors(ours.components_, theirs.components_)
    variances = relative_errors(ours.explained_variance_, theirs.explained_variance_)
    ratio = np.abs(ours.explained_variance_ratio_ - theirs.explained_variance_ratio_).max()
    return float(components[separated].max()), float(variances[resolved].max()), float(ratio), ours, theirs


@pytest.mark.parametrize("name", list(SETTINGS))
def test_matches_sklearn_incremental_pca(cases, name):
    case = cases[name]
    component_error, variance_error, ratio_error, ours, theirs = errors_against_sklearn(case, *SETTINGS[name])
    assert component_error <= COMPONENT_TOL and variance_error <= VARIANCE_RTOL and ratio_error <= NORMWISE_TOL
    assert ours.n_samples_seen_ == theirs.n_samples_seen_ == case.data.shape[0]
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=MOMENT_RTOL)
    np.testing.assert_allclose(ours.var_, theirs.var_, rtol=MOMENT_RTOL, atol=MOMENT_RTOL * theirs.var_.max())
    np.testing.assert_allclose(ours.var_, case.data.var(axis=0), rtol=1e-10, atol=1e-12 * theirs.var_.max())


def test_accuracy_metrics(cases, metric):
    worst_component, worst_variance = 0.0, 0.0
    for name, (k, batch_size) in SETTINGS.items():
        component_error, variance_error, *_ = errors_against_sklearn(cases[name], k, batch_size)
        worst_component, worst_variance = max(worst_component, component_error), max(worst_variance, variance_error)
    metric("incremental_component_max_error", worst_component)
    metric("incremental_explained_variance_max_rel_error", worst_variance)


@pytest.mark.parametrize("name", ["digits", "wine", "ill_conditioned"])
def test_keeping_every_component_is_the_exact_pca(cases, name):
    case = cases[name]
    ours = IncrementalPCA(batch_size=max(case.data.shape[1], 50)).fit(case.data)
    assert ours.n_components_ == case.data.shape[1]
    component_error, variance_error, normwise = scoped_errors(ours, case)
    assert component_error <= COMPONENT_TOL and variance_error <= VARIANCE_RTOL and normwise <= NORMWISE_TOL


def test_partial_fit_equals_fit_and_batches_from_a_memmap(tmp_path):
    data = gapped(500, 30, 5, seed=6).data
    fitted = IncrementalPCA(5, batch_size=64).fit(data)
    stepwise = IncrementalPCA(5)
    for rows in batch_slices(500, 64, min_batch_size=5):
        assert stepwise.partial_fit(data[rows]) is stepwise
    np.testing.assert_array_equal(stepwise.components_, fitted.components_)
    np.save(tmp_path / "data.npy", data)
    on_disk = np.load(tmp_path / "data.npy", mmap_mode="r")  # never read at once
    blocks = (on_disk[rows] for rows in batch_slices(500, 64, min_batch_size=5))
    from_disk = IncrementalPCA(5).fit_batches(blocks)
    np.testing.assert_array_equal(from_disk.components_, fitted.components_)
    refit = from_disk.fit(data[:100])  # fit forgets what was seen before
    assert refit.n_samples_seen_ == 100


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(n_samples=st.integers(1, 60), batch_size=st.integers(1, 20), min_batch_size=st.integers(0, 10))
def test_batch_slices_follow_sklearn_gen_batches(n_samples, batch_size, min_batch_size):
    ours = list(batch_slices(n_samples, batch_size, min_batch_size))
    assert ours == list(gen_batches(n_samples, batch_size, min_batch_size=min_batch_size))
    covered = [i for s in ours for i in range(s.start, s.stop)]
    assert covered == list(range(n_samples))


def test_bad_batches_and_hyper_parameters():
    data = gapped(60, 8, 3, seed=7).data
    estimator = IncrementalPCA(3).partial_fit(data[:10])
    with pytest.raises(ValueError, match=r"X has 7 features, but IncrementalPCA is expecting 8 features as input"):
        estimator.partial_fit(data[:10, :7])
    with pytest.raises(ValueError, match=r"Input X contains NaN"):
        estimator.partial_fit(np.full((4, 8), np.nan))
    with pytest.raises(ValueError, match=r"n_components=5 needs a first batch of at least 5 rows"):
        IncrementalPCA(5).partial_fit(data[:3])
    with pytest.raises(ValueError, match=r"n_components=5 needs a first batch"):
        IncrementalPCA(5, batch_size=4).fit(data)
    with pytest.raises(NotFittedError, match=r"fit_batches got no batch \(an empty iterable\): not fitted yet"):
        IncrementalPCA(3).fit_batches(iter([]))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=r"batch_size \(or None\) must be an int >= 1"):
            IncrementalPCA(3, batch_size=bad).fit(data)
    with pytest.raises(ValueError, match=r"n_components=0 must be between 1 and min\(n_samples, n_features\)=8"):
        IncrementalPCA(0).partial_fit(data)
    with pytest.raises(ValueError, match=r"n_components must be None or an int, got 'all'"):
        IncrementalPCA("all").fit_batches([data])
    with pytest.raises(ValueError, match=r"n_components=9 needs a first batch of at least 9 rows and 9 features"):
        IncrementalPCA(9).partial_fit(data)
    with pytest.raises(ValueError, match=r"whiten must be one of"):
        IncrementalPCA(3, whiten="no").fit_batches([data])


def test_small_first_batch_fixes_n_components_when_none():
    data = gapped(40, 6, 2, seed=8).data
    estimator = IncrementalPCA().partial_fit(data[:4])  # k = min(4, 6) = 4, kept afterwards
    estimator.partial_fit(data[4:])
    assert estimator.n_components_ == 4 and estimator.components_.shape == (4, 6)
    reference = SkIncrementalPCA().partial_fit(data[:4]).partial_fit(data[4:])
    np.testing.assert_allclose(estimator.explained_variance_, reference.explained_variance_, rtol=1e-10)
