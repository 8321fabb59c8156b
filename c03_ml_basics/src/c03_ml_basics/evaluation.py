"""Evaluation: k-fold cross-validation, confusion matrix, per-class scores, residuals, learning curves.

A score on the training data measures memory, not skill. Every number here is
computed on data the model did not see:

* **k-fold cross-validation** splits the samples into k folds, fits on k - 1
  and scores on the one left out, k times, so every sample is held out once.
  *Stratified* folds deal each class out round-robin, so every fold keeps the
  class proportions (a fold without any "malignant" case cannot measure recall).
* The **confusion matrix** C[i, j] counts samples of true class i predicted as j.
  Per class: precision = C[j, j] / column sum (of those predicted j, how many
  are j), recall = C[i, i] / row sum (of the true i, how many were found), and
  F1, their harmonic mean. A class never predicted has precision 0/0, reported
  as 0 (scikit-learn's ``zero_division=0``).
* **Residual analysis** (regression): residual rᵢ = yᵢ - ŷᵢ; leverage hᵢᵢ, the
  diagonal of the hat matrix H = X1 (X1ᵀX1)⁻¹ X1ᵀ, measures how unusual xᵢ is
  (Σ hᵢᵢ = p, the number of parameters); the standardised residual
  rᵢ / (s √(1 - hᵢᵢ)), s² = Σ r² / (n - p), puts residuals on one scale; Cook's
  distance Dᵢ = rᵢ² hᵢᵢ / (p s² (1 - hᵢᵢ)²) is how far all predictions move
  when sample i is left out: large residual *and* large leverage.
* A **learning curve** scores a model trained on growing prefixes of each
  training fold: a gap between training and validation scores that stays
  open means variance (more data helps); two low curves mean bias.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone, is_classifier

from c03_ml_basics.validation import FloatMatrix, FloatVector, IntVector, check_features, check_number

Fold = tuple[IntVector, IntVector]  # (train indices, test indices)


def k_fold(n_samples: int, n_splits: int = 5, *, shuffle: bool = True, random_state: int | None = None) -> list[Fold]:
    """Plain k-fold: contiguous blocks of a (shuffled) order; fold sizes differ by at most one."""
    # BEGIN SOLUTION c03.4: check n_splits, permute, cut into near-equal blocks, train = the rest (in order)
    check_number("n_splits", n_splits, low=2, high=n_samples, integer=True)
    order = np.random.default_rng(random_state).permutation(n_samples) if shuffle else np.arange(n_samples)
    return _folds_from_assignment(np.argsort(order, kind="stable") * n_splits // n_samples, n_splits, order)
    # END SOLUTION


def stratified_k_fold(y: object, n_splits: int = 5, *, shuffle: bool = True,
                      random_state: int | None = None) -> list[Fold]:
    """Stratified k-fold: each class is dealt round-robin over the folds.

    Classes are dealt one after another, each starting at the fold where the
    previous one stopped, so fold sizes differ by at most one and each class's
    count per fold differs by at most one. With ``shuffle`` the order within
    each class is random, and each fold's train indices come in a random order
    too (so any prefix is a random subset, as :func:`learning_curve` needs).

    Raises:
        ValueError: ``n_splits`` < 2 or > n_samples, or ``y`` is not 1-D.
    Warns:
        UserWarning: some class has fewer than ``n_splits`` members.
    """
    # BEGIN SOLUTION c03.4: check, group by class, deal round-robin with a running offset, build the folds
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {labels.shape}")
    check_number("n_splits", n_splits, low=2, high=labels.shape[0], integer=True)
    rng = np.random.default_rng(random_state)
    classes, encoded, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < n_splits:
        warnings.warn(f"the least populated class ({classes.tolist()[counts.argmin()]!r}) has only {counts.min()} "
                      "members, "
                      f"fewer than n_splits={n_splits}", UserWarning, stacklevel=2)
    fold_of = np.empty(labels.shape[0], dtype=np.intp)
    offset = 0
    for k in range(len(classes)):
        members = np.flatnonzero(encoded == k)
        if shuffle:
            members = rng.permutation(members)
        fold_of[members] = (offset + np.arange(len(members))) % n_splits
        offset = (offset + len(members)) % n_splits
    order = rng.permutation(labels.shape[0]) if shuffle else np.arange(labels.shape[0])
    return _folds_from_assignment(fold_of, n_splits, order)
    # END SOLUTION


def _folds_from_assignment(fold_of: IntVector, n_splits: int, order: IntVector) -> list[Fold]:
    """(train, test) per fold from each sample's fold number; indices listed in ``order``."""
    # BEGIN SOLUTION c03.4: test = samples of fold k, train = the others, both in the given order
    assigned = fold_of[order]
    return [(order[assigned != k], np.sort(order[assigned == k])) for k in range(n_splits)]
    # END SOLUTION


