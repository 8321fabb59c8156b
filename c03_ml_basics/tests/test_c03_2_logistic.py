"""c03.2: logistic regression, binary and multinomial, with L2, by Newton or L-BFGS.

Oracle: ``sklearn.linear_model.LogisticRegression`` with the same C, fitted with a tight tolerance
(tol=1e-12, max_iter=10 000) so that the oracle itself is converged: for the C values below its
coefficients agree with scikit-learn's own ``newton-cholesky`` solver to 4e-6 or better. Features
are standardised (see the ``scaled_splits`` fixture).
"""

from __future__ import annotations

import numpy as np
import pytest
from c03_contracts import (
    assert_follows_sklearn_conventions,
    assert_rejects_bad_data,
    assert_rejects_bad_params,
    assert_unfitted_and_feature_checks,
)
from scipy.optimize import check_grad
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from c03_ml_basics import LogisticClassifier, logistic

pytestmark = pytest.mark.task("c03.2")

C_VALUES = (0.1, 1.0, 10.0)
SOLVERS = ("newton", "lbfgs")
ORACLE = {"tol": 1e-12, "max_iter": 10_000}
# Finite differences in float64 with scipy's default step (1.5e-8) are accurate to ~1e-6 relative.
GRADIENT_RTOL = 1e-5
# Row sums of probabilities: a softmax sums to 1 up to a few ulps.
ROW_SUM_ATOL = 1e-12


def centred(intercept):
    """Multinomial intercepts are defined up to a shared constant: compare them centred."""
    intercept = np.asarray(intercept, dtype=float)
    return intercept - intercept.mean() if intercept.size > 1 else intercept


def max_param_diff(model, oracle):
    return max(np.abs(model.coef_ - oracle.coef_).max(),
               np.abs(centred(model.intercept_) - centred(oracle.intercept_)).max())


def test_binary_matches_sklearn_on_breast_cancer(scaled_splits, metric):
    x, _, y, _ = scaled_splits["breast_cancer"]
    worst = 0.0
    for c in C_VALUES:
        oracle = LogisticRegression(C=c, **ORACLE).fit(x, y)
        for solver in SOLVERS:
            model = LogisticClassifier(C=c, solver=solver, max_iter=1000).fit(x, y)
            assert model.coef_.shape == (1, x.shape[1]) and model.intercept_.shape == (1,)
            worst = max(worst, max_param_diff(model, oracle))
    metric("logistic_binary_coef_max_abs_diff_vs_sklearn", worst)


def test_multinomial_matches_sklearn_on_iris_and_wine(scaled_splits, metric):
    worst = 0.0
    for name in ("iris", "wine"):
        x, _, y, _ = scaled_splits[name]
        for c in C_VALUES:
            oracle = LogisticRegression(C=c, **ORACLE).fit(x, y)
            for solver in SOLVERS:
                model = LogisticClassifier(C=c, solver=solver, max_iter=1000).fit(x, y)
                assert model.coef_.shape == (3, x.shape[1])
                worst = max(worst, max_param_diff(model, oracle))
    metric("logistic_multinomial_coef_max_abs_diff_vs_sklearn", worst)


def test_breast_cancer_held_out_accuracy(splits, metric):
    s = splits["breast_cancer"]
    model = make_pipeline(StandardScaler(), LogisticClassifier(C=1.0)).fit(s.x_train, s.y_train)
    metric("breast_cancer_heldout_accuracy", model.score(s.x_test, s.y_test))


def test_probabilities(scaled_splits, metric):
    row_error = proba_error = 0.0
    for name in ("breast_cancer", "iris", "wine"):
        x, x_test, y, _ = scaled_splits[name]
        model = LogisticClassifier().fit(x, y)
        oracle = LogisticRegression(**ORACLE).fit(x, y)
        proba = model.predict_proba(x_test)
        assert proba.shape == (len(x_test), len(np.unique(y))) and np.all((proba >= 0) & (proba <= 1))
        row_error = max(row_error, np.abs(proba.sum(axis=1) - 1.0).max())
        proba_error = max(proba_error, np.abs(proba - oracle.predict_proba(x_test)).max())
        np.testing.assert_allclose(model.predict_log_proba(x_test), np.log(proba), atol=1e-10)
        np.testing.assert_array_equal(model.predict(x_test), model.classes_[proba.argmax(axis=1)])
    metric("predict_proba_row_sum_max_abs_error", row_error)
    metric("predict_proba_max_abs_diff_vs_sklearn", proba_error)


def test_decision_function_shapes_and_labels(scaled_splits):
    x, x_test, y, _ = scaled_splits["breast_cancer"]
    names = np.array(["malignant", "benign"])[y]
    binary = LogisticClassifier().fit(x, names)
    assert list(binary.classes_) == ["benign", "malignant"]
    scores = binary.decision_function(x_test)
    assert scores.shape == (len(x_test),)
    np.testing.assert_array_equal(binary.predict(x_test), np.where(scores > 0, "malignant", "benign"))
    x, x_test, y, _ = scaled_splits["wine"]
    assert LogisticClassifier().fit(x, y).decision_function(x_test).shape == (len(x_test), 3)


