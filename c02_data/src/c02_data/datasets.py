"""Real tabular data for the pipeline, made as messy as real exports are (given code: read it, use it).

The data are the tables scikit-learn ships inside its wheel (no download):

* ``wine``: 178 wines, 13 chemical measurements, grouped by ``cultivar`` (3);
* ``breast_cancer``: 569 tumours, 30 cell-nucleus measurements, grouped by
  ``diagnosis`` (malignant or benign);
* ``diabetes``: 442 patients, 9 baseline measurements and the disease
  ``progression`` one year later, grouped by ``sex`` (unscaled values).

:func:`write_raw_csv` writes one of them as a *raw export*: every value is
text, some cells are padded with spaces, some are missing under one of
several spellings (``NA``, ``?``, ``nan``, ...), and some rows lost their group
label. It returns exactly what it broke (:class:`Corruption`), so a test can
redo the cleaning in numpy and compare. :func:`write_large_csv` grows a table
to any size (jittered copies of real rows) for the streaming variant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn import datasets as sk_datasets

from c02_data.validation import FloatArray

# Spellings of "missing" found in the raw exports; parsing maps each to null.
NULL_MARKERS: tuple[str, ...] = ("", "NA", "N/A", "?", "nan")


@dataclass(frozen=True)
class TableSpec:
    """The columns of one table: the grouping label and the numeric features, in order."""

    name: str
    group: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A clean table: ``values`` (n_rows, n_features) float64 and ``groups`` (n_rows,) labels."""

    spec: TableSpec
    values: FloatArray
    groups: NDArray[np.str_]


@dataclass(frozen=True)
class Corruption:
    """What :func:`write_raw_csv` broke: ``missing`` (n_rows, n_features) cells, ``unlabeled`` (n_rows,) rows."""

    missing: NDArray[np.bool_]
    unlabeled: NDArray[np.bool_]


def _wine() -> Table:
    bunch = sk_datasets.load_wine()
    spec = TableSpec("wine", "cultivar", tuple(bunch.feature_names))
    return Table(spec, np.asarray(bunch.data, dtype=np.float64), bunch.target_names[bunch.target].astype(np.str_))


def _breast_cancer() -> Table:
    bunch = sk_datasets.load_breast_cancer()
    spec = TableSpec("breast_cancer", "diagnosis", tuple(bunch.feature_names))
    return Table(spec, np.asarray(bunch.data, dtype=np.float64), bunch.target_names[bunch.target].astype(np.str_))


def _diabetes() -> Table:
    bunch = sk_datasets.load_diabetes(scaled=False)
    names = list(bunch.feature_names)
    sex = names.index("sex")
    features = [n for n in names if n != "sex"]
    values = np.column_stack([np.delete(bunch.data, sex, axis=1), bunch.target]).astype(np.float64)
    groups = np.where(bunch.data[:, sex] == 1, "1", "2").astype(np.str_)
    return Table(TableSpec("diabetes", "sex", (*features, "progression")), values, groups)


LOADERS: dict[str, Callable[[], Table]] = {"wine": _wine, "breast_cancer": _breast_cancer, "diabetes": _diabetes}


def load_table(name: str) -> Table:
    """One of the bundled tables by name (``wine``, ``breast_cancer``, ``diabetes``)."""
    if name not in LOADERS:
        raise ValueError(f"unknown table {name!r}; choose one of {sorted(LOADERS)}")
    return LOADERS[name]()


def write_raw_csv(
    table: Table, path: Path, *, seed: int = 0, missing_fraction: float = 0.05, unlabeled_fraction: float = 0.02
) -> Corruption:
    """Write ``table`` to ``path`` as a messy all-text CSV and return what was broken.

    Values are written with their shortest round-trip representation, so a parser
    recovers every float64 exactly. About 10 % of the cells get surrounding spaces,
    ``missing_fraction`` of the feature cells and ``unlabeled_fraction`` of the group
    labels are replaced by a random spelling of "missing" from :data:`NULL_MARKERS`.
    """
    rng = np.random.default_rng(seed)
    n_rows, n_features = table.values.shape
    missing = np.less(rng.random((n_rows, n_features)), missing_fraction)
    unlabeled = np.less(rng.random(n_rows), unlabeled_fraction)

    def messy(text: pl.Series, broken: NDArray[np.bool_]) -> pl.Series:
        padded = np.less(rng.random(n_rows), 0.1)
        markers = np.asarray(NULL_MARKERS)[rng.integers(0, len(NULL_MARKERS), n_rows)]
        frame = pl.DataFrame({"text": text, "padded": padded, "broken": broken, "marker": markers})
        return frame.select(
            pl.when(pl.col("broken"))
            .then(pl.col("marker"))
            .when(pl.col("padded"))
            .then(pl.concat_str(pl.lit(" "), pl.col("text"), pl.lit("  ")))
            .otherwise(pl.col("text"))
        ).to_series()

    columns = {table.spec.group: messy(pl.Series(table.groups, dtype=pl.String), unlabeled)}
    for j, feature in enumerate(table.spec.features):
        columns[feature] = messy(pl.Series(table.values[:, j]).cast(pl.String), missing[:, j])
    pl.DataFrame(columns).write_csv(path)
    return Corruption(missing=missing, unlabeled=unlabeled)


def grow_table(table: Table, n_rows: int, *, seed: int = 0, jitter: float = 0.01) -> Table:
    """``n_rows`` random rows of ``table``, each value scaled by ``1 + jitter * N(0, 1)``."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, table.values.shape[0], n_rows)
    values = table.values[rows] * (1.0 + jitter * rng.standard_normal((n_rows, table.values.shape[1])))
    return Table(table.spec, values, table.groups[rows])


def write_large_csv(path: Path, target_mib: float, *, name: str = "breast_cancer", seed: int = 0) -> Table:
    """A raw CSV of about ``target_mib`` MiB (at least that much) grown from a bundled table.

    Returns the clean table that was written (before corruption).
    """
    base = load_table(name)
    sample = grow_table(base, 2000, seed=seed)
    write_raw_csv(sample, path, seed=seed)
    bytes_per_row = path.stat().st_size / 2000
    n_rows = int(np.ceil(target_mib * 2**20 / bytes_per_row * 1.02))  # 2 % above the target
    table = grow_table(base, n_rows, seed=seed)
    write_raw_csv(table, path, seed=seed)
    return table
