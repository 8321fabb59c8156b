"""Test matrices with a known spectrum, and the error measures the tests and the benchmark share.

How close can two correct PCAs be? Perturbation theory answers it, and the
answer decides which comparisons are meaningful:

* **Eigenvalues (variances) are well conditioned in absolute terms** (Weyl):
  a backward-stable method changes each by at most about eps * lambda_max. So
  ``max |lambda - lambda_ref| / lambda_max`` is tiny for every component, but
  the relative error of a small variance grows like eps * lambda_max / lambda_i.
* **A component is only as well defined as its eigengap** (Davis-Kahan): the
  angle between a computed and the exact eigenvector is about
  eps * lambda_max / gap_i, gap_i = min over j != i of |lambda_i - lambda_j|.
  Repeated or nearly repeated variances (the zero-variance pixels of digits,
  for instance) make their components arbitrary within their common subspace,
  and no tolerance is fair there.

So the tests compare components only where the *relative eigengap*
``gap_i / lambda_max`` is large enough for the tolerance, and variances
relative to themselves only where ``lambda_i / lambda_max`` is; everything
else is checked through subspace-invariant quantities (reconstruction error,
orthonormality, the total variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c02_data.validation import FloatArray


def random_orthonormal(rng: np.random.Generator, rows: int, columns: int) -> FloatArray:
    """A (rows, columns) matrix with orthonormal columns, uniformly random (QR of a Gaussian)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, columns)))
    return q * np.sign(np.diag(r))  # fix the signs so the distribution is uniform (Haar)


@dataclass(frozen=True)
class KnownPCA:
    """Data built with a chosen spectrum, and the exact PCA of its centred version."""

    data: FloatArray  # (n_samples, n_features)
    components: FloatArray  # (n_features, n_features), rows by decreasing variance
    variances: FloatArray  # (n_features,), decreasing: s**2 / (n_samples - 1)


def known_spectrum(singular_values: FloatArray, n_samples: int, *, seed: int, offset: float = 0.0) -> KnownPCA:
    """Data whose *centred* version has exactly the given singular values (before rounding).

    ``X = U diag(s) V.T + mean`` with U (n_samples, r) orthonormal and orthogonal to
    the all-ones vector, so that centring removes exactly the mean: the PCA
    variances are ``s² / (n_samples - 1)`` and the components the rows of ``V.T``.
    Forming X rounds each entry (relative error eps), which perturbs the singular
    values by about eps * (s_max + |mean|) in absolute terms: the truth is exact
    only to that level.

    Args:
        singular_values: (r,) the spectrum in decreasing order, r <= n_samples - 2.
        n_samples: rows of the result.
        seed: seeds U, V and the mean.
        offset: scale of the constant mean added to every row (PCA must remove it).
    """
    rng = np.random.default_rng(seed)
    spectrum = np.asarray(singular_values, dtype=np.float64)
    rank = len(spectrum)
    ones = np.full((n_samples, 1), 1.0 / np.sqrt(n_samples))
    basis = random_orthonormal(rng, n_samples, rank + 1)
    basis -= ones @ (ones.T @ basis)  # remove the mean direction: centred columns
    u = np.linalg.qr(basis)[0][:, :rank]  # (n_samples, rank), orthogonal to ones
    v = random_orthonormal(rng, rank, rank)  # (rank, rank)
    mean = offset * rng.standard_normal(rank)
    data = (u * spectrum) @ v.T + mean
    return KnownPCA(data=data, components=np.ascontiguousarray(v.T), variances=spectrum**2 / (n_samples - 1))


def ill_conditioned(
    n_samples: int = 400, n_features: int = 20, *, condition: float = 1e8, seed: int = 0, offset: float = 3.0
) -> KnownPCA:
    """Centred singular values spaced geometrically from 1 down to ``1 / condition``, plus a mean offset."""
    spectrum = np.logspace(0.0, -np.log10(condition), n_features)
    return known_spectrum(spectrum, n_samples, seed=seed, offset=offset)


def gapped(
    n_samples: int = 1000, n_features: int = 200, k: int = 10, *, gap: float = 100.0, seed: int = 0
) -> KnownPCA:
    """k dominant singular values (well separated, 2 to 1, times ``gap``) above a slowly decaying tail."""
    top = gap * np.linspace(2.0, 1.0, k)
    tail = np.linspace(1.0, 0.1, n_features - k)
    return known_spectrum(np.concatenate([top, tail]), n_samples, seed=seed, offset=1.0)


def relative_eigengaps(variances: FloatArray) -> FloatArray:
    """(r,) ``min over j != i of |lambda_i - lambda_j| / lambda_max`` for a full spectrum (r >= 2)."""
    lam = np.asarray(variances, dtype=np.float64)
    distance = np.abs(lam[:, np.newaxis] - lam[np.newaxis, :])  # (r, r)
    np.fill_diagonal(distance, np.inf)
    return np.asarray(distance.min(axis=1) / lam.max())


def component_errors(components: FloatArray, reference: FloatArray) -> FloatArray:
    """(k,) max-abs difference of each row from the reference row, whichever sign fits best."""
    same = np.abs(components - reference).max(axis=1)
    flipped = np.abs(components + reference).max(axis=1)
    return np.asarray(np.minimum(same, flipped))


def signed_component_errors(components: FloatArray, reference: FloatArray) -> FloatArray:
    """(k,) max-abs difference of each row from the reference row, signs as they are."""
    return np.asarray(np.abs(components - reference).max(axis=1))


def relative_errors(values: FloatArray, reference: FloatArray) -> FloatArray:
    """(k,) ``|value - ref| / |ref|`` elementwise (``inf`` where ref is 0 and value is not)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.abs(values - reference) / np.abs(reference)
    return np.asarray(np.where(values == reference, 0.0, errors))


def normwise_relative_error(values: FloatArray, reference: FloatArray) -> float:
    """``max |value - ref| / max |ref|``: the error that Weyl's bound controls for every variance."""
    return float(np.abs(values - reference).max() / np.abs(reference).max())
