"""Randomized PCA: the top k components from a random sketch (Halko, Martinsson and Tropp, 2011).

An exact SVD of an (n, d) matrix costs O(n d min(n, d)) even when only k << d
components are wanted. Randomized PCA finds a small orthonormal basis Q whose
span nearly contains the top-k left singular subspace, then solves a tiny
problem inside it (Halko et al., "Finding structure with randomness",
Algorithms 4.4 and 5.1):

1. **Range finder.** Draw a Gaussian test matrix Omega (d, k + p) and form the
   sketch Y = A @ Omega (n, k + p): random combinations of A's columns, which
   lean towards its dominant directions. The ``p`` extra columns
   (*oversampling*, default 10) make it very unlikely that the sketch misses
   part of the top-k subspace.
2. **Power iterations.** If the spectrum decays slowly, the tail still pollutes
   Y. Replacing Y by (A A^T)^q A Omega multiplies each singular direction by
   s_i^(2q+1), so the error of the top-k subspace shrinks like
   (s_{k+p+1} / s_k)^(2q+1). Between products we re-orthonormalise (QR, or the
   cheaper LU), or the columns all collapse onto the top singular vector in
   floating point.
3. **Small SVD.** With Q = orth(Y) (n, k + p), B = Q^T A is only (k + p, d);
   its exact SVD B = Uh diag(s) Vt gives A ~ (Q Uh) diag(s) Vt. Keep the top k.

Cost: about (2q + 2) products with A, O(n d (k + p)) each, instead of an O(n d²)
factorisation. Accuracy depends on the spectrum: with a gap after the k-th
singular value, a few power iterations reach 1e-10 and beyond; with a flat
spectrum, no number of iterations makes the top-k vectors well defined.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg

from c02_data.base import BasePCA
from c02_data.validation import FloatArray, check_choice, check_int

Normalizer = Literal["QR", "LU", "none"]
NORMALIZERS: tuple[Normalizer, ...] = ("QR", "LU", "none")
RandomState = int | np.random.Generator | None


def _orthonormalize(y: FloatArray, normalizer: Normalizer) -> FloatArray:
    """Re-condition the columns of ``y`` (n, l) between power iterations."""
    # BEGIN SOLUTION c02.4: QR keeps Q; LU keeps the permuted L factor (same span, cheaper); none keeps y
    if normalizer == "QR":
        q, _ = scipy.linalg.qr(y, mode="economic", check_finite=False)
        return np.asarray(q)
    if normalizer == "LU":
        permuted_l, _ = scipy.linalg.lu(y, permute_l=True, check_finite=False)
        return np.asarray(permuted_l)
    return y
    # END SOLUTION


def randomized_range_finder(
    a: FloatArray,
    size: int,
    n_power_iterations: int,
    rng: np.random.Generator,
    normalizer: Normalizer = "QR",
) -> FloatArray:
    """An orthonormal basis Q (n, size) whose span approximates the dominant range of ``a`` (n, d).

    Args:
        a: the (already centred) matrix.
        size: columns of Q, ``k + n_oversamples``, at most ``min(n, d)``.
        n_power_iterations: q, the number of multiplications by ``a @ a.T``.
        rng: the source of the Gaussian test matrix.
        normalizer: how to re-condition the sketch between products.

    Returns:
        Q with orthonormal columns: ``Q.T @ Q = I`` (size, size).
    """
    # BEGIN SOLUTION c02.4: Gaussian test matrix, sketch, q normalised power iterations, final QR
    omega = rng.standard_normal((a.shape[1], size))  # (d, size)
    sketch = a @ omega  # (n, size)
    for _ in range(n_power_iterations):
        sketch = _orthonormalize(sketch, normalizer)
        sketch = a @ _orthonormalize(a.T @ sketch, normalizer)  # (n, size)
    q, _ = scipy.linalg.qr(sketch, mode="economic", check_finite=False)
    return np.asarray(q)
    # END SOLUTION


def randomized_svd(
    a: FloatArray,
    k: int,
    *,
    n_oversamples: int = 10,
    n_power_iterations: int = 4,
    normalizer: Normalizer = "QR",
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Approximate the top-k SVD of ``a`` (n, d): ``(U (n, k), s (k,), Vt (k, d))``, s decreasing."""
    # BEGIN SOLUTION c02.4: range finder with k + p columns, B = Q.T a, exact SVD of B, lift U, keep k
    size = min(k + n_oversamples, *a.shape)
    q = randomized_range_finder(a, size, n_power_iterations, rng, normalizer)  # (n, size)
    b = q.T @ a  # (size, d): small
    u_small, s, vt = scipy.linalg.svd(b, full_matrices=False, check_finite=False)
    u = q @ u_small  # (n, size)
    return u[:, :k], s[:k], vt[:k]
    # END SOLUTION