def make_folds(estimator: Any, y: NDArray[Any], cv: int | Sequence[Fold], random_state: int | None) -> list[Fold]:
    """``cv`` folds: stratified for a classifier, plain for a regressor; an explicit list is used as given."""
    # BEGIN SOLUTION c03.4: an int: stratified_k_fold for classifiers, else k_fold; a list as is
    if isinstance(cv, int | np.integer):
        if is_classifier(estimator):
            return stratified_k_fold(y, int(cv), random_state=random_state)
        return k_fold(len(y), int(cv), random_state=random_state)
    return list(cv)
    # END SOLUTION


def accuracy(y_true: object, y_pred: object) -> float:
    """Fraction of exact matches."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))  # SOLUTION c03.4: mean of matches


def r2(y_true: object, y_pred: object) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (1.0 for a constant y predicted exactly, else 0.0)."""
    # BEGIN SOLUTION c03.4: 1 - Σ(y - ŷ)² / Σ(y - ȳ)², with scikit-learn's constant-y convention
    truth, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    residual = float(((truth - pred) ** 2).sum())
    total = float(((truth - truth.mean()) ** 2).sum())
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total
    # END SOLUTION


def cross_val_scores(estimator: Any, x: object, y: object, *, cv: int | Sequence[Fold] = 5,
                     random_state: int | None = 0) -> FloatVector:
    """Held-out score of a fresh clone of ``estimator`` on each fold (accuracy or R², its ``score``).

    ``cv`` is a number of folds (stratified for classifiers, plain k-fold for
    regressors, shuffled with ``random_state``) or an explicit list of folds.
    """
    # BEGIN SOLUTION c03.4: make the folds, then clone, fit on train, score on test, per fold
    features, target = check_features(x), np.asarray(y)
    folds = make_folds(estimator, target, cv, random_state)
    scores = [clone(estimator).fit(features[train], target[train]).score(features[test], target[test])
              for train, test in folds]
    return np.asarray(scores, dtype=np.float64)
    # END SOLUTION


def confusion_matrix(y_true: object, y_pred: object, labels: Sequence[Any] | None = None) -> NDArray[np.int64]:
    """C[i, j] = number of samples with true label labels[i] predicted as labels[j].

    ``labels`` defaults to the sorted union of both label sets; labels outside
    ``labels`` are not counted.
    """
    # BEGIN SOLUTION c03.4: map labels to indices, count (true, predicted) pairs with one bincount
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape != pred.shape or truth.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got {truth.shape} and {pred.shape}")
    names = np.unique(np.concatenate([truth, pred])) if labels is None else np.asarray(labels)
    k = len(names)
    lookup = {label: i for i, label in enumerate(names.tolist())}
    true_index = np.array([lookup.get(v, -1) for v in truth.tolist()], dtype=np.int64)
    pred_index = np.array([lookup.get(v, -1) for v in pred.tolist()], dtype=np.int64)
    keep = (true_index >= 0) & (pred_index >= 0)
    return np.bincount(true_index[keep] * k + pred_index[keep], minlength=k * k).reshape(k, k).astype(np.int64)
    # END SOLUTION


@dataclass(frozen=True)
class PerClassScores:
    """Precision, recall, F1 and support per class, in the order of ``labels``."""

    labels: NDArray[Any]
    precision: FloatVector
    recall: FloatVector
    f1: FloatVector
    support: NDArray[np.int64]


def precision_recall_f1(y_true: object, y_pred: object, labels: Sequence[Any] | None = None) -> PerClassScores:
    """Per-class precision, recall and F1, each class against all others (0/0 counts as 0).

    Every sample counts, also those whose label is not in ``labels``: a sample of class 1
    predicted as 2 lowers the precision of 2 even when only ``labels=[0, 2]`` are reported.
    """
    # BEGIN SOLUTION c03.4: per label: hits, predicted and true counts over all samples; ratios; F1
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape != pred.shape or truth.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got {truth.shape} and {pred.shape}")
    names = np.unique(np.concatenate([truth, pred])) if labels is None else np.asarray(labels)
    is_true = truth[:, None] == names[None, :]  # (n, K): sample i has true label k
    is_pred = pred[:, None] == names[None, :]
    hits = (is_true & is_pred).sum(axis=0).astype(np.float64)
    predicted, support = is_pred.sum(axis=0).astype(np.float64), is_true.sum(axis=0).astype(np.float64)

    def ratio(num: FloatVector, den: FloatVector) -> FloatVector:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    precision, recall = ratio(hits, predicted), ratio(hits, support)
    f1 = ratio(2 * precision * recall, precision + recall)
    return PerClassScores(names, precision, recall, f1, support.astype(np.int64))
    # END SOLUTION


