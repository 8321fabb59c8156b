"""c03.3: CART trees (gini, entropy, squared error) against scikit-learn's DecisionTree*.

Oracles: ``DecisionTreeClassifier`` / ``DecisionTreeRegressor`` with the same hyper-parameters and
``random_state=0``. Exact ties between equally good splits are broken differently (we: lowest
feature index; scikit-learn: its random feature order), so equally good trees can differ. Held-out
scores are therefore compared as 5-fold cross-validation means (every sample held out once) and,
on the fixed split, against the range scikit-learn's own score spans over its random_state;
exact equality of predictions is demanded where no tie is in play: where scikit-learn's own
predictions do not change with its random_state.
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
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from c03_ml_basics import CARTClassifier, CARTRegressor

pytestmark = pytest.mark.task("c03.3")

CLASSIFIER_CONFIGS = [
    {},  # fully grown, gini
    {"criterion": "entropy"},
    {"max_depth": 3},
    {"min_samples_leaf": 5},
    {"criterion": "entropy", "min_samples_split": 10},
]
# Fully grown regression trees are left out of the R² comparison: their single-sample leaves make
# ties the rule, and scikit-learn's own held-out R² on diabetes moves by 0.11 over random_state 0-9.
REGRESSOR_CONFIGS = [
    {"max_depth": 3},
    {"max_depth": 5},
    {"min_samples_leaf": 5},
    {"min_samples_split": 20},
    {"max_depth": 8, "min_samples_leaf": 3},
]
SHALLOW_CONFIGS = [{"max_depth": 2}, {"min_samples_leaf": 10}, {"max_depth": 4, "min_samples_leaf": 8}]
SKLEARN_SEEDS = range(5)  # a result that is the same for all of them involves no tie
RANGE_SEEDS = range(10)  # the spread of scikit-learn's held-out score over its random_state
LEAF_MEAN_RTOL = 1e-12  # a leaf mean summed in another order differs in the last bits
FOLDS = 5


def test_classifier_cv_accuracy_matches_sklearn(data, metric):
    gap = 0.0
    for name in ("iris", "wine", "breast_cancer"):
        d = data[name]
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
        for config in CLASSIFIER_CONFIGS:
            ours = cross_val_score(CARTClassifier(**config), d.x, d.y, cv=folds, error_score="raise").mean()
            oracle = DecisionTreeClassifier(random_state=0, **config)
            theirs = cross_val_score(oracle, d.x, d.y, cv=folds, error_score="raise").mean()
            gap = max(gap, abs(ours - theirs))
    metric("tree_clf_cv_accuracy_max_gap_vs_sklearn", gap)


def test_regressor_cv_r2_matches_sklearn(data, metric):
    d = data["diabetes"]
    folds = KFold(FOLDS, shuffle=True, random_state=0)
    gap = 0.0
    for config in REGRESSOR_CONFIGS:
        ours = cross_val_score(CARTRegressor(**config), d.x, d.y, cv=folds, error_score="raise").mean()
        oracle = DecisionTreeRegressor(random_state=0, **config)
        theirs = cross_val_score(oracle, d.x, d.y, cv=folds, error_score="raise").mean()
        gap = max(gap, abs(ours - theirs))
    metric("tree_reg_cv_r2_max_gap_vs_sklearn", gap)


def test_fixed_split_scores_lie_within_sklearns_own_range(splits, metric):
    """On the fixed 30 % split, our held-out score against the range scikit-learn's spans over its seeds.

    Ties make scikit-learn's held-out score depend on its random_state (wine, max_depth=3: 0.85 to
    0.96); an equally correct tree may land anywhere in that range, so we measure the distance from
    our score to the range (0 inside it).
    """
    worst = 0.0
    problems = [(name, CARTClassifier, DecisionTreeClassifier, CLASSIFIER_CONFIGS)
                for name in ("iris", "wine", "breast_cancer")]
    problems.append(("diabetes", CARTRegressor, DecisionTreeRegressor, [{}, *REGRESSOR_CONFIGS]))  # fully grown too
    for name, ours_type, theirs_type, configs in problems:
        s = splits[name]
        for config in configs:
            theirs = [theirs_type(random_state=seed, **config).fit(s.x_train, s.y_train).score(s.x_test, s.y_test)
                      for seed in RANGE_SEEDS]
            ours = ours_type(**config).fit(s.x_train, s.y_train).score(s.x_test, s.y_test)
            worst = max(worst, min(theirs) - ours, ours - max(theirs))
    metric("tree_fixed_split_gap_to_sklearn_seed_range", max(worst, 0.0))


def same(a, b):
    """Equal labels, or leaf means equal up to summation order (a few ulps)."""
    return a == b if a.dtype.kind in "iub" else np.isclose(a, b, rtol=LEAF_MEAN_RTOL, atol=0)


def test_identical_predictions_where_no_tie_is_in_play(splits, metric):
    agree, total, cases = 0, 0, 0
    problems = [(name, CARTClassifier, DecisionTreeClassifier, CLASSIFIER_CONFIGS + SHALLOW_CONFIGS)
                for name in ("iris", "wine", "breast_cancer")]
    problems.append(("diabetes", CARTRegressor, DecisionTreeRegressor, REGRESSOR_CONFIGS + SHALLOW_CONFIGS))
    for name, ours_type, theirs_type, configs in problems:
        s = splits[name]
        for config in configs:
            theirs = [theirs_type(random_state=seed, **config).fit(s.x_train, s.y_train).predict(s.x_test)
                      for seed in SKLEARN_SEEDS]
            if any(not np.all(same(theirs[0], other)) for other in theirs[1:]):
                continue  # scikit-learn's answer depends on how it breaks a tie
            ours = ours_type(**config).fit(s.x_train, s.y_train).predict(s.x_test)
            agree += int(np.sum(same(ours, theirs[0])))
            total += len(ours)
            cases += 1
    assert cases >= 10, "too few tie-free cases to be a test"
    metric("tree_tie_free_prediction_agreement", agree / total)


def test_thresholds_are_scikit_learns_bit_for_bit(splits):
    """Float32 features and midpoint thresholds: the tie-free diabetes tree equals scikit-learn's exactly."""
    s = splits["diabetes"]
    ours = CARTRegressor(max_depth=3).fit(s.x_train, s.y_train)
    theirs = DecisionTreeRegressor(max_depth=3, random_state=0).fit(s.x_train, s.y_train).tree_
    internal = theirs.children_left >= 0
    assert ours.tree_.node_count == theirs.node_count
    np.testing.assert_array_equal(np.sort(ours.node_threshold_[ours.node_left_ >= 0]),
                                  np.sort(theirs.threshold[internal]))
    np.testing.assert_allclose(np.sort(ours.node_value_[:, 0]), np.sort(theirs.value[:, 0, 0]), rtol=1e-12)


