"""c02.4: randomized PCA (Halko, Martinsson and Tropp 2011): range finder, oversampling, power iterations.

Oracle: the exact PCA (``sklearn.decomposition.PCA(svd_solver="full")``) for the top k, on
matrices whose spectrum has a gap after the k-th singular value: a synthetic one (ratio 0.01),
wine (k = 3, ratio 0.03 after k + p) and the condition-number-1e8 matrix (k = 5). Without a gap
(digits: s_11 / s_10 = 0.88) the top-k vectors are barely defined and randomized PCA cannot
reach 1e-6 (6e-4 with 4 power iterations, 1.3e-5 with 7); that is the method's nature, not a bug.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from c02_pca_contract import PCAContract
from sklearn.decomposition import PCA

from c02_data import RandomizedPCA, component_errors, gapped, randomized_range_finder, randomized_svd, relative_errors

pytestmark = pytest.mark.task("c02.4")

TOP_K_TOL = 1e-6  # components (max-abs) and variances (relative) of the top k, spectrum with a gap
# Halko et al. eq. (1.9): with p >= 2 oversamples and no power iteration,
# ||A - Q Q^T A||_2 <= (1 + 11 sqrt(k + p) sqrt(min(m, n))) s_{k+1} except with probability 6 p^-p.
HALKO_FACTOR = 11.0


class TestRandomizedPCAContract(PCAContract):
    make = staticmethod(functools.partial(RandomizedPCA, random_state=0))


@pytest.fixture(scope="module")
def gapped_cases(cases):
    """(name, data, k, exact PCA) for the three matrices with a spectral gap after k."""
    synthetic = gapped(1000, 200, 10, seed=0).data
    return [
        ("gapped", synthetic, 10, PCA(svd_solver="full").fit(synthetic)),
        ("wine", cases["wine"].data, 3, cases["wine"].reference),
        ("ill_conditioned", cases["ill_conditioned"].data, 5, cases["ill_conditioned"].reference),
    ]


def top_k_errors(estimator, reference, k):
    components = component_errors(estimator.components_, reference.components_[:k]).max()
    variances = relative_errors(estimator.explained_variance_, reference.explained_variance_[:k]).max()
    return float(components), float(variances)


def test_top_k_matches_the_exact_pca_where_the_spectrum_has_a_gap(gapped_cases, metric):
    worst_component, worst_variance = 0.0, 0.0
    for name, data, k, reference in gapped_cases:
        ours = RandomizedPCA(k, random_state=0).fit(data)
        component_error, variance_error = top_k_errors(ours, reference, k)
        assert component_error <= TOP_K_TOL and variance_error <= TOP_K_TOL, name
        ratio_error = np.abs(ours.explained_variance_ratio_ - reference.explained_variance_ratio_[:k]).max()
        assert ratio_error <= TOP_K_TOL, name  # total variance from the data, not from k values
        worst_component, worst_variance = max(worst_component, component_error), max(worst_variance, variance_error)
    metric("randomized_component_max_error", worst_component)
    metric("randomized_explained_variance_max_rel_error", worst_variance)


def test_power_iterations_shrink_the_error(gapped_cases):
    _, data, k, reference = gapped_cases[0]
    errors = [
        top_k_errors(RandomizedPCA(k, n_power_iterations=q, random_state=0).fit(data), reference, k)[0]
        for q in (0, 1, 2)
    ]
    # Each iteration multiplies the error by about (s_{k+p+1} / s_k)^2 = 1e-4, down to rounding.
    assert errors[0] > 1e-6, "without power iterations the tail should pollute the top k"
    assert errors[1] < errors[0] / 1e3 and errors[2] < errors[1] / 1e3, errors


@pytest.mark.parametrize("normalizer", ["QR", "LU", "none"])
def test_every_normalizer_is_accurate_with_few_iterations(gapped_cases, normalizer):
    _, data, k, reference = gapped_cases[0]
    ours = RandomizedPCA(k, n_power_iterations=2, power_iteration_normalizer=normalizer, random_state=1).fit(data)
    assert max(top_k_errors(ours, reference, k)) <= TOP_K_TOL


def test_without_normalisation_many_iterations_collapse_the_sketch(gapped_cases):
    _, data, k, reference = gapped_cases[1]  # wine: s_2 / s_1 = 0.04, so s^15 underflows eps
    normalised = RandomizedPCA(k, n_power_iterations=7, power_iteration_normalizer="QR", random_state=0).fit(data)
    raw = RandomizedPCA(k, n_power_iterations=7, power_iteration_normalizer="none", random_state=0).fit(data)
    assert max(top_k_errors(normalised, reference, k)) <= 1e-12
    assert max(top_k_errors(raw, reference, k)) > 1e-6  # every column of the sketch aligned with v_1


def test_same_seed_same_result_and_generators_are_accepted():
    data = gapped(300, 40, 5, seed=2).data
    first = RandomizedPCA(5, random_state=7).fit(data)
    np.testing.assert_array_equal(first.components_, RandomizedPCA(5, random_state=7).fit(data).components_)
    from_generator = RandomizedPCA(5, random_state=np.random.default_rng(7)).fit(data)
    np.testing.assert_array_equal(first.components_, from_generator.components_)
    other_seed = RandomizedPCA(5, random_state=8).fit(data)
    np.testing.assert_allclose(other_seed.components_, first.components_, atol=TOP_K_TOL)  # signs fixed
    assert RandomizedPCA(5).fit(data).components_.shape == (5, 40)  # random_state=None works too


def test_range_finder_meets_the_halko_bound():
    data = gapped(500, 120, 10, seed=3).data
    centred = data - data.mean(axis=0)
    k, p = 10, 10
    q = randomized_range_finder(centred, k + p, 0, np.random.default_rng(0))
    assert q.shape == (500, k + p)
    np.testing.assert_allclose(q.T @ q, np.eye(k + p), atol=1e-12)
    residual = np.linalg.norm(centred - q @ (q.T @ centred), 2)
    s = np.linalg.svd(centred, compute_uv=False)
    assert residual <= (1 + HALKO_FACTOR * np.sqrt((k + p) * min(centred.shape))) * s[k]
    assert residual >= s[k + p] * (1 - 1e-12)  # no rank-(k + p) basis beats the SVD (Eckart-Young)


def test_randomized_svd_and_auto_iterations():
    data = gapped(200, 30, 4, seed=4).data
    centred = data - data.mean(axis=0)
    u, s, vt = randomized_svd(centred, 4, n_oversamples=50, rng=np.random.default_rng(0))  # p capped at 30
    assert u.shape == (200, 4) and s.shape == (4,) and vt.shape == (4, 30)
    np.testing.assert_allclose(s, np.linalg.svd(centred, compute_uv=False)[:4], rtol=1e-12)
    np.testing.assert_allclose((u * s) @ vt, centred @ vt.T @ vt, atol=1e-10 * s[0])
    small, large = RandomizedPCA(2, random_state=0).fit(data), RandomizedPCA(20, random_state=0).fit(data)
    assert small.n_components_ == 2 and large.n_components_ == 20  # q = 7 and q = 4 ("auto")


BAD_PARAMETERS = [
    ({"n_oversamples": -1}, r"n_oversamples must be an int >= 0, got -1"),
    ({"n_oversamples": 2.5}, r"n_oversamples must be an int >= 0, got 2.5"),
    ({"n_power_iterations": -2}, r"n_power_iterations \(or 'auto'\) must be an int >= 0, got -2"),
    ({"n_power_iterations": "many"}, r"n_power_iterations \(or 'auto'\) must be an int >= 0, got 'many'"),
    ({"n_power_iterations": True}, r"got True"),
    ({"power_iteration_normalizer": "qr"}, r"power_iteration_normalizer must be one of 'QR', 'LU', 'none'; got 'qr'"),
    ({"power_iteration_normalizer": None}, r"power_iteration_normalizer must be one of"),
    ({"random_state": "seed"}, r"random_state \(or None, or a numpy Generator\) must be an int >= 0, got 'seed'"),
    ({"random_state": -1}, r"random_state .* got -1"),
    ({"random_state": np.random.RandomState(0)}, r"random_state .* got RandomState"),
]


@pytest.mark.parametrize(("parameters", "message"), BAD_PARAMETERS, ids=lambda v: str(v)[:40])
def test_bad_hyper_parameters_are_refused_at_fit(parameters, message):
    estimator = RandomizedPCA(2, **parameters)  # __init__ only stores them, like scikit-learn
    with pytest.raises(ValueError, match=message):
        estimator.fit(gapped(50, 6, 2, seed=5).data)
