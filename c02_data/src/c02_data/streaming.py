"""The pipeline's group statistics for a CSV larger than the memory budget: blocks and mergeable moments.

polars' streaming engine (``collect(engine="streaming")``) runs a lazy plan
in morsels instead of materialising whole columns. On polars 2.1 its CSV
source still reads ahead a fixed amount of the file, measured at about 256 MiB
of resident memory whatever the file size (see the README): bounded, but too
much for a small budget. So this variant feeds the engine one *block* of the
file at a time (whole lines, about ``block_bytes``), runs the same lazy
parsing as :mod:`~c02_data.pipeline` on each block with the streaming engine,
and keeps only a few numbers per block. Peak memory is then a small multiple
of the block size, whatever the file size; a test measures it.

The statistics have to be *mergeable*: computable per block and combined
afterwards. Count, sum, min and max are. The variance is too, in the
numerically stable form of Chan, Golub and LeVeque (1979): per block keep the
count n_b, mean m_b and M2_b = sum((x - m_b)²); then

    n = sum n_b,   m = sum(n_b m_b) / n,   M2 = sum M2_b + sum n_b (m_b - m)²

(the naive sum(x²) - n m² cancels catastrophically when |m| >> std).

Two passes over the file:

1. column moments of the present (non-null) values: their mean is the
   imputation value; mean imputation adds no deviation, so they also give the
   mean and std of every imputed column, i.e. the standardisation;
2. per (group, feature) moments, min and max of the imputed raw values.

Standardising is affine, so the statistics of z = (x - mu) / sigma follow
without a third pass: mean_z = (mean_x - mu) / sigma, std_z = std_x / sigma,
min_z = (min_x - mu) / sigma, max_z likewise (sigma > 0).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from c02_data.datasets import TableSpec
from c02_data.pipeline import impute, parse

# 256 KiB of CSV text per block: measured peak about 9 MiB above the warmed-up process with
# polars on 2 threads (each polars thread keeps its own buffers: about 24 MiB with 8 threads).
DEFAULT_BLOCK_BYTES = 256 << 10


def iter_csv_blocks(path: Path | str, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[bytes]:
    """Yield the CSV as self-contained blocks: the header line, then about ``block_bytes`` of whole lines.

    Raises:
        ValueError: ``block_bytes`` is not a positive int, or the file is empty.
    """
    # BEGIN SOLUTION c02.1: read the header, then fixed-size reads completed to the end of their line
    if isinstance(block_bytes, bool) or not isinstance(block_bytes, int) or block_bytes < 1:
        raise ValueError(f"block_bytes must be a positive int, got {block_bytes!r}")
    with Path(path).open("rb") as handle:
        header = handle.readline()
        if not header:
            raise ValueError(f"{path} is empty: a CSV needs at least a header line")
        while block := handle.read(block_bytes):
            yield header + block + handle.readline()  # finish the line the read stopped in
    # END SOLUTION


def _scan_block(block: bytes, spec: TableSpec) -> pl.LazyFrame:
    """One block as a lazy frame of text columns (the same reading as ``pipeline.scan_raw``)."""
    return pl.scan_csv(io.BytesIO(block), infer_schema=False).select(spec.group, *spec.features)


def merge_moments(partials: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Combine per-block (n, mean, m2) rows into one row per key (Chan et al.); min and max too if present.

    Args:
        partials: columns ``keys`` + ``n``, ``mean``, ``m2`` (+ optional ``min``, ``max``).
        keys: the columns that identify one statistic (e.g. ``["feature"]``).

    Returns:
        One row per key with the merged ``n``, ``mean``, ``m2`` (and ``min``, ``max``), sorted by the keys.
    """
    # BEGIN SOLUTION c02.1: total n, weighted mean, M2 = sum m2 + sum n (mean_b - mean)^2
    n, mean = pl.col("n"), pl.col("mean")
    merged_mean = (n * mean.fill_null(0.0)).sum() / n.sum()
    frame = partials.with_columns(merged_mean.over(keys).alias("merged_mean"))
    aggregations = [
        n.sum().alias("n"),
        pl.col("merged_mean").first().alias("mean"),
        (pl.col("m2").fill_null(0.0).sum() + (n * (mean - pl.col("merged_mean")) ** 2).fill_null(0.0).sum()).alias(
            "m2"
        ),
    ]
    aggregations += [getattr(pl.col(c), c)().alias(c) for c in ("min", "max") if c in partials.columns]
    return frame.group_by(keys).agg(aggregations).sort(keys)
    # END SOLUTION