def test_ties_go_to_the_lowest_feature_index(data):
    d = data["iris"]
    # Petal length (2) and petal width (3) both split off setosa perfectly at the root.
    assert CARTClassifier().fit(d.x, d.y).node_feature_[0] == 2
    reordered = CARTClassifier().fit(d.x[:, [3, 2, 1, 0]], d.y)
    assert reordered.node_feature_[0] == 0  # petal width, now feature 0
    twin = CARTClassifier().fit(np.column_stack([d.x[:, 3], d.x[:, 3]]), d.y)
    assert set(twin.node_feature_[twin.node_feature_ >= 0]) == {0}  # identical columns: always the first


@pytest.mark.parametrize("config", [{"max_depth": 2}, {"min_samples_leaf": 7}, {"min_samples_split": 30}],
                         ids=str)
def test_hyper_parameters_are_respected(data, config):
    d = data["breast_cancer"]
    model = CARTClassifier(**config).fit(d.x, d.y)
    tree = model.tree_
    is_leaf = model.node_left_ < 0
    n_samples = np.asarray(tree.n_samples)
    assert model.get_depth() <= config.get("max_depth", 10**6)
    assert n_samples[is_leaf].min() >= config.get("min_samples_leaf", 1)
    assert n_samples[~is_leaf].min() >= config.get("min_samples_split", 2)
    assert model.get_n_leaves() == is_leaf.sum() == (tree.node_count + 1) // 2
    leaves = model.apply(d.x)
    assert np.all(is_leaf[leaves])
    np.testing.assert_array_equal(np.bincount(leaves, minlength=tree.node_count)[is_leaf], n_samples[is_leaf])


def test_fully_grown_trees_fit_their_training_data(data):
    for name in ("iris", "wine", "breast_cancer"):
        d = data[name]
        distinct = np.unique(d.x, axis=0, return_index=True)[1]  # duplicated rows may carry different labels
        model = CARTClassifier().fit(d.x[distinct], d.y[distinct])
        assert model.score(d.x[distinct], d.y[distinct]) == 1.0
    d = data["diabetes"]
    assert CARTRegressor().fit(d.x, d.y).score(d.x, d.y) == pytest.approx(1.0)


