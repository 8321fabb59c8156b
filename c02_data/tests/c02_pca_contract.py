"""The behaviour every PCA estimator of c02 shares, as a test class each task's file subclasses.

``class TestSVDPCAContract(PCAContract): make = staticmethod(SVDPCA)`` runs every test below
on ``SVDPCA``, tagged with that file's task. The contract is scikit-learn's: ``fit`` returns
``self``; fitted attributes end in ``_``; ``transform``, ``inverse_transform`` and ``whiten``
behave like ``sklearn.decomposition.PCA``; the sign convention makes the output deterministic;
bad data, bad hyper-parameters and an unfitted estimator raise clear errors.

Also here: :func:`scoped_errors`, the one comparison with the oracle that every accuracy test
uses, its tolerances, and :func:`assert_matches_reference`, the check c02.2 and c02.3 share (what
is compared where is explained in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from c02_data import BasePCA, NotFittedError, component_errors, gapped, normwise_relative_error, relative_errors

# Round-trip and orthonormality tolerances: O(d) roundings of O(1) numbers in float64.
ROUND_TRIP_RTOL = 1e-12
ORTHONORMAL_ATOL = 1e-12
# Whitened outputs: sample covariance equal to the identity up to rounding in n-term sums.
WHITEN_ATOL = 1e-10
# Against sklearn on the contract data (well separated, condition number 20): same numbers.
CONTRACT_ATOL = 1e-10
# Against sklearn on the PCA cases (conftest.py), where the numbers are defined.
COMPONENT_TOL = 1e-10  # on separated components (see conftest.py for the scope and why)
VARIANCE_RTOL = 1e-12  # relative, on resolved variances
NORMWISE_TOL = 1e-12  # max |dl| / l_max over every variance (Weyl)
CASES = ["digits", "wine", "ill_conditioned"]
EPS = np.finfo(np.float64).eps


def scoped_errors(estimator: Any, case: Any, k: int | None = None) -> tuple[float, float, float]:
    """(component error on separated components, relative variance error on resolved ones,
    normwise variance error on all), for the first ``k`` components (default: all fitted)."""
    k = estimator.n_components_ if k is None else k
    reference = case.reference
    components = component_errors(estimator.components_[:k], reference.components_[:k])
    variances = relative_errors(estimator.explained_variance_[:k], reference.explained_variance_[:k])
    separated, resolved = case.separated[:k], case.resolved[:k]
    component_error = float(components[separated].max()) if separated.any() else 0.0
    variance_error = float(variances[resolved].max()) if resolved.any() else 0.0
    normwise = normwise_relative_error(estimator.explained_variance_[:k], reference.explained_variance_[:k])
    return component_error, variance_error, normwise


def assert_matches_reference(estimator: Any, case: Any, name: str) -> None:
    """Components, variances and variance ratios of a fitted full PCA against sklearn's, within the scope."""
    component_error, variance_error, normwise = scoped_errors(estimator, case)
    assert component_error <= COMPONENT_TOL, f"{name}: component error {component_error:.2e}"
    assert variance_error <= VARIANCE_RTOL, f"{name}: variance error {variance_error:.2e}"
    assert normwise <= NORMWISE_TOL, f"{name}: normwise variance error {normwise:.2e}"
    np.testing.assert_allclose(
        estimator.explained_variance_ratio_, case.reference.explained_variance_ratio_, atol=NORMWISE_TOL
    )
    assert case.separated.sum() >= 4 and case.resolved.sum() >= 2  # the scope is not empty


def contract_data() -> np.ndarray:
    """(60, 8): singular values 200 to 100 then 1 to 0.1, a mean offset; seeded."""
    return gapped(60, 8, 3, seed=11).data


# scikit-learn's validation (validate_data / check_array): its error types and messages.
BAD_DATA = [
    ("a string", ValueError, r"could not convert string to float: 'a string'"),
    (None, ValueError, r"Expected 2D array, got scalar array instead"),
    ([[1.0, 2.0], [3.0]], ValueError, r"inhomogeneous shape"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, r"could not convert string to float"),
    (np.array([[{}, 1.0], [2.0, 3.0]], dtype=object), TypeError, r"float\(\) argument must be .* not 'dict'"),
    (np.ones((4, 3), dtype=complex), ValueError, r"Complex data not supported"),
    (scipy.sparse.csr_array(np.eye(4)), TypeError, r"Sparse data was passed for X, but dense data is required"),
    (np.ones(5), ValueError, r"(?s)Expected 2D array, got 1D array instead.*Reshape your data"),
    (np.ones((2, 3, 4)), ValueError, r"Found array with dim 3, while dim <= 2 is required"),
    (np.ones((0, 3)), ValueError, r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 2"),
    (np.ones((1, 3)), ValueError, r"Found array with 1 sample\(s\) \(shape=\(1, 3\)\) while a minimum of 2"),
    (np.ones((4, 0)), ValueError, r"Found array with 0 feature\(s\) \(shape=\(4, 0\)\) while a minimum of 1"),
    (np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0]]), ValueError, r"Input X contains NaN"),
    (np.array([[1.0, 2.0], [2.0, np.inf]]), ValueError, r"Input X contains infinity"),
    (np.array([[1.0, -np.inf], [2.0, 1.0]]), ValueError, r"Input X contains infinity"),
]
BAD_DATA_IDS = [
    "string", "none", "ragged", "text", "object-dict", "complex", "sparse", "1d", "3d",
    "no-samples", "one-sample", "no-features", "nan", "inf", "minus-inf",
]
BAD_N_COMPONENTS = [
    (0, r"n_components=0 must be between 1 and min\(n_samples, n_features\)=8"),
    (-1, r"n_components=-1 must be between 1"),
    (9, r"n_components=9 must be between 1 and min\(n_samples, n_features\)=8"),
    (2.5, r"n_components must be None or an int, got 2.5"),
    ("mle", r"n_components must be None or an int, got 'mle'"),
    (True, r"n_components must be None or an int, got True"),
]


