"""A lazy polars pipeline: raw CSV -> clean -> standardised -> group statistics -> joined -> Parquet.

Each step is a function from a ``LazyFrame`` to a ``LazyFrame``: nothing is
read or computed until the end, when polars optimises the whole plan at once
(only the needed columns are parsed, expressions are fused) and runs it. The steps:

1. :func:`scan_raw` - scan the CSV with every column as text. Guessing types
   from the first rows breaks on the first ``"?"`` further down; reading text
   and casting deliberately makes the cleaning explicit.
2. :func:`parse` - strip spaces, map every spelling of "missing" to null,
   cast features to Float64 (strictly: a stray word is an error, not a null),
   and drop rows without a group label.
3. :func:`impute` - replace missing feature values by the column mean (over
   the present values). Mean imputation keeps each column's mean and adds no
   deviation to its sum of squares, which the streaming variant relies on.
4. :func:`standardize` - z = (x - mean) / std per feature, std with ``ddof=1``.
5. :func:`group_statistics` - a tidy table: one row per (group, feature) with
   the count, mean, std (``ddof=1``), min and max of the standardised values.
6. :func:`attach_centroid_distance` - join every row with its group's centroid
   (the per-group means) and add its Euclidean distance to it, in standard
   units: how typical a sample is of its group.

:func:`run_pipeline` wires them up, writes the rows to Parquet and returns the
statistics, running both outputs with ``pl.collect_all`` so that polars can
share their common part (the scan, parsing and standardisation) instead of
running it twice. Every number must equal the same computation in numpy.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from c02_data.datasets import NULL_MARKERS, TableSpec

STATISTICS = ("count", "mean", "std", "min", "max")  # the columns of group_statistics, after group and feature
DISTANCE = "centroid_distance"


def scan_raw(path: Path | str, spec: TableSpec) -> pl.LazyFrame:
    """Lazily scan a raw CSV, every column as String, keeping the group and feature columns.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the header lacks a column of ``spec`` (the message names them).
    """
    # BEGIN SOLUTION c02.1: scan_csv without type inference, check the header, select the spec's columns
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CSV file at {path}")
    raw = pl.scan_csv(path, infer_schema=False)  # every column is pl.String
    missing = [c for c in (spec.group, *spec.features) if c not in raw.collect_schema()]
    if missing:
        raise ValueError(f"{path.name} lacks the column(s) {missing} of table {spec.name!r}")
    return raw.select(spec.group, *spec.features)
    # END SOLUTION


def parse(raw: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """Strip, turn missing-value markers into nulls, cast features to Float64, drop unlabeled rows."""
    # BEGIN SOLUTION c02.1: one expression per column: strip, replace markers by null, strict cast
    def cleaned(column: str) -> pl.Expr:  # stripped text, or null for a marker; keeps the column's name
        text = pl.col(column).str.strip_chars()
        return pl.when(~text.is_in(NULL_MARKERS)).then(text)

    return raw.select(
        cleaned(spec.group).alias(spec.group),
        *(cleaned(f).cast(pl.Float64, strict=True).alias(f) for f in spec.features),
    ).filter(pl.col(spec.group).is_not_null())
    # END SOLUTION


def impute(parsed: pl.LazyFrame, spec: TableSpec, means: dict[str, float] | None = None) -> pl.LazyFrame:
    """Fill each feature's nulls with its mean: computed in the plan, or given (the streaming case)."""
    # BEGIN SOLUTION c02.1: fill_null with the column mean expression or with a literal
    if means is None:
        return parsed.with_columns(pl.col(f).fill_null(pl.col(f).mean()) for f in spec.features)
    return parsed.with_columns(pl.col(f).fill_null(pl.lit(means[f], dtype=pl.Float64)) for f in spec.features)
    # END SOLUTION


def standardize(clean: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """Replace each feature x by (x - mean(x)) / std(x), std with ddof=1."""
    # BEGIN SOLUTION c02.1: one with_columns over every feature
    return clean.with_columns((pl.col(f) - pl.col(f).mean()) / pl.col(f).std(ddof=1) for f in spec.features)
    # END SOLUTION


def group_statistics(frame: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """One row per (group, feature): count, mean, std (ddof=1), min, max; sorted by group, then feature order.

    The ``feature`` column is a ``pl.Enum`` of the spec's features, so sorting keeps their order.
    """
    # BEGIN SOLUTION c02.1: unpivot to long form, group by (group, feature), aggregate, sort
    long = frame.unpivot(index=spec.group, on=list(spec.features), variable_name="feature", value_name="value")
    long = long.with_columns(pl.col("feature").cast(pl.Enum(spec.features)))
    value = pl.col("value")
    return (
        long.group_by(spec.group, "feature")
        .agg(
            value.count().cast(pl.Int64).alias("count"),
            value.mean().alias("mean"),
            value.std(ddof=1).alias("std"),
            value.min().alias("min"),
            value.max().alias("max"),
        )
        .sort(spec.group, "feature")
    )
    # END SOLUTION


def attach_centroid_distance(standardized: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """Join each row with its group's centroid and add ``centroid_distance`` (Euclidean, standard units).

    The per-group means are one small aggregation, joined back on the group column.
    """
    # BEGIN SOLUTION c02.1: centroids by group_by-mean, left join on the group, sqrt of the summed squares
    centroids = standardized.group_by(spec.group).agg(pl.col(f).mean().alias(f"{f}__centroid") for f in spec.features)
    joined = standardized.join(centroids, on=spec.group, how="left", maintain_order="left")
    squares = [(pl.col(f) - pl.col(f"{f}__centroid")) ** 2 for f in spec.features]
    return joined.with_columns(pl.sum_horizontal(squares).sqrt().alias(DISTANCE)).drop(
        f"{f}__centroid" for f in spec.features
    )
    # END SOLUTION


def run_pipeline(csv_path: Path | str, parquet_path: Path | str, spec: TableSpec) -> pl.DataFrame:
    """The whole pipeline: write the standardised rows with their centroid distance to Parquet.

    Returns:
        The group statistics (see :func:`group_statistics`).
    """
    # BEGIN SOLUTION c02.1: build both outputs on one standardised plan; collect_all runs them together
    standardized = standardize(impute(parse(scan_raw(csv_path, spec), spec), spec), spec)
    rows = attach_centroid_distance(standardized, spec).sink_parquet(Path(parquet_path), lazy=True)
    _, statistics = pl.collect_all([rows, group_statistics(standardized, spec)])
    return statistics
    # END SOLUTION
