"""c03.4 (hidden): edge cases of the folds, the metrics and the residual analysis."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from c03_ml_basics import (
    CARTClassifier,
    confusion_matrix,
    cross_val_scores,
    k_fold,
    precision_recall_f1,
    residual_analysis,
    stratified_k_fold,
)

pytestmark = pytest.mark.task("c03.4")


def test_leave_one_out_and_string_strata():
    folds = k_fold(7, 7, shuffle=False)
    assert [list(test) for _, test in folds] == [[i] for i in range(7)]
    y = np.array(["x", "y", "z"] * 10)
    for train, test in stratified_k_fold(y, 10, random_state=3):
        assert sorted(y[test]) == ["x", "y", "z"] and len(train) == 27


def test_labels_absent_from_the_data():
    truth, pred = [1, 1, 2], [1, 2, 2]
    np.testing.assert_array_equal(confusion_matrix(truth, pred, [0, 1, 2]),
                                  skm.confusion_matrix(truth, pred, labels=[0, 1, 2]))
    ours = precision_recall_f1(truth, pred, [0, 2])
    theirs = skm.precision_recall_fscore_support(truth, pred, labels=[0, 2], zero_division=0)
    for got, want in zip((ours.precision, ours.recall, ours.f1, ours.support), theirs, strict=True):
        np.testing.assert_allclose(got, want)


def test_classifier_cross_validation_is_stratified(data):
    d = data["iris"]
    scores = cross_val_scores(CARTClassifier(max_depth=2), d.x, d.y, cv=5, random_state=4)
    folds = stratified_k_fold(d.y, 5, random_state=4)
    expected = [CARTClassifier(max_depth=2).fit(d.x[tr], d.y[tr]).score(d.x[te], d.y[te]) for tr, te in folds]
    np.testing.assert_array_equal(scores, expected)


def test_residual_analysis_with_collinear_features():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((40, 2))
    x = np.column_stack([base, base.sum(axis=1)])  # rank 2 (+ intercept = 3)
    y = base @ [1.0, -1.0] + rng.standard_normal(40)
    result = residual_analysis(x, y, np.zeros(40))
    assert result.n_params == 3
    assert result.leverage.sum() == pytest.approx(3.0)