class PCAContract:
    """Subclass with ``make = staticmethod(SomePCA)`` (or a functools.partial fixing extra arguments)."""

    make: ClassVar[Callable[..., BasePCA]]

    def test_fit_returns_self_and_sets_every_attribute(self):
        data = contract_data()
        estimator = self.make(n_components=3)
        assert estimator.fit(data) is estimator
        assert estimator.components_.shape == (3, 8) and estimator.mean_.shape == (8,)
        for name in ("explained_variance_", "explained_variance_ratio_", "singular_values_"):
            assert getattr(estimator, name).shape == (3,)
        assert (estimator.n_components_, estimator.n_features_in_, estimator.n_samples_) == (3, 8, 60)
        assert np.all(np.diff(estimator.explained_variance_) <= 0), "variances must decrease"
        np.testing.assert_allclose(estimator.mean_, data.mean(axis=0), rtol=ROUND_TRIP_RTOL)
        gram = estimator.components_ @ estimator.components_.T
        np.testing.assert_allclose(gram, np.eye(3), atol=ORTHONORMAL_ATOL)
        np.testing.assert_allclose(
            estimator.singular_values_**2 / (60 - 1), estimator.explained_variance_, rtol=ROUND_TRIP_RTOL
        )
        assert type(estimator).__name__ in repr(estimator) and "n_components=3" in repr(estimator)

    def test_agrees_with_sklearn_on_well_separated_data(self):
        data = contract_data()
        ours, theirs = self.make(n_components=3).fit(data), PCA(3, svd_solver="full").fit(data)
        np.testing.assert_allclose(ours.components_, theirs.components_, atol=CONTRACT_ATOL)  # same signs too
        np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=CONTRACT_ATOL)
        np.testing.assert_allclose(
            ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=CONTRACT_ATOL
        )
        scale = np.abs(theirs.transform(data)).max()
        np.testing.assert_allclose(ours.transform(data), theirs.transform(data), atol=CONTRACT_ATOL * scale)
        np.testing.assert_allclose(ours.fit_transform(data), theirs.transform(data), atol=CONTRACT_ATOL * scale)

    def test_sign_convention_is_deterministic(self):
        data = contract_data()
        first, second = self.make().fit(data), self.make().fit(data.copy())
        np.testing.assert_array_equal(first.components_, second.components_)
        rows = np.arange(first.n_components_)
        largest = first.components_[rows, np.argmax(np.abs(first.components_), axis=1)]
        assert np.all(largest > 0), "the largest |entry| of each component must be positive"
        mirrored = self.make().fit(-data)  # negating X flips every eigenvector; the convention flips it back
        np.testing.assert_allclose(mirrored.components_, first.components_, atol=CONTRACT_ATOL)

    def test_full_rank_round_trip_is_exact(self):
        data = contract_data()
        estimator = self.make().fit(data)
        assert estimator.n_components_ == 8
        back = estimator.inverse_transform(estimator.transform(data))
        np.testing.assert_allclose(back, data, rtol=ROUND_TRIP_RTOL, atol=ROUND_TRIP_RTOL * np.abs(data).max())
        np.testing.assert_allclose(estimator.explained_variance_ratio_.sum(), 1.0, rtol=ROUND_TRIP_RTOL)

    def test_reconstruction_error_is_the_discarded_variance(self):
        data = contract_data()
        full, top = self.make().fit(data), self.make(n_components=3).fit(data)
        residual = data - top.inverse_transform(top.transform(data))
        error = (residual**2).sum() / (data.shape[0] - 1)  # squared Frobenius error per degree of freedom
        np.testing.assert_allclose(error, full.explained_variance_[3:].sum(), rtol=1e-9)

    @pytest.mark.parametrize("n_components", [None, 3])
    def test_whiten_gives_uncorrelated_unit_variance_scores(self, n_components):
        data = contract_data()
        estimator = self.make(n_components=n_components, whiten=True).fit(data)
        scores = estimator.transform(data)
        np.testing.assert_allclose(np.cov(scores, rowvar=False), np.eye(estimator.n_components_), atol=WHITEN_ATOL)
        reference = PCA(estimator.n_components_, whiten=True, svd_solver="full").fit(data)
        np.testing.assert_allclose(scores, reference.transform(data), atol=WHITEN_ATOL)
        if n_components is None:
            np.testing.assert_allclose(estimator.inverse_transform(scores), data, rtol=ROUND_TRIP_RTOL, atol=1e-9)

    def test_accepts_lists_ints_float32_objects_and_views_without_modifying_them(self):
        data = contract_data()
        expected = self.make().fit(data).components_
        variants = (data.tolist(), np.asfortranarray(data), data.astype(np.float32), data[::-1], data.astype(object))
        for variant in variants:
            before = np.array(variant, copy=True)
            components = self.make().fit(variant).components_
            np.testing.assert_array_equal(np.asarray(variant), before)  # input untouched
            np.testing.assert_allclose(components, expected, atol=1e-4)  # float32 input: ~1e-7 relative
        integers = np.arange(40).reshape(10, 4) % 7  # int64
        assert self.make().fit(integers).components_.dtype == np.float64

    def test_is_a_scikit_learn_transformer(self):
        """clone, get_params, set_params, feature names out, and a place in a Pipeline."""
        data = contract_data()
        estimator = self.make(n_components=3)
        assert estimator.get_params()["n_components"] == 3 and estimator.set_params(whiten=True) is estimator
        copy = clone(estimator)
        assert copy is not estimator and copy.get_params() == estimator.get_params()
        estimator.fit(data)
        names = estimator.get_feature_names_out()
        assert list(names) == [f"{type(estimator).__name__.lower()}{i}" for i in range(3)]
        pipeline = make_pipeline(StandardScaler(), self.make(n_components=3)).fit(data)
        scaled = StandardScaler().fit_transform(data)
        np.testing.assert_allclose(pipeline.transform(data), self.make(n_components=3).fit(scaled).transform(scaled))

    def test_transform_checks_shapes_and_values(self):
        estimator = self.make(n_components=3).fit(contract_data())
        name = type(estimator).__name__
        with pytest.raises(ValueError, match=rf"X has 7 features, but {name} is expecting 8 features as input"):
            estimator.transform(np.ones((4, 7)))
        with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array instead"):
            estimator.transform(np.ones(8))
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
            estimator.transform(np.ones((0, 8)))
        with pytest.raises(ValueError, match=r"Input X contains NaN"):
            estimator.transform(np.full((2, 8), np.nan))
        with pytest.raises(TypeError, match=r"Sparse data was passed for X"):
            estimator.transform(scipy.sparse.csr_matrix(np.ones((2, 8))))
        with pytest.raises(ValueError, match=rf"Z has 8 features, but {name} is expecting 3 components as input"):
            estimator.inverse_transform(np.ones((4, 8)))
        with pytest.raises(ValueError, match=r"Input Z contains NaN"):
            estimator.inverse_transform(np.full((2, 3), np.nan))
        assert estimator.transform(np.ones((1, 8))).shape == (1, 3)  # one sample is fine after fit


