"""Error analysis: which examples does a model get most wrong, and why?

Aggregate scores say how often a model errs, not where or why. Here we rank the
held-out examples by how wrong the model is on each one and attach a *likely
reason*, from cheap, explainable checks tried in order:

Classification (worst = largest log-loss -log p(true class)):

1. **outlier in feature X**: some feature lies more than ``OUTLIER_Z``
   standard deviations from its training mean: the model extrapolates;
2. **near the decision boundary**: the true class's probability is within
   ``BOUNDARY_MARGIN`` of the predicted one, a coin flip for the model;
3. **label ambiguity**: most of its ``N_NEIGHBOURS`` nearest training examples
   (standardised Euclidean distance) carry the *predicted* label: in feature
   space it sits among the other class, so the classes overlap there or the
   label is noisy; no model on these features can get it right;
4. otherwise **confidently wrong with typical features**: a pattern the model misses.

Regression (worst = largest |standardised residual|, see ``evaluation.py``):

1. **outlier in feature X** (as above) or **high leverage** (hᵢᵢ above
   ``LEVERAGE_FACTOR`` · p / n, the mean leverage times the factor);
2. **extreme target**: y more than ``EXTREME_TARGET_Z`` standard deviations
   from the training mean: least squares shrinks predictions towards the mean;
3. otherwise **over- or under-predicted with typical inputs**: noise, or a missing feature.

These are heuristics, phrased as "likely"; they point a human at the cases
worth a look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from c03_ml_basics.evaluation import ResidualAnalysis
from c03_ml_basics.validation import FloatMatrix, FloatVector

OUTLIER_Z = 3.0  # |z| beyond this is an outlier (0.3 % of a normal distribution)
BOUNDARY_MARGIN = 0.2  # p(predicted) - p(true) below this: near the decision boundary
N_NEIGHBOURS = 5
AMBIGUOUS_SHARE = 0.6  # at least this share of the neighbours carry the predicted label
LEVERAGE_FACTOR = 3.0
EXTREME_TARGET_Z = 2.0


@dataclass(frozen=True)
class WorstExample:
    """One badly predicted example: its row in the evaluated set, what went wrong and the likely reason."""

    index: int
    true: Any
    predicted: Any
    loss: float  # -log p(true) for a classifier, |standardised residual| for a regressor
    reason: str


def standard_scores(x: FloatMatrix, reference: FloatMatrix) -> FloatMatrix:
    """z-scores of the rows of ``x`` against the column means and deviations of ``reference``."""
    # BEGIN SOLUTION c03.4: (x - mean) / std of the reference, a constant column gets std 1
    spread = reference.std(axis=0)
    return np.asarray((x - reference.mean(axis=0)) / np.where(spread > 0, spread, 1.0))
    # END SOLUTION


def outlier_feature(z_row: FloatVector, feature_names: Sequence[str]) -> str | None:
    """'outlier in feature X (z = +4.1)' for the most extreme feature beyond OUTLIER_Z, else None."""
    # BEGIN SOLUTION c03.4: the feature with the largest |z|, if it exceeds OUTLIER_Z
    worst = int(np.argmax(np.abs(z_row)))
    if abs(z_row[worst]) <= OUTLIER_Z:
        return None
    return f"outlier in feature '{feature_names[worst]}' (z = {z_row[worst]:+.1f})"
    # END SOLUTION


def worst_classified(proba: FloatMatrix, y_true: NDArray[Any], classes: NDArray[Any], x: FloatMatrix,
                     x_train: FloatMatrix, y_train: NDArray[Any], feature_names: Sequence[str],
                     k: int = 5) -> list[WorstExample]:
    """The ``k`` held-out examples with the largest log-loss, each with a likely reason.

    Args:
        proba: (n, K) predicted probabilities, column j for label ``classes[j]``.
        y_true: (n,) true labels of the evaluated rows ``x`` (n, d).
        x_train, y_train: the training data (for z-scores and nearest neighbours).
    """
    # BEGIN SOLUTION c03.4: log-loss per row, the k worst, then the reasons in the documented order
    column_of = {label: j for j, label in enumerate(classes.tolist())}
    column = np.array([column_of[label] for label in y_true.tolist()])  # (n,) proba column of each true class
    p_true = proba[np.arange(len(y_true)), column]
    loss = -np.log(np.clip(p_true, 1e-300, None))
    z_test, z_train = standard_scores(x, x_train), standard_scores(x_train, x_train)
    examples = []
    for i in np.argsort(-loss, kind="stable")[:k]:
        predicted = classes[int(np.argmax(proba[i]))]
        reason = outlier_feature(z_test[i], feature_names)
        if reason is None and proba[i].max() - p_true[i] < BOUNDARY_MARGIN:
            reason = f"near the decision boundary (p(true) = {p_true[i]:.2f}, p(predicted) = {proba[i].max():.2f})"
        if reason is None:
            nearest = np.argsort(((z_train - z_test[i]) ** 2).sum(axis=1), kind="stable")[:N_NEIGHBOURS]
            share = float(np.mean(y_train[nearest] == predicted))
            if share >= AMBIGUOUS_SHARE:
                reason = (f"label ambiguity: {round(share * N_NEIGHBOURS)} of its {N_NEIGHBOURS} nearest training "
                          f"examples are labelled '{predicted}'; the classes overlap here or the label is noisy")
            else:
                reason = (f"confidently wrong with typical features (p(true) = {p_true[i]:.2f}): "
                          "a pattern the model misses")
        examples.append(WorstExample(int(i), y_true[i], predicted, float(loss[i]), reason))
    return examples
    # END SOLUTION


def worst_regressed(analysis: ResidualAnalysis, y_true: FloatVector, y_pred: FloatVector, x: FloatMatrix,
                    x_train: FloatMatrix, y_train: FloatVector, feature_names: Sequence[str],
                    k: int = 5, by: str = "residual") -> list[WorstExample]:
    """The ``k`` worst examples, each with a likely reason.

    ``by="residual"`` ranks by |standardised residual| (the worst predicted); ``by="influence"``
    by Cook's distance (the examples that move the fit most). ``loss`` is |standardised residual|.
    """
    # BEGIN SOLUTION c03.4: rank; then outlier/leverage, extreme y, else typical
    if by not in ("residual", "influence"):
        raise ValueError(f"by={by!r} is not supported; choose one of 'residual', 'influence'")
    z_test = standard_scores(x, x_train)
    mean_leverage = analysis.n_params / len(y_true)
    y_mean, y_spread = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
    order = analysis.worst(k) if by == "residual" else np.argsort(-analysis.cooks_distance, kind="stable")[:k]
    examples = []
    for i in order:
        reason = outlier_feature(z_test[i], feature_names)
        if reason is None and analysis.leverage[i] > LEVERAGE_FACTOR * mean_leverage:
            reason = (f"high leverage (h = {analysis.leverage[i]:.3f}, {analysis.leverage[i] / mean_leverage:.1f}x "
                      "the mean): an unusual combination of features")
        target_z = (y_true[i] - y_mean) / y_spread
        if reason is None and abs(target_z) > EXTREME_TARGET_Z:
            reason = (f"extreme target (y = {y_true[i]:.4g}, {target_z:+.1f} SD from the mean): the model shrinks "
                      "predictions towards the mean")
        if reason is None:
            error = y_pred[i] - y_true[i]
            reason = (f"{'over' if error > 0 else 'under'}-predicted by {abs(error):.4g} with typical inputs (every "
                      f"feature within {OUTLIER_Z:g} SD, ordinary leverage): noise, or a feature the model lacks")
        examples.append(WorstExample(int(i), float(y_true[i]), float(y_pred[i]),
                                     float(abs(analysis.standardized[i])), reason))
    return examples
    # END SOLUTION
