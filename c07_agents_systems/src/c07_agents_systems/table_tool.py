"""The table tool: questions over registered polars data frames (scikit-learn's bundled data sets).

An agent does not write SQL or Python here: it fills a small structured query,

    {"dataset": "iris", "column": "petal length (cm)", "agg": "mean",
     "where": {"column": "target", "equals": "setosa"}}

which the tool checks against the registered frames (naming any unknown data
set, column, aggregate or class) and answers with one polars expression. The
frames are built from the arrays scikit-learn ships inside its wheel (no
download, no pandas): every feature column keeps its scikit-learn name and a
``target`` column holds the class *name* ("setosa"), or the regression target.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from sklearn import datasets

AGGREGATES: tuple[str, ...] = ("mean", "median", "min", "max", "sum", "std", "count")
BUNDLED: tuple[str, ...] = ("iris", "wine", "breast_cancer", "diabetes")


class TableError(ValueError):
    """A query the registered frames cannot answer (unknown data set, column, aggregate or class)."""


def bundled_frame(name: str) -> pl.DataFrame:
    """One of scikit-learn's bundled data sets as a polars frame (features + ``target``)."""
    # BEGIN SOLUTION c07.2: load the Bunch; feature columns by name; class names (or the numeric target)
    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine,
               "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}
    if name not in loaders:
        raise TableError(f"no bundled data set {name!r} (known: {', '.join(BUNDLED)})")
    bunch = loaders[name]()
    data = np.asarray(bunch.data, dtype=np.float64)  # (N, F)
    columns: dict[str, Any] = {str(col): data[:, j] for j, col in enumerate(bunch.feature_names)}
    target = np.asarray(bunch.target)
    names = getattr(bunch, "target_names", None)
    columns["target"] = [str(names[t]) for t in target] if names is not None else target.astype(np.float64)
    return pl.DataFrame(columns)
    # END SOLUTION


class TableTool:
    """Registered data frames and the structured queries over them."""

    def __init__(self, frames: dict[str, pl.DataFrame] | None = None) -> None:
        self.frames: dict[str, pl.DataFrame] = {}
        for name, frame in (frames or {}).items():
            self.register(name, frame)

    @classmethod
    def bundled(cls) -> TableTool:
        """A tool over all of ``BUNDLED``."""
        return cls({name: bundled_frame(name) for name in BUNDLED})

    def register(self, name: str, frame: pl.DataFrame) -> None:
        if not isinstance(frame, pl.DataFrame):
            raise TypeError(f"register a polars DataFrame, got {type(frame).__name__}")
        self.frames[name] = frame

    def describe(self) -> str:
        """One line per frame: its name, row count and columns (what a model is shown)."""
        return "\n".join(f"{name} ({frame.height} rows): {', '.join(frame.columns)}"
                         for name, frame in self.frames.items())

    def __call__(self, query: dict[str, Any]) -> float:
        """Answer one structured query (see the module docstring) with a float.

        Raises:
            TableError: an unknown data set, column, aggregate or filter value; a missing field;
                an aggregate over no rows.
        """
        # BEGIN SOLUTION c07.2: validate every field against the frame; filter; aggregate with polars
        if not isinstance(query, dict):
            raise TableError(f"a table query is a dict, got {type(query).__name__}")
        dataset, column, agg = query.get("dataset"), query.get("column"), query.get("agg", "mean")
        if dataset not in self.frames:
            raise TableError(f"unknown data set {dataset!r} (registered: {', '.join(self.frames)})")
        frame = self.frames[str(dataset)]
        if column not in frame.columns:
            raise TableError(f"data set {dataset!r} has no column {column!r} (columns: {', '.join(frame.columns)})")
        if agg not in AGGREGATES:
            raise TableError(f"unknown aggregate {agg!r} (known: {', '.join(AGGREGATES)})")
        where = query.get("where")
        if where is not None:
            if not isinstance(where, dict) or where.get("column") not in frame.columns or "equals" not in where:
                raise TableError(f"'where' must be {{'column': <a column of {dataset}>, 'equals': value}}, "
                                 f"got {where!r}")
            value = where["equals"]
            values = frame.get_column(str(where["column"])).unique().to_list()
            if value not in values:
                raise TableError(f"column {where['column']!r} of {dataset!r} has no value {value!r}")
            frame = frame.filter(pl.col(str(where["column"])) == value)
        series = frame.get_column(str(column))
        if not series.dtype.is_numeric():
            raise TableError(f"column {column!r} is not numeric")
        if agg == "count":
            return float(series.len())
        if series.len() == 0 or (agg == "std" and series.len() < 2):
            raise TableError(f"{agg} over {series.len()} rows is undefined")
        result = getattr(series, agg)()
        if result is None or not math.isfinite(float(result)):
            raise TableError(f"{agg} of {column!r} is undefined")
        return float(result)
        # END SOLUTION