def _long(frame: pl.LazyFrame, spec: TableSpec, index: list[str]) -> pl.LazyFrame:
    """Unpivot the features to (index..., feature, value), feature as an Enum in spec order."""
    long = frame.unpivot(index=index, on=list(spec.features), variable_name="feature", value_name="value")
    return long.with_columns(pl.col("feature").cast(pl.Enum(spec.features)))


def _moments(value: pl.Expr) -> list[pl.Expr]:
    """n, mean and m2 = sum((x - mean)²) of the non-null values of ``value``."""
    return [
        value.count().cast(pl.Int64).alias("n"),
        value.mean().alias("mean"),
        ((value - value.mean()) ** 2).sum().alias("m2"),
    ]


def stream_group_statistics(
    csv_path: Path | str, spec: TableSpec, *, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> pl.DataFrame:
    """``pipeline.group_statistics`` of the standardised table, in two passes over blocks of the CSV.

    Returns:
        The same frame as ``group_statistics(standardize(impute(parse(scan_raw(...)))))``
        collected: group, feature, count, mean, std, min, max, sorted by group then feature.
    """
    # BEGIN SOLUTION c02.1: pass 1 column moments (means, mu, sigma); pass 2 group moments; rescale
    # Pass 1: moments of the present values of each feature, and the number of kept rows.
    partials: list[pl.DataFrame] = []
    n_rows = 0
    for block in iter_csv_blocks(csv_path, block_bytes):
        long = _long(parse(_scan_block(block, spec), spec), spec, [spec.group])
        plan = long.group_by("feature").agg(pl.len().alias("rows"), *_moments(pl.col("value")))
        block_moments = plan.collect(engine="streaming")
        n_rows += int(block_moments["rows"].to_numpy().max(initial=0))  # every feature has one value (or null) per row
        partials.append(block_moments.drop("rows"))
    columns = merge_moments(pl.concat(partials), ["feature"])
    means = dict(zip(columns["feature"].cast(pl.String), columns["mean"], strict=True))
    # Mean imputation keeps the mean and M2 and makes n_rows values: std with ddof=1 follows.
    scale = columns.select(
        pl.col("feature"), pl.col("mean").alias("mu"), (pl.col("m2") / (n_rows - 1)).sqrt().alias("sigma")
    )

    # Pass 2: per (group, feature) moments of the imputed raw values.
    partials = []  # reused: pass 1's partials are merged already
    for block in iter_csv_blocks(csv_path, block_bytes):
        long = _long(impute(parse(_scan_block(block, spec), spec), spec, means), spec, [spec.group])
        value = pl.col("value")
        aggregations = [*_moments(value), value.min().alias("min"), value.max().alias("max")]
        partials.append(long.group_by(spec.group, "feature").agg(aggregations).collect(engine="streaming"))
    groups = merge_moments(pl.concat(partials), [spec.group, "feature"]).join(scale, on="feature")

    mu, sigma = pl.col("mu"), pl.col("sigma")
    return groups.select(
        spec.group,
        "feature",
        pl.col("n").alias("count"),
        ((pl.col("mean") - mu) / sigma).alias("mean"),
        ((pl.col("m2") / (pl.col("n") - 1)).sqrt() / sigma).alias("std"),
        ((pl.col("min") - mu) / sigma).alias("min"),
        ((pl.col("max") - mu) / sigma).alias("max"),
    ).sort(spec.group, "feature")
    # END SOLUTION