class RandomizedPCA(BasePCA):
    """Top-k PCA by randomized SVD of the centred data.

    Args:
        n_components: k, the components to keep (``None``: ``min(n_samples, n_features)``,
            which is correct but defeats the purpose).
        whiten: scale the transformed outputs to unit variance.
        n_oversamples: p, extra sketch columns (an int >= 0; default 10).
        n_power_iterations: q (an int >= 0) or ``"auto"``: 7 when k < 0.1 * min(n, d),
            else 4 (scikit-learn's rule).
        power_iteration_normalizer: ``"QR"`` (stable, default), ``"LU"`` or ``"none"``.
        random_state: None, an int seed or a ``numpy.random.Generator``; an int
            makes ``fit`` deterministic.
    """

    def __init__(
        self,
        n_components: int | None = None,
        *,
        whiten: bool = False,
        n_oversamples: int = 10,
        n_power_iterations: int | Literal["auto"] = "auto",
        power_iteration_normalizer: Normalizer = "QR",
        random_state: RandomState = None,
    ) -> None:
        super().__init__(n_components, whiten=whiten)
        self.n_oversamples = n_oversamples
        self.n_power_iterations = n_power_iterations
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state

    def _check_params(self) -> None:
        # BEGIN SOLUTION c02.4: base checks, then oversamples, power iterations, normaliser, seed
        super()._check_params()
        owner = type(self).__name__
        check_int("n_oversamples", self.n_oversamples, minimum=0, owner=owner)
        if self.n_power_iterations != "auto":
            check_int("n_power_iterations (or 'auto')", self.n_power_iterations, minimum=0, owner=owner)
        check_choice("power_iteration_normalizer", self.power_iteration_normalizer, NORMALIZERS, owner=owner)
        seed = self.random_state
        if not (seed is None or isinstance(seed, np.random.Generator)):
            check_int("random_state (or None, or a numpy Generator)", seed, minimum=0, owner=owner)
        # END SOLUTION

    def _fit(self, data: FloatArray, n_components: int) -> None:
        # BEGIN SOLUTION c02.4: centre, pick q, randomized SVD, variances, total variance from the data
        n_samples = data.shape[0]
        mean = data.mean(axis=0)  # (n_features,)
        centred = data - mean  # (n_samples, n_features)
        n_iter = self.n_power_iterations
        if n_iter == "auto":
            n_iter = 7 if n_components < 0.1 * min(data.shape) else 4
        _, s, vt = randomized_svd(
            centred,
            n_components,
            n_oversamples=self.n_oversamples,
            n_power_iterations=int(n_iter),
            normalizer=self.power_iteration_normalizer,
            rng=np.random.default_rng(self.random_state),
        )
        # Only k variances are computed, so the total comes from the data: sum of squares / (n - 1).
        total_variance = float(np.einsum("ij,ij->", centred, centred)) / (n_samples - 1)
        self._store(
            mean=mean,
            components=np.ascontiguousarray(vt),  # (n_components, n_features)
            explained_variance=s**2 / (n_samples - 1),
            total_variance=total_variance,
            n_samples=n_samples,
        )
        # END SOLUTION
