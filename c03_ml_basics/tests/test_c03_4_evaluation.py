"""c03.4: folds, cross-validation, confusion matrix, per-class scores, residuals and learning curves.

Oracles: ``sklearn.metrics`` (confusion_matrix, precision_recall_fscore_support with
zero_division=0, accuracy_score, r2_score) and ``sklearn.model_selection`` (cross_val_score,
learning_curve) given the same folds; Cook's distance against its definition by refitting
without each sample.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.model_selection import learning_curve as sk_learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from c03_ml_basics import (
    CARTClassifier,
    LeastSquaresRegressor,
    LogisticClassifier,
    RidgeRegressor,
    accuracy,
    confusion_matrix,
    cross_val_scores,
    k_fold,
    learning_curve,
    precision_recall_f1,
    r2,
    residual_analysis,
    stratified_k_fold,
)

pytestmark = pytest.mark.task("c03.4")

EXACT = 1e-12  # the same arithmetic on the same folds: agreement to rounding
LABELS = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=60)


def assert_partition(folds, n_samples):
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(n_samples))  # every sample tested exactly once
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == n_samples
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.filterwarnings("ignore:the least populated class:UserWarning")  # tiny classes are part of the test
@settings(deadline=None, report_multiple_bugs=False, max_examples=40, derandomize=True, database=None)
@given(labels=st.lists(st.integers(0, 3), min_size=6, max_size=80), n_splits=st.integers(2, 6),
       shuffle=st.booleans(), seed=st.integers(0, 1000))
def test_stratified_folds_partition_and_balance(labels, n_splits, shuffle, seed):
    y = np.array(labels)
    if n_splits > len(y):
        return
    folds = stratified_k_fold(y, n_splits, shuffle=shuffle, random_state=seed)
    assert len(folds) == n_splits
    assert_partition(folds, len(y))
    for label in np.unique(y):
        per_fold = [np.sum(y[test] == label) for _, test in folds]
        assert max(per_fold) - min(per_fold) <= 1  # each class dealt evenly
    again = stratified_k_fold(y, n_splits, shuffle=shuffle, random_state=seed)
    for (a, b), (c, d) in zip(folds, again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_plain_k_fold_and_fold_errors():
    folds = k_fold(10, 3, shuffle=False)
    assert [list(test) for _, test in folds] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert_partition(k_fold(23, 5, random_state=1), 23)
    with pytest.raises(ValueError, match=r"n_splits=1 is out of range"):
        k_fold(10, 1)
    with pytest.raises(ValueError, match=r"n_splits=11 is out of range"):
        stratified_k_fold(np.zeros(10), 11)
    with pytest.raises(ValueError, match=r"y must be 1-D"):
        stratified_k_fold(np.zeros((10, 2)), 2)
    with pytest.warns(UserWarning, match=r"least populated class \('b'\) has only 1 members"):
        stratified_k_fold(np.array(["a"] * 9 + ["b"]), 3)


def test_cross_val_scores_equal_sklearn_on_the_same_folds(data, metric):
    worst = 0.0
    cases = [  # (data set, model, folds): stratified for classifiers, plain for regressors
        ("breast_cancer", make_pipeline(StandardScaler(), LogisticClassifier()), 5),
        ("wine", CARTClassifier(max_depth=3), 5),
        ("diabetes", RidgeRegressor(alpha=0.5), 5),
        ("diabetes", LeastSquaresRegressor(), 4),
    ]
    for name, model, n_splits in cases:
        d = data[name]
        folds = (stratified_k_fold(d.y, n_splits, random_state=0) if d.is_classification
                 else k_fold(len(d.y), n_splits, random_state=0))
        ours = cross_val_scores(model, d.x, d.y, cv=folds)
        np.testing.assert_array_equal(ours, cross_val_scores(model, d.x, d.y, cv=len(folds), random_state=0))
        worst = max(worst, np.abs(ours - cross_val_score(model, d.x, d.y, cv=folds, error_score="raise")).max())
    metric("cv_score_max_abs_diff_vs_sklearn", worst)


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # scikit-learn's, on 1-label draws
@settings(deadline=None, report_multiple_bugs=False, max_examples=40, derandomize=True, database=None)
@given(truth=LABELS, more=st.data())
def test_confusion_matrix_and_scores_equal_sklearn(truth, more):
    pred = more.draw(st.lists(st.sampled_from(["a", "b", "c", "e"]), min_size=len(truth), max_size=len(truth)))
    expected_labels = sorted(set(truth) | set(pred))
    np.testing.assert_array_equal(confusion_matrix(truth, pred), skm.confusion_matrix(truth, pred))
    ours = precision_recall_f1(truth, pred)
    assert list(ours.labels) == expected_labels
    theirs = skm.precision_recall_fscore_support(truth, pred, labels=expected_labels, zero_division=0)
    for got, want in zip((ours.precision, ours.recall, ours.f1, ours.support), theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=EXACT)
    assert accuracy(truth, pred) == pytest.approx(skm.accuracy_score(truth, pred), abs=EXACT)


def test_metrics_on_real_predictions(splits, metric):
    s = splits["wine"]
    pred = CARTClassifier(max_depth=2).fit(s.x_train, s.y_train).predict(s.x_test)
    matrix_gap = np.abs(confusion_matrix(s.y_test, pred) - skm.confusion_matrix(s.y_test, pred)).max()
    subset = [2, 0]  # labels restrict and order the rows and columns
    matrix_gap = max(matrix_gap, np.abs(confusion_matrix(s.y_test, pred, subset)
                                        - skm.confusion_matrix(s.y_test, pred, labels=subset)).max())
    metric("confusion_matrix_max_abs_diff_vs_sklearn", matrix_gap)
    ours = precision_recall_f1(s.y_test, pred)
    theirs = skm.precision_recall_fscore_support(s.y_test, pred, zero_division=0)
    gap = max(np.abs(np.asarray(a, dtype=float) - b).max()
              for a, b in zip((ours.precision, ours.recall, ours.f1, ours.support), theirs, strict=True))
    metric("per_class_prf_max_abs_diff_vs_sklearn", gap)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([1, 2], [1])


def test_r2_equals_sklearn():
    rng = np.random.default_rng(0)
    y, pred = rng.standard_normal(50), rng.standard_normal(50)
    assert r2(y, pred) == pytest.approx(skm.r2_score(y, pred), abs=EXACT)
    assert r2([3.0, 3.0], [3.0, 3.0]) == 1.0 and r2([3.0, 3.0], [3.0, 4.0]) == 0.0


def test_residual_analysis(splits, metric):
    s = splits["diabetes"]
    x, y = s.x_train[:60], s.y_train[:60]
    pred = LeastSquaresRegressor().fit(x, y).predict(x)
    result = residual_analysis(x, y, pred)
    design = np.column_stack([x, np.ones(len(x))])
    hat = design @ np.linalg.solve(design.T @ design, design.T)  # the definition, fine at this size
    np.testing.assert_allclose(result.leverage, np.diag(hat), atol=1e-12)
    assert result.leverage.sum() == pytest.approx(result.n_params) and result.n_params == 11
    np.testing.assert_allclose(result.residuals, y - pred)
    # Cook's distance by its definition: how far all fitted values move when sample i is left out.
    s2 = result.residuals @ result.residuals / (len(y) - result.n_params)
    worst = 0.0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        moved = LinearRegression().fit(x[keep], y[keep]).predict(x) - pred
        definition = moved @ moved / (result.n_params * s2)
        worst = max(worst, abs(result.cooks_distance[i] - definition) / definition)
    metric("cooks_distance_max_rel_error_vs_refit", worst)
    assert list(result.worst(3)) == list(np.argsort(-np.abs(result.standardized))[:3])
    with pytest.raises(ValueError, match="more samples"):
        residual_analysis(x[:5], y[:5], pred[:5])
    with pytest.raises(ValueError, match=r"must have shape \(60,\)"):
        residual_analysis(x, y[:-1], pred)


def test_learning_curve_equals_sklearn(data, metric):
    d = data["breast_cancer"]
    model = make_pipeline(StandardScaler(), LogisticClassifier())
    folds = stratified_k_fold(d.y, 3, random_state=0)
    ours = learning_curve(model, d.x, d.y, (0.2, 0.6, 1.0), cv=folds)
    sizes, train, test = sk_learning_curve(model, d.x, d.y, train_sizes=ours.train_sizes, cv=folds,
                                           error_score="raise")
    np.testing.assert_array_equal(ours.train_sizes, sizes)
    assert ours.train_scores.shape == (3, 3)
    gap = max(np.abs(ours.train_scores - train).max(), np.abs(ours.test_scores - test).max())
    metric("learning_curve_max_abs_diff_vs_sklearn", gap)
    reference = make_pipeline(StandardScaler(), LogisticRegression())
    absolute = learning_curve(reference, d.x, d.y, [50, 100], cv=3, random_state=0)
    np.testing.assert_array_equal(absolute.train_sizes, [50, 100])
    with pytest.raises(ValueError, match=r"train size 0\.0001 gives 0 samples"):
        learning_curve(reference, d.x, d.y, [0.0001], cv=3)
