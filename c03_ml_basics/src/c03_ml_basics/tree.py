"""CART decision trees: a classifier (gini, entropy) and a regressor (squared error), from scratch.

Growing. Starting from the root (all samples), each node either becomes a leaf
or is split in two by the best "feature <= threshold" test (``splitter.py``),
and each child is grown the same way. A node becomes a leaf, exactly as in
scikit-learn, when

* it is at ``max_depth``, or holds fewer than ``min_samples_split`` samples, or
  fewer than 2·``min_samples_leaf`` (no split could leave both children big enough);
* it is pure (impurity ~ 0), or no valid split exists (all values tied).

Sorting once. The splitter needs the node's samples sorted by every feature.
Sorting every node from scratch costs O(m log m) per feature per node; instead
we argsort the whole data set once, at the root, into an (n, d) index matrix
``order``, and pass each child the rows of ``order`` that belong to it. A
boolean mask "goes left" looked up through ``order`` keeps, in every column,
exactly the left child's samples *in their sorted order* (a stable partition),
so no node ever sorts again: O(m·d) per node.

Float32 features. scikit-learn's trees store X as float32 (half the memory)
and so do we: ``as_float32_values`` rounds X to float32 in ``fit`` and
``apply``, then computes in float64. It matters more than it seems: on data
sets on a grid (diabetes), a test value can sit *exactly* on a midpoint
threshold, and then float64 versus float32 rounding decides its side.

The tree lives in flat arrays (``TreeArrays``), one entry per node: the split
feature and threshold of internal nodes, the child ids (-1 for a leaf) and the
prediction of every node. ``predict`` moves all samples down the tree together,
one level per step, with numpy indexing: no Python loop over samples.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from c03_ml_basics.splitter import (
    CRITERIA_CLASSIFICATION,
    CRITERIA_REGRESSION,
    best_split,
    classification_proxy,
    leaf_value_classification,
    node_impurity,
    regression_proxy,
    sorted_columns,
)
from c03_ml_basics.validation import (
    FloatMatrix,
    check_choice,
    check_classification_data,
    check_features,
    check_fitted,
    check_number,
    check_regression_data,
)

PURE = float(np.finfo(np.float64).eps)  # impurity at or below this is a pure node (scikit-learn's EPSILON)
LEAF = -1  # child id of a leaf
FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_float32_values(features: FloatMatrix) -> FloatMatrix:
    """``features`` rounded to float32 (scikit-learn's tree dtype), returned as float64."""
    # BEGIN SOLUTION c03.3: refuse values float32 cannot hold, round through float32
    if np.abs(features).max() > FLOAT32_MAX:
        raise ValueError(f"X holds values too large for float32 (max |x| = {np.abs(features).max():.3g}): "
                         "trees store features as float32; rescale them")
    return features.astype(np.float32).astype(np.float64)
    # END SOLUTION


@dataclass
class TreeArrays:
    """A fitted tree as parallel arrays indexed by node id (the root is node 0)."""

    feature: list[int] = field(default_factory=list)  # split feature, or LEAF
    threshold: list[float] = field(default_factory=list)  # go left when x[feature] <= threshold
    left: list[int] = field(default_factory=list)
    right: list[int] = field(default_factory=list)
    value: list[NDArray[np.float64]] = field(default_factory=list)  # class frequencies (K,) or mean (1,)
    impurity: list[float] = field(default_factory=list)
    n_samples: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        return len(self.feature)

    def add_node(self, value: NDArray[np.float64], impurity: float, n_samples: int, depth: int) -> int:
        """Append a leaf and return its id; a split found later makes it an internal node."""
        self.feature.append(LEAF)
        self.threshold.append(np.nan)
        self.left.append(LEAF)
        self.right.append(LEAF)
        self.value.append(value)
        self.impurity.append(impurity)
        self.n_samples.append(n_samples)
        self.depth.append(depth)
        return self.node_count - 1


class CARTBase(BaseEstimator, metaclass=ABCMeta):  # type: ignore[misc]
    """What the classifier and the regressor share: hyper-parameters, growing, and walking the tree."""

    _criteria: tuple[str, ...] = ()

    def __init__(self, criterion: str, max_depth: int | None = None, min_samples_split: int = 2,
                 min_samples_leaf: int = 1) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf

    def _check_params(self) -> None:
        # BEGIN SOLUTION c03.3: criterion, max_depth, min_samples_split, min_samples_leaf
        check_choice("criterion", self.criterion, self._criteria)
        check_number("max_depth", self.max_depth, low=1, integer=True, allow_none=True)
        check_number("min_samples_split", self.min_samples_split, low=2, integer=True)
        check_number("min_samples_leaf", self.min_samples_leaf, low=1, integer=True)
        # END SOLUTION

    @abstractmethod
    def _node_summary(self, rows: NDArray[np.intp]) -> tuple[NDArray[np.float64], float]:
        """(value, impurity) of the node holding samples ``rows``; defined by each subclass."""

    @abstractmethod
    def _proxy(self, order: NDArray[np.intp]) -> FloatMatrix:
        """The splitter's proxy for a node whose samples, sorted per feature, are ``order`` (m, d)."""

    def _grow(self, features: FloatMatrix) -> TreeArrays:
        """Grow the tree depth-first on ``features`` (n, d); the targets live on the subclass."""
        # BEGIN SOLUTION c03.3: argsort once; pop a node, stop or split, partition order, push
        max_depth = np.inf if self.max_depth is None else self.max_depth
        tree = TreeArrays()
        goes_left = np.zeros(features.shape[0], dtype=bool)  # scratch mask over all samples
        root_order = np.argsort(features, axis=0, kind="stable")  # (n, d), the only sort
        # Each entry: (the node's rows of order, its depth, its parent's id, whether it is a left child)
        stack: list[tuple[NDArray[np.intp], int, int, bool]] = [(root_order, 0, LEAF, True)]
        while stack:
            order, depth, parent, is_left = stack.pop()
            m = order.shape[0]
            value, impurity = self._node_summary(order[:, 0])
            node = tree.add_node(value, impurity, m, depth)
            if parent != LEAF:
                (tree.left if is_left else tree.right)[parent] = node
            if depth >= max_depth or m < self.min_samples_split or m < 2 * self.min_samples_leaf or impurity <= PURE:
                continue
            values = sorted_columns(features, order)  # (m, d)
            split = best_split(values, self._proxy(order), self.min_samples_leaf)
            if split is None:
                continue
            tree.feature[node], tree.threshold[node] = split.feature, split.threshold
            goes_left[order[: split.n_left, split.feature]] = True
            mask = goes_left[order].T  # (d, m): each row has exactly n_left True entries
            by_feature = order.T  # (d, m)
            left_order = by_feature[mask].reshape(-1, split.n_left).T  # (n_left, d), still sorted per column
            right_order = by_feature[~mask].reshape(-1, m - split.n_left).T
            goes_left[order[:, 0]] = False  # reset the scratch mask for the next node
            stack.append((right_order, depth + 1, node, False))
            stack.append((left_order, depth + 1, node, True))  # popped first: left subtree first
        return tree
        # END SOLUTION

    def _finish_fit(self, tree: TreeArrays, n_features: int) -> None:
        """Freeze the node lists into arrays (fitted attributes end in an underscore)."""
        self.tree_ = tree
        self.n_features_in_ = n_features
        self.node_feature_ = np.asarray(tree.feature, dtype=np.intp)
        self.node_threshold_ = np.asarray(tree.threshold, dtype=np.float64)
        self.node_left_ = np.asarray(tree.left, dtype=np.intp)
        self.node_right_ = np.asarray(tree.right, dtype=np.intp)
        self.node_value_ = np.vstack(tree.value)  # (n_nodes, K) or (n_nodes, 1)

    def apply(self, x: object) -> NDArray[np.intp]:
        """The leaf id reached by every row of ``x``: all rows step down one level at a time."""
        # BEGIN SOLUTION c03.3: check fitted and X; step the rows at internal nodes down, level by level
        check_fitted(self, "node_feature_")
        features = as_float32_values(check_features(x, n_features=self.n_features_in_, owner=type(self).__name__))
        leaf = np.zeros(features.shape[0], dtype=np.intp)  # every row starts at the root
        rows, at = np.arange(features.shape[0]), leaf.copy()  # the rows still moving, and where they are
        while rows.size:
            moving = self.node_left_[at] != LEAF
            rows, at = rows[moving], at[moving]  # rows that reached a leaf stay put
            go_left = features[rows, self.node_feature_[at]] <= self.node_threshold_[at]
            at = np.where(go_left, self.node_left_[at], self.node_right_[at])
            leaf[rows] = at
        return leaf
        # END SOLUTION

    def get_depth(self) -> int:
        """Depth of the deepest leaf (a lone root has depth 0)."""
        check_fitted(self, "tree_")
        return max(self.tree_.depth)

    def get_n_leaves(self) -> int:
        """Number of leaves."""
        check_fitted(self, "node_left_")
        return int((self.node_left_ == LEAF).sum())

    @property
    def feature_importances_(self) -> NDArray[np.float64]:
        """Total weighted impurity decrease per feature, normalised to sum to 1 (all zero for a lone leaf)."""
        # BEGIN SOLUTION c03.3: for each internal node add n·I - n_L·I_L - n_R·I_R to its feature; normalise
        check_fitted(self, "tree_")
        tree, importances = self.tree_, np.zeros(self.n_features_in_)
        for node, feature in enumerate(tree.feature):
            if feature != LEAF:
                left, right = tree.left[node], tree.right[node]
                importances[feature] += (tree.n_samples[node] * tree.impurity[node]
                                         - tree.n_samples[left] * tree.impurity[left]
                                         - tree.n_samples[right] * tree.impurity[right])
        total = importances.sum()
        return importances / total if total > 0 else importances
        # END SOLUTION


class CARTClassifier(ClassifierMixin, CARTBase):  # type: ignore[misc]
    """A CART classification tree; ``criterion`` is "gini" or "entropy"; labels of any sortable type."""

    _criteria = CRITERIA_CLASSIFICATION

    def __init__(self, criterion: str = "gini", max_depth: int | None = None, min_samples_split: int = 2,
                 min_samples_leaf: int = 1) -> None:
        super().__init__(criterion, max_depth, min_samples_split, min_samples_leaf)

    def _node_summary(self, rows: NDArray[np.intp]) -> tuple[NDArray[np.float64], float]:
        # BEGIN SOLUTION c03.3: class frequencies of the node, and the impurity of its class counts
        value = leaf_value_classification(self._labels[rows], len(self.classes_))
        return value, node_impurity(value * len(rows), self.criterion)
        # END SOLUTION

    def _proxy(self, order: NDArray[np.intp]) -> FloatMatrix:
        # BEGIN SOLUTION c03.3: the splitter's classification proxy on the labels in each feature's order
        return classification_proxy(self._labels[order], len(self.classes_), self.criterion)
        # END SOLUTION

    def fit(self, x: object, y: object) -> CARTClassifier:
        """Grow the tree on ``x`` (n_samples, n_features) and labels ``y``; returns self."""
        # BEGIN SOLUTION c03.3: check params and data, grow with the encoded labels, freeze
        self._check_params()
        features, self.classes_, self._labels = check_classification_data(x, y)
        try:
            self._finish_fit(self._grow(as_float32_values(features)), features.shape[1])
        finally:
            del self._labels  # only needed while growing
        return self
        # END SOLUTION

    def predict_proba(self, x: object) -> FloatMatrix:
        """Class frequencies (n_samples, K) of the leaf each row reaches."""
        # BEGIN SOLUTION c03.3: the frequencies stored at the leaf each row reaches (apply checks fitted)
        leaves = self.apply(x)
        return np.asarray(self.node_value_[leaves])
        # END SOLUTION

    def predict(self, x: object) -> NDArray[Any]:
        """The majority class of the leaf each row reaches (ties: the first class in ``classes_``)."""
        # BEGIN SOLUTION c03.3: argmax of the leaf frequencies, mapped back to labels
        proba = self.predict_proba(x)
        return np.asarray(self.classes_[proba.argmax(axis=1)])
        # END SOLUTION


class CARTRegressor(RegressorMixin, CARTBase):  # type: ignore[misc]
    """A CART regression tree with the squared-error criterion (leaf prediction: the mean)."""

    _criteria = CRITERIA_REGRESSION

    def __init__(self, criterion: str = "squared_error", max_depth: int | None = None, min_samples_split: int = 2,
                 min_samples_leaf: int = 1) -> None:
        super().__init__(criterion, max_depth, min_samples_split, min_samples_leaf)

    def _node_summary(self, rows: NDArray[np.intp]) -> tuple[NDArray[np.float64], float]:
        # BEGIN SOLUTION c03.3: the mean of the node's targets, and their variance
        targets = self._targets[rows]
        return np.array([targets.sum() / len(rows)]), node_impurity(targets, self.criterion)
        # END SOLUTION

    def _proxy(self, order: NDArray[np.intp]) -> FloatMatrix:
        return regression_proxy(self._targets[order])  # SOLUTION c03.3: targets in each feature's order

    def fit(self, x: object, y: object) -> CARTRegressor:
        """Grow the tree on ``x`` (n_samples, n_features) and targets ``y``; returns self."""
        # BEGIN SOLUTION c03.3: check params and data, keep the targets while growing, freeze the tree
        self._check_params()
        features, self._targets = check_regression_data(x, y)
        try:
            self._finish_fit(self._grow(as_float32_values(features)), features.shape[1])
        finally:
            del self._targets
        return self
        # END SOLUTION

    def predict(self, x: object) -> NDArray[np.float64]:
        """The mean target of the leaf each row reaches, (n_samples,)."""
        # BEGIN SOLUTION c03.3: the mean stored at the leaf each row reaches (apply checks fitted)
        leaves = self.apply(x)
        return np.asarray(self.node_value_[leaves, 0])
        # END SOLUTION