def test_predict_proba_is_the_leaf_class_frequency(splits):
    s = splits["wine"]
    model = CARTClassifier(max_depth=2).fit(s.x_train, s.y_train)
    proba = model.predict_proba(s.x_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    train_leaves, test_leaves = model.apply(s.x_train), model.apply(s.x_test)
    for leaf in np.unique(test_leaves):
        expected = np.bincount(s.y_train[train_leaves == leaf], minlength=3) / np.sum(train_leaves == leaf)
        np.testing.assert_allclose(proba[test_leaves == leaf], np.tile(expected, (np.sum(test_leaves == leaf), 1)))
    np.testing.assert_array_equal(model.predict(s.x_test), proba.argmax(axis=1))
    oracle = DecisionTreeClassifier(max_depth=2, random_state=0).fit(s.x_train, s.y_train)
    np.testing.assert_allclose(proba, oracle.predict_proba(s.x_test), atol=1e-12)


def test_feature_importances(data, splits):
    s = splits["diabetes"]  # a tie-free tree: the same as scikit-learn's (see above)
    model = CARTRegressor(max_depth=3).fit(s.x_train, s.y_train)
    oracle = DecisionTreeRegressor(max_depth=3, random_state=0).fit(s.x_train, s.y_train)
    np.testing.assert_allclose(model.feature_importances_, oracle.feature_importances_, atol=1e-12)
    d = data["breast_cancer"]
    importances = CARTClassifier(min_samples_leaf=5).fit(d.x, d.y).feature_importances_
    assert np.all(importances >= 0) and importances.sum() == pytest.approx(1.0)
    stump = CARTClassifier().fit(d.x, np.zeros(len(d.y), dtype=int))  # one class: a lone leaf
    assert stump.get_depth() == 0 and stump.get_n_leaves() == 1
    np.testing.assert_array_equal(stump.feature_importances_, 0.0)
    np.testing.assert_array_equal(stump.predict(d.x), 0)


def test_labels_of_any_type_and_float32_rounding():
    x = np.array([[0.0], [1.0], [1.0 + 1e-9], [2.0]])  # 1 and 1 + 1e-9 are the same float32
    y = np.array(["low", "low", "high", "high"])
    model = CARTClassifier().fit(x, y)
    assert list(model.classes_) == ["high", "low"]
    assert np.all(model.node_threshold_[model.node_left_ >= 0] != 1.0 + 5e-10)  # no split between equal values
    with pytest.raises(ValueError, match="too large for float32"):
        CARTRegressor().fit([[1e39], [0.0]], [1.0, 2.0])


def test_drop_into_pipeline_and_cross_val_score(data):
    d = data["wine"]
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), CARTClassifier(max_depth=3))
    scores = cross_val_score(model, d.x, d.y, cv=folds, error_score="raise")
    assert scores.shape == (3,) and np.all(scores > 0.7)


@pytest.mark.parametrize("estimator", [CARTClassifier(), CARTRegressor()], ids=lambda e: type(e).__name__)
def test_estimator_contract(estimator):
    assert_rejects_bad_data(estimator)
    assert_unfitted_and_feature_checks(estimator)
    assert_follows_sklearn_conventions(estimator)


def test_bad_hyper_parameters():
    common = [
        ({"max_depth": 0}, ValueError, r"max_depth=0 is out of range: it must lie in \[1, inf\]"),
        ({"max_depth": 2.5}, TypeError, r"max_depth must be an int or None, got 2.5"),
        ({"min_samples_split": 1}, ValueError, r"min_samples_split=1 is out of range: it must lie in \[2, inf\]"),
        ({"min_samples_split": 0.5}, TypeError, r"min_samples_split must be an int, got 0.5"),
        ({"min_samples_leaf": 0}, ValueError, r"min_samples_leaf=0 is out of range"),
    ]
    assert_rejects_bad_params(CARTClassifier(), [
        *common, ({"criterion": "squared_error"}, ValueError, r"choose one of 'gini', 'entropy'")])
    assert_rejects_bad_params(CARTRegressor(), [
        *common, ({"criterion": "gini"}, ValueError, r"criterion='gini' is not supported; choose one of "
                                                     r"'squared_error'")])