class PCAValidationContract:
    """The checks the shared base class makes before any fitting: graded once, with c02.2's estimator.

    Every PCA inherits them from ``BasePCA``, so for the later estimators they would pass before
    their own task is solved; those tasks run :class:`PCAContract` only.
    """

    make: ClassVar[Callable[..., BasePCA]]

    @pytest.mark.parametrize(("bad", "error", "message"), BAD_DATA, ids=BAD_DATA_IDS)
    def test_fit_rejects_bad_data_with_a_clear_error(self, bad, error, message):
        with pytest.raises(error, match=message):
            self.make().fit(bad)

    @pytest.mark.parametrize(("n_components", "message"), BAD_N_COMPONENTS, ids=repr)
    def test_fit_rejects_bad_n_components(self, n_components, message):
        with pytest.raises(ValueError, match=message):
            self.make(n_components=n_components).fit(contract_data())

    @pytest.mark.parametrize("whiten", ["yes", 1, None])
    def test_fit_rejects_a_non_bool_whiten(self, whiten):
        with pytest.raises(ValueError, match=r"whiten must be one of False, True"):
            self.make(whiten=whiten).fit(contract_data())

    def test_unfitted_estimator_refuses_to_transform(self):
        estimator = self.make()
        name = type(estimator).__name__
        for method, argument in (("transform", contract_data()), ("inverse_transform", np.ones((2, 3)))):
            with pytest.raises(NotFittedError, match=rf"This {name} instance is not fitted yet. Call 'fit'"):
                getattr(estimator, method)(argument)
        assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