@dataclass(frozen=True)
class ResidualAnalysis:
    """Per-sample diagnostics of a regression fit; ``n_params`` = p (features + intercept)."""

    residuals: FloatVector  # y - ŷ
    leverage: FloatVector  # hᵢᵢ
    standardized: FloatVector  # rᵢ / (s √(1 - hᵢᵢ))
    cooks_distance: FloatVector
    n_params: int

    def worst(self, k: int) -> IntVector:
        """Indices of the k largest |standardised residuals|, worst first."""
        return np.argsort(-np.abs(self.standardized), kind="stable")[:k]


def residual_analysis(x: object, y_true: object, y_pred: object) -> ResidualAnalysis:
    """Residuals, leverage, standardised residuals and Cook's distance for a fit on ``x`` (with intercept)."""
    # BEGIN SOLUTION c03.4: QR of [X, 1] gives leverage as row norms of Q; then s², standardised, Cook's D
    features = check_features(x)
    truth, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    n_samples = features.shape[0]
    if truth.shape != (n_samples,) or pred.shape != (n_samples,):
        raise ValueError(f"y_true and y_pred must have shape ({n_samples},), got {truth.shape} and {pred.shape}")
    design = np.hstack([features, np.ones((n_samples, 1))])  # (n, p)
    u, s, _ = np.linalg.svd(design, full_matrices=False)
    rank = int((s > 1e-10 * s.max()).sum())
    if n_samples <= rank:
        raise ValueError(f"residual analysis needs more samples ({n_samples}) than parameters ({rank})")
    leverage = (u[:, :rank] ** 2).sum(axis=1)  # diag(H) = row norms² of an orthonormal basis of col(X1)
    residuals = truth - pred
    variance = float(residuals @ residuals) / (n_samples - rank)  # s²
    spread = np.sqrt(variance * np.clip(1.0 - leverage, 1e-12, None))
    standardized = np.divide(residuals, spread, out=np.zeros_like(residuals), where=spread > 0)
    cooks = standardized**2 * leverage / (rank * np.clip(1.0 - leverage, 1e-12, None))
    return ResidualAnalysis(residuals, leverage, standardized, cooks, rank)
    # END SOLUTION


@dataclass(frozen=True)
class LearningCurve:
    """Scores per training size (rows) and fold (columns)."""

    train_sizes: NDArray[np.int64]
    train_scores: FloatMatrix  # (n_sizes, n_folds)
    test_scores: FloatMatrix


def learning_curve(estimator: Any, x: object, y: object, train_sizes: Sequence[float] = (0.1, 0.325, 0.55, 0.775, 1.0),
                   *, cv: int | Sequence[Fold] = 5, random_state: int | None = 0) -> LearningCurve:
    """Fit on the first ``size`` indices of each training fold; score on that subset and on the test fold.

    ``train_sizes`` are fractions in (0, 1] of the training fold, or absolute counts (ints > 1).
    """
    # BEGIN SOLUTION c03.4: make folds and absolute sizes; fit each prefix, score train and test
    features, target = check_features(x), np.asarray(y)
    folds = make_folds(estimator, target, cv, random_state)
    n_train = min(len(train) for train, _ in folds)
    sizes = []
    for size in train_sizes:
        count = int(size) if isinstance(size, int | np.integer) and size > 1 else int(np.floor(float(size) * n_train))
        if not 1 <= count <= n_train:
            raise ValueError(f"train size {size!r} gives {count} samples; it must give 1..{n_train}")
        sizes.append(count)
    train_scores, test_scores = np.empty((len(sizes), len(folds))), np.empty((len(sizes), len(folds)))
    for j, (train, test) in enumerate(folds):
        for i, count in enumerate(sizes):
            subset = train[:count]
            model = clone(estimator).fit(features[subset], target[subset])
            train_scores[i, j] = model.score(features[subset], target[subset])
            test_scores[i, j] = model.score(features[test], target[test])
    return LearningCurve(np.asarray(sizes, dtype=np.int64), train_scores, test_scores)
    # END SOLUTION