def test_softmax_solution_is_symmetric(scaled_splits):
    """L2 makes the over-parameterised softmax unique: the class coefficients sum to zero."""
    x, _, y, _ = scaled_splits["wine"]
    for solver in SOLVERS:
        model = LogisticClassifier(solver=solver).fit(x, y)
        np.testing.assert_allclose(model.coef_.sum(axis=0), 0.0, atol=1e-6)
        assert abs(model.intercept_.sum()) < 1e-12


def assert_derivatives_match(loss_and_gradient, curvature, w):
    """∇f against finite differences of f, and each Hessian row against finite differences of ∇f."""
    def loss(v):
        return loss_and_gradient(v)[0]

    def gradient(v):
        return loss_and_gradient(v)[1]

    assert check_grad(loss, gradient, w) < GRADIENT_RTOL * max(1.0, np.linalg.norm(gradient(w)))
    full = curvature(w)
    for j in range(len(w)):
        error = check_grad(lambda v, j=j: gradient(v)[j], lambda v, j=j: curvature(v)[j], w)
        assert error < GRADIENT_RTOL * max(1.0, np.linalg.norm(full[j]))


def test_gradients_and_hessians_match_finite_differences():
    rng = np.random.default_rng(0)
    x1 = np.column_stack([rng.standard_normal((30, 3)), np.ones(30)])
    mask = np.array([1.0, 1.0, 1.0, 0.0])  # the intercept is not penalised
    y01 = (rng.random(30) < 0.5).astype(float)
    assert_derivatives_match(lambda v: logistic.binary_loss_and_gradient(v, x1, y01, 0.1, mask),
                             lambda v: logistic.hessian(v, x1, 1, 0.1, mask), rng.standard_normal(4))
    onehot = np.eye(3)[rng.integers(0, 3, 30)]
    masks = np.tile(mask, (3, 1))
    assert_derivatives_match(lambda v: logistic.softmax_loss_and_gradient(v, x1, onehot, 0.1, masks),
                             lambda v: logistic.hessian(v, x1, 3, 0.1, masks.ravel()), rng.standard_normal(12))


def test_newton_converges_in_few_steps_and_max_iter_warns(scaled_splits):
    x, _, y, _ = scaled_splits["breast_cancer"]
    assert LogisticClassifier(solver="newton").fit(x, y).n_iter_ <= 20  # quadratic convergence
    for solver in SOLVERS:
        with pytest.warns(ConvergenceWarning, match="did not reach tol"):
            LogisticClassifier(solver=solver, max_iter=1).fit(x, y)


def test_extreme_scores_do_not_overflow(scaled_splits):
    """Separable data and a huge C drive scores to hundreds: probabilities stay finite and exact."""
    x, _, y, _ = scaled_splits["iris"]
    for keep in ([0, 1], [0, 1, 2]):
        rows = np.isin(y, keep)
        model = LogisticClassifier(C=1e4).fit(x[rows] * 100.0, y[rows])
        proba = model.predict_proba(x[rows] * 100.0)
        assert np.all(np.isfinite(proba)) and np.all(np.isfinite(model.predict_log_proba(x[rows] * 100.0)))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=ROW_SUM_ATOL)


def test_no_intercept_matches_sklearn(scaled_splits):
    x, _, y, _ = scaled_splits["breast_cancer"]
    model = LogisticClassifier(fit_intercept=False).fit(x, y)
    oracle = LogisticRegression(fit_intercept=False, **ORACLE).fit(x, y)
    np.testing.assert_allclose(model.coef_, oracle.coef_, atol=1e-4)
    np.testing.assert_array_equal(model.intercept_, 0.0)


def test_single_class_is_refused():
    with pytest.raises(ValueError, match=r"needs samples of at least 2 classes, but y holds only one class: 'x'"):
        LogisticClassifier().fit(np.ones((4, 2)), ["x"] * 4)


def test_drop_into_pipeline_and_cross_val_score(data):
    d = data["breast_cancer"]
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(make_pipeline(StandardScaler(), LogisticClassifier()), d.x, d.y, cv=folds,
                           error_score="raise")
    theirs = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(**ORACLE)), d.x, d.y, cv=folds,
                             error_score="raise")
    np.testing.assert_array_equal(ours, theirs)


def test_estimator_contract():
    for solver in SOLVERS:
        estimator = LogisticClassifier(solver=solver)
        assert_rejects_bad_data(estimator)
        assert_unfitted_and_feature_checks(estimator)
        assert_follows_sklearn_conventions(estimator)


def test_bad_hyper_parameters():
    assert_rejects_bad_params(LogisticClassifier(), [
        ({"C": 0.0}, ValueError, r"C=0.0 is out of range: it must lie in \(0.0, inf\]"),
        ({"C": -1}, ValueError, r"C=-1 is out of range"),
        ({"C": "big"}, TypeError, r"C must be a real number"),
        ({"solver": "sag"}, ValueError, r"solver='sag' is not supported; choose one of 'newton', 'lbfgs'"),
        ({"tol": 0.0}, ValueError, r"tol=0.0 is out of range"),
        ({"max_iter": 0}, ValueError, r"max_iter=0 is out of range"),
        ({"max_iter": 10.5}, TypeError, r"max_iter must be an int"),
    ])
