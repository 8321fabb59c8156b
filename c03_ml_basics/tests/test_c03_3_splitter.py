"""c03.3: the vectorised split search against a brute-force search, and its cost in Python lines.

Oracle: a plain Python search that tries every feature and every threshold between two distinct
values and computes the children's impurities from scratch with ``splitter.node_impurity``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c03_ml_basics import splitter

pytestmark = pytest.mark.task("c03.3")

# The proxies come from cumulative sums, the brute force from fresh sums: both are exact for class
# counts and agree to rounding (~1e-12 relative) for real-valued targets.
IMPURITY_RTOL = 1e-9


def brute_force(values, targets, criterion, n_classes, min_samples_leaf):
    """(feature, n_left, children impurity n_L I_L + n_R I_R) of the best split, first best in feature order."""
    best = None
    m, d = values.shape
    for f in range(d):
        order = np.argsort(values[:, f], kind="stable")
        xs, ts = values[order, f], targets[order]
        for i in range(min_samples_leaf, m - min_samples_leaf + 1):
            if not xs[i] > xs[i - 1] + splitter.FEATURE_THRESHOLD:
                continue
            cost = 0.0
            for part in (ts[:i], ts[i:]):
                stats = part if criterion == "squared_error" else np.bincount(part, minlength=n_classes).astype(float)
                cost += len(part) * splitter.node_impurity(stats, criterion)
            if best is None or cost < best[2] - IMPURITY_RTOL * max(1.0, abs(cost)):
                best = (f, i, cost)
    return best


def our_split(values, targets, criterion, n_classes, min_samples_leaf):
    order = np.argsort(values, axis=0, kind="stable")
    sorted_targets = targets[order]
    proxy = (splitter.regression_proxy(sorted_targets) if criterion == "squared_error"
             else splitter.classification_proxy(sorted_targets, n_classes, criterion))
    return splitter.best_split(splitter.sorted_columns(values, order), proxy, min_samples_leaf), order


def children_cost(values, targets, split, order, criterion, n_classes):
    left = order[: split.n_left, split.feature]
    goes_left = np.zeros(len(targets), dtype=bool)
    goes_left[left] = True
    np.testing.assert_array_equal(goes_left, values[:, split.feature] <= split.threshold)  # threshold agrees
    cost = 0.0
    for part in (targets[goes_left], targets[~goes_left]):
        stats = part if criterion == "squared_error" else np.bincount(part, minlength=n_classes).astype(float)
        cost += len(part) * splitter.node_impurity(stats, criterion)
    return cost


@settings(deadline=None, report_multiple_bugs=False, max_examples=60, derandomize=True, database=None)
@given(m=st.integers(2, 14), d=st.integers(1, 3), n_classes=st.integers(1, 3), levels=st.integers(2, 6),
       criterion=st.sampled_from(["gini", "entropy", "squared_error"]), min_samples_leaf=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_best_split_equals_brute_force(m, d, n_classes, levels, criterion, min_samples_leaf, seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, levels, (m, d)).astype(float)  # few levels: many ties between values
    targets = np.round(rng.standard_normal(m), 1) if criterion == "squared_error" else rng.integers(0, n_classes, m)
    expected = brute_force(values, targets, criterion, n_classes, min_samples_leaf)
    split, order = our_split(values, targets, criterion, n_classes, min_samples_leaf)
    if expected is None:
        assert split is None
        return
    assert split is not None
    cost = children_cost(values, targets, split, order, criterion, n_classes)
    assert cost == pytest.approx(expected[2], rel=IMPURITY_RTOL, abs=1e-12)
    if criterion != "squared_error":  # integer counts: exact ties, so the same first winner
        assert (split.feature, split.n_left) == expected[:2]


def test_node_impurity():
    assert splitter.node_impurity(np.array([5.0, 5.0]), "gini") == pytest.approx(0.5)
    assert splitter.node_impurity(np.array([5.0, 5.0]), "entropy") == pytest.approx(1.0)
    assert splitter.node_impurity(np.array([4.0, 0.0, 0.0]), "gini") == 0.0
    assert splitter.node_impurity(np.array([4.0, 0.0, 0.0]), "entropy") == 0.0
    assert splitter.node_impurity(np.array([1.0, 1.0, 1.0, 1.0]), "entropy") == pytest.approx(2.0)
    assert splitter.node_impurity(np.array([1.0, 3.0]), "squared_error") == pytest.approx(1.0)


def test_no_valid_split():
    values = np.ones((6, 2))
    assert our_split(values, np.arange(6) % 2, "gini", 2, 1)[0] is None  # every value tied
    values = np.arange(6.0)[:, None]
    assert our_split(values, np.arange(6) % 2, "gini", 2, 4)[0] is None  # children would be too small


def test_threshold_is_the_midpoint_unless_rounding_pushes_it_up():
    values = np.array([[1.0], [2.0], [4.0]])
    split, _ = our_split(values, np.array([0, 1, 1]), "gini", 2, 1)
    assert split.threshold == 1.5
    low = 1e12
    while True:  # two neighbouring floats whose rounded midpoint is the upper one
        high = np.nextafter(low, np.inf)
        if low / 2 + high / 2 == high:
            break
        low = high
    split, _ = our_split(np.array([[low], [high]]), np.array([0, 1]), "gini", 2, 1)
    assert split.threshold == low  # x <= threshold must still send `low` left and `high` right


def python_lines_run(fn):
    """How many lines of this package's source run inside ``fn()`` (numpy's C loops count as none)."""
    package = str(Path(splitter.__file__).parent)
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line" and frame.f_code.co_filename.startswith(package):
            count += 1
        return tracer

    previous = sys.gettrace()  # coverage's tracer, when it runs: put it back afterwards
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


@pytest.mark.parametrize("criterion", ["gini", "entropy", "squared_error"])
def test_split_search_has_no_python_loop_over_thresholds(criterion):
    """10 or 10 000 samples: the same number of Python lines run. The loops are numpy's."""
    rng = np.random.default_rng(0)
    counts = []
    for m in (10, 10_000):
        values = rng.standard_normal((m, 3))
        targets = rng.standard_normal(m) if criterion == "squared_error" else rng.integers(0, 3, m)
        counts.append(python_lines_run(lambda v=values, t=targets: our_split(v, t, criterion, 3, 1)))
    assert counts[0] == counts[1]
