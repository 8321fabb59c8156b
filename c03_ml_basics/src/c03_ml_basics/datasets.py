"""The public data sets of this module and one fixed train/test split of each.

All four ship inside the scikit-learn wheel (``sklearn/datasets/data``), so they
load offline, with no download and nothing to verify:

=============  =======  ========  ===============================================
name           samples  features  target
=============  =======  ========  ===============================================
diabetes       442      10        disease progression after one year (regression)
breast_cancer  569      30        malignant (0) / benign (1)
iris           150      4         3 species
wine           178      13        3 cultivars
=============  =======  ========  ===============================================

``holdout_split`` is the one fixed split every test, the report and the README
use: 30 % held out, stratified by class for the classification sets, seed 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from c03_ml_basics.validation import FloatMatrix

TEST_SIZE = 0.3
SPLIT_SEED = 0
LOADERS: dict[str, Callable[..., Any]] = {
    "diabetes": sk_datasets.load_diabetes,
    "breast_cancer": sk_datasets.load_breast_cancer,
    "iris": sk_datasets.load_iris,
    "wine": sk_datasets.load_wine,
}
CLASSIFICATION = ("breast_cancer", "iris", "wine")


@dataclass(frozen=True)
class Dataset:
    """Features, target and names of one data set."""

    name: str
    x: FloatMatrix  # (n_samples, n_features)
    y: NDArray[Any]  # (n_samples,): float targets or int class labels
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]  # class names; empty for regression

    @property
    def is_classification(self) -> bool:
        return self.name in CLASSIFICATION


@dataclass(frozen=True)
class Split:
    """A train/test split of one data set."""

    x_train: FloatMatrix
    x_test: FloatMatrix
    y_train: NDArray[Any]
    y_test: NDArray[Any]
    train_rows: NDArray[np.intp]  # row numbers in the full data set, to name examples
    test_rows: NDArray[np.intp]


def load(name: str) -> Dataset:
    """One of the bundled data sets by name (see the module docstring)."""
    if name not in LOADERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(LOADERS)}")
    bunch = LOADERS[name]()
    target_names = tuple(str(t) for t in bunch.get("target_names", ())) if name in CLASSIFICATION else ()
    return Dataset(name, np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target),
                   tuple(str(f) for f in bunch.feature_names), target_names)


def holdout_split(data: Dataset, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED) -> Split:
    """The fixed split: ``test_size`` held out, stratified for classification, shuffled with ``seed``."""
    stratify = data.y if data.is_classification else None
    rows = np.arange(data.x.shape[0])
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    return Split(data.x[train], data.x[test], data.y[train], data.y[test], train, test)
