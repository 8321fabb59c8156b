"""The heart of CART: find a node's best split over every feature and threshold at once, in numpy.

A split "feature f <= t" sends the samples with small values of f left. Sorting
the node's samples by f, every candidate threshold is a *position* i in the
sorted order: the first i samples go left, the other m - i go right. So with
the targets in sorted order, **cumulative sums** give the statistics of every
left child at once (class counts for a classifier, Σy for a regressor); the
right child is the node total minus the left. One cumulative sum per feature,
and no Python loop over thresholds.

We do all features together: the node's samples sorted by each feature form a
(m, d) index matrix (see ``tree.py``, which keeps it sorted as it splits), so
the class counts are one (m, d, K) cumulative sum.

Which split is best? The one that minimises the children's weighted impurity
n_L·I(L) + n_R·I(R), where I is

* **gini**: 1 - Σₖ pₖ², so n·I = n - Σₖ cₖ² / n (cₖ the class counts);
* **entropy**: -Σₖ pₖ log₂ pₖ, so n·I = n log₂ n - Σₖ cₖ log₂ cₖ;
* **squared error** (the variance): n·I = Σ y² - (Σ y)² / n.

The constant parts do not depend on the split, so we *maximise a proxy*
instead (as scikit-learn does): Σₖ cₖ²/n_L + Σₖ cₖ²/n_R for gini, the sum of
(Σy)²/n over both children for squared error (targets centred first, to keep
the squares small), and minus the n·I sums for entropy.

Valid positions: both children keep at least ``min_samples_leaf`` samples, and
the threshold falls between two *different* values (closer than
``FEATURE_THRESHOLD`` counts as equal, as in scikit-learn). The threshold is
the midpoint of the two neighbouring values.

Ties: the proxy of every (feature, position) pair is laid out feature by
feature and ``argmax`` returns the first maximum, so an exact tie goes to the
**lowest feature index, then the lowest threshold**. That makes our trees
deterministic; scikit-learn instead visits features in a random order (its
``random_state``), so on tied data (iris: petal length and petal width split
off setosa equally well) the two may pick different but equally good splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from c03_ml_basics.validation import FloatMatrix, FloatVector

FEATURE_THRESHOLD = 1e-7  # two feature values closer than this are the same value
CRITERIA_CLASSIFICATION = ("gini", "entropy")
CRITERIA_REGRESSION = ("squared_error",)


@dataclass(frozen=True)
class Split:
    """The best split of one node: samples with ``x[feature] <= threshold`` go left."""

    feature: int
    threshold: float
    n_left: int  # the split position in the node's order sorted by ``feature``
    proxy: float  # the criterion's proxy, higher is better (for tests and debugging)


def node_impurity(counts_or_targets: NDArray[np.float64], criterion: str) -> float:
    """Impurity of one node: class counts (K,) for gini/entropy, target values (m,) for squared_error."""
    # BEGIN SOLUTION c03.3: gini 1 - Σp², entropy -Σ p log2 p (0 log 0 = 0), the variance for squared_error
    if criterion == "squared_error":
        m = len(counts_or_targets)
        deviations = counts_or_targets - counts_or_targets.sum() / m
        return float(deviations @ deviations) / m  # the variance, without np.var's overhead
    total = counts_or_targets.sum()
    p = counts_or_targets[counts_or_targets > 0] / total
    if criterion == "gini":
        return float(1.0 - (p**2).sum())
    return float(-(p * np.log2(p)).sum())
    # END SOLUTION


def _xlog2x(c: NDArray[np.float64]) -> NDArray[np.float64]:
    """c log₂ c elementwise, with 0 log 0 = 0."""
    # BEGIN SOLUTION c03.3: c * log2(c) where c > 0, else 0, without warnings
    return np.asarray(np.where(c > 0, c * np.log2(np.maximum(c, 1.0)), 0.0))  # counts are 0 or >= 1
    # END SOLUTION


def classification_proxy(sorted_labels: NDArray[np.intp], n_classes: int, criterion: str) -> FloatMatrix:
    """Proxy (higher is better) of every split position of every feature.

    Args:
        sorted_labels: (m, d) class index of the samples, column f sorted by feature f.
        n_classes: K.
        criterion: "gini" or "entropy".

    Returns:
        (m - 1, d): entry [i - 1, f] scores sending the first i samples of column f left.
    """
    # BEGIN SOLUTION c03.3: one-hot, cumulative class counts, right = total - left, the criterion's proxy
    m = sorted_labels.shape[0]
    onehot = np.eye(n_classes)[sorted_labels]  # (m, d, K)
    left = np.cumsum(onehot, axis=0)[:-1]  # (m-1, d, K): counts of the first i = 1..m-1 samples
    right = left[-1:] + onehot[-1:] - left  # node totals minus the left counts
    n_left = np.arange(1, m, dtype=np.float64)[:, None]  # (m-1, 1)
    n_right = m - n_left
    if criterion == "gini":
        return np.asarray((left**2).sum(axis=2) / n_left + (right**2).sum(axis=2) / n_right)
    # entropy: maximise -(n_L·H(L) + n_R·H(R)) = Σ c log c - n log n over both children
    return np.asarray(_xlog2x(left).sum(axis=2) - _xlog2x(n_left) + _xlog2x(right).sum(axis=2) - _xlog2x(n_right))
    # END SOLUTION


def regression_proxy(sorted_targets: FloatMatrix) -> FloatMatrix:
    """Squared-error proxy (Σy)²/n_L + (Σy)²/n_R of every split position; input (m, d), output (m - 1, d)."""
    # BEGIN SOLUTION c03.3: centre, cumulative sums of y, right = total - left, the proxy
    m = sorted_targets.shape[0]
    centred = sorted_targets - sorted_targets[:, 0].sum() / m  # every column holds the same values: their mean
    left = np.cumsum(centred, axis=0)[:-1]  # (m-1, d)
    right = left[-1:] + centred[-1:] - left
    n_left = np.arange(1, m, dtype=np.float64)[:, None]
    return np.asarray(left**2 / n_left + right**2 / (m - n_left))
    # END SOLUTION


def best_split(sorted_values: FloatMatrix, proxy: FloatMatrix, min_samples_leaf: int) -> Split | None:
    """The valid split with the highest proxy, or None when no split is valid.

    Args:
        sorted_values: (m, d) feature values, column f sorted ascending.
        proxy: (m - 1, d) from :func:`classification_proxy` or :func:`regression_proxy`.
        min_samples_leaf: each child needs at least this many samples.
    """
    # BEGIN SOLUTION c03.3: mask ties and small children, argmax feature-major, midpoint
    m = sorted_values.shape[0]
    distinct = sorted_values[1:] > sorted_values[:-1] + FEATURE_THRESHOLD  # (m-1, d): a gap after position i
    n_left = np.arange(1, m)
    big_enough = (n_left >= min_samples_leaf) & (m - n_left >= min_samples_leaf)  # (m-1,)
    valid = distinct & big_enough[:, None]
    if not valid.any():
        return None
    scores = np.where(valid, proxy, -np.inf).T  # (d, m-1): feature-major, so ties go to the lowest feature
    flat = int(np.argmax(scores))
    feature, position = divmod(flat, m - 1)
    low, high = sorted_values[position, feature], sorted_values[position + 1, feature]
    threshold = low / 2.0 + high / 2.0
    if threshold >= high or not np.isfinite(threshold):  # rounding pushed the midpoint onto the upper value
        threshold = low
    return Split(feature, float(threshold), n_left=position + 1, proxy=float(scores[feature, position]))
    # END SOLUTION


def sorted_columns(values: FloatMatrix, order: NDArray[np.intp]) -> FloatMatrix:
    """values[order[i, f], f] for every i, f: each feature's values in that feature's sorted order."""
    return np.asarray(values[order, np.arange(order.shape[1])])  # (m, d)


def leaf_value_classification(labels: NDArray[np.intp], n_classes: int) -> FloatVector:
    """Class frequencies (K,) of a node's samples: its predict_proba."""
    # BEGIN SOLUTION c03.3: bincount / m
    return np.bincount(labels, minlength=n_classes).astype(np.float64) / len(labels)
    # END SOLUTION
