"""c02.1: the lazy polars pipeline on real tables, against the same computation in numpy.

Each bundled table (wine, breast_cancer, diabetes) is written as a messy raw CSV (padded
numbers, several spellings of "missing", rows without a group label); the corruption is known,
so numpy redoes the cleaning from the clean arrays: drop unlabeled rows, fill each missing cell
with its column's mean over the present values, standardise (ddof=1), then per group the count,
mean, std (ddof=1), min and max of every feature, and every row's distance to its group centroid.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from c02_data import (
    TableSpec,
    attach_centroid_distance,
    group_statistics,
    impute,
    load_table,
    parse,
    run_pipeline,
    scan_raw,
    standardize,
    write_raw_csv,
)

pytestmark = pytest.mark.task("c02.1")

# Standardised values are O(1): sums of <= 569 terms in another order differ by ~1e-15.
ABS_TOL = 1e-12
TABLES = ["wine", "breast_cancer", "diabetes"]


def numpy_pipeline(table, corruption):
    """The oracle: (groups, statistics (G, F, 5) as count, mean, std, min, max; row groups, z, distances)."""
    keep = ~corruption.unlabeled
    values = table.values[keep].copy()  # (n, F)
    missing = corruption.missing[keep]
    column_means = np.nanmean(np.where(missing, np.nan, values), axis=0)
    values[missing] = np.broadcast_to(column_means, values.shape)[missing]
    z = (values - values.mean(axis=0)) / values.std(axis=0, ddof=1)
    groups = table.groups[keep]
    labels = np.unique(groups)  # sorted, as polars sorts strings
    stats = np.empty((len(labels), values.shape[1], 5))
    centroids = {}
    for g, label in enumerate(labels):
        rows = z[groups == label]
        centroids[label] = rows.mean(axis=0)
        stats[g] = np.column_stack(
            [np.full(rows.shape[1], len(rows)), rows.mean(0), rows.std(0, ddof=1), rows.min(0), rows.max(0)]
        )
    distances = np.sqrt(((z - np.array([centroids[g] for g in groups])) ** 2).sum(axis=1))
    return labels, stats, groups, z, distances


def as_array(statistics: pl.DataFrame, spec: TableSpec, labels) -> np.ndarray:
    """The long statistics frame as a (G, F, 5) array, checking its keys and order on the way."""
    expected_keys = [(str(g), f) for g in labels for f in spec.features]
    keys = list(zip(statistics[spec.group].to_list(), statistics["feature"].cast(pl.String).to_list(), strict=True))
    assert keys == expected_keys, "one row per (group, feature), sorted by group then feature order"
    columns = statistics.select("count", "mean", "std", "min", "max").to_numpy()
    return columns.reshape(len(labels), len(spec.features), 5)


@pytest.fixture(scope="module", params=TABLES)
def written(request, tmp_path_factory):
    table = load_table(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    corruption = write_raw_csv(table, folder / "raw.csv", seed=3)
    statistics = run_pipeline(folder / "raw.csv", folder / "rows.parquet", table.spec)
    return table, corruption, folder, statistics


def test_statistics_equal_numpy(written):
    table, corruption, _, statistics = written
    labels, expected, *_ = numpy_pipeline(table, corruption)
    assert statistics.columns == [table.spec.group, "feature", "count", "mean", "std", "min", "max"]
    assert statistics.schema["count"] == pl.Int64 and statistics.schema["mean"] == pl.Float64
    got = as_array(statistics, table.spec, labels)
    np.testing.assert_array_equal(got[..., 0], expected[..., 0])  # counts are exact
    np.testing.assert_allclose(got[..., 1:], expected[..., 1:], rtol=0, atol=ABS_TOL)
    assert corruption.missing.sum() > 0 and corruption.unlabeled.sum() > 0  # the CSV really was messy


def test_parquet_rows_equal_numpy(written):
    table, corruption, folder, _ = written
    _, _, groups, z, distances = numpy_pipeline(table, corruption)
    rows = pl.read_parquet(folder / "rows.parquet")
    assert rows.columns == [table.spec.group, *table.spec.features, "centroid_distance"]
    assert rows.height == len(groups)
    assert rows[table.spec.group].to_list() == list(groups)  # input order is kept
    np.testing.assert_allclose(rows.select(table.spec.features).to_numpy(), z, rtol=0, atol=ABS_TOL)
    np.testing.assert_allclose(rows["centroid_distance"].to_numpy(), distances, rtol=0, atol=ABS_TOL)


def test_pipeline_metric(tmp_path, metric):
    worst = 0.0
    for name in TABLES:
        table = load_table(name)
        corruption = write_raw_csv(table, tmp_path / f"{name}.csv", seed=5)
        statistics = run_pipeline(tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet", table.spec)
        labels, expected, _, z, distances = numpy_pipeline(table, corruption)
        rows = pl.read_parquet(tmp_path / f"{name}.parquet")
        worst = max(
            worst,
            float(np.abs(as_array(statistics, table.spec, labels)[..., 1:] - expected[..., 1:]).max()),
            float(np.abs(rows.select(table.spec.features).to_numpy() - z).max()),
            float(np.abs(rows["centroid_distance"].to_numpy() - distances).max()),
        )
    metric("pipeline_max_abs_error", worst)


def test_every_step_is_lazy(tmp_path):
    table = load_table("wine")
    write_raw_csv(table, tmp_path / "raw.csv", seed=1)
    spec = table.spec
    raw = scan_raw(tmp_path / "raw.csv", spec)
    steps = [raw, parse(raw, spec), impute(parse(raw, spec), spec), standardize(impute(parse(raw, spec), spec), spec)]
    steps += [group_statistics(steps[-1], spec), attach_centroid_distance(steps[-1], spec)]
    for step in steps:
        assert isinstance(step, pl.LazyFrame)
    assert all(dtype == pl.String for dtype in raw.collect_schema().dtypes())  # read as text, cast on purpose
    parsed = parse(raw, spec).collect_schema()
    assert parsed[spec.group] == pl.String and all(parsed[f] == pl.Float64 for f in spec.features)


def test_parse_cleans_markers_padding_and_missing_labels():
    spec = TableSpec("toy", "kind", ("a", "b"))
    raw = pl.LazyFrame(
        {
            "kind": [" x ", "y", "NA", "", "x", "?"],
            "a": ["1.5", "  2", "3", "4", "N/A", "6"],
            "b": ["nan", "?", "7", "8", "9.25", ""],
        }
    )
    parsed = parse(raw, spec).collect()
    assert parsed["kind"].to_list() == ["x", "y", "x"]  # stripped; unlabeled rows dropped
    assert parsed["a"].to_list() == [1.5, 2.0, None]
    assert parsed["b"].to_list() == [None, None, 9.25]
    filled = impute(parse(raw, spec), spec).collect()
    assert filled["a"].to_list() == [1.5, 2.0, 1.75] and filled["b"].to_list() == [9.25, 9.25, 9.25]
    given = impute(parse(raw, spec), spec, {"a": -1.0, "b": 0.0}).collect()
    assert given["a"].to_list() == [1.5, 2.0, -1.0] and given["b"].to_list() == [0.0, 0.0, 9.25]


def test_bad_input_gets_a_clear_error(tmp_path):
    spec = TableSpec("toy", "kind", ("a", "b"))
    with pytest.raises(FileNotFoundError, match=r"no CSV file at"):
        scan_raw(tmp_path / "absent.csv", spec)
    (tmp_path / "short.csv").write_text("kind,a\nx,1\n")
    with pytest.raises(ValueError, match=r"short.csv lacks the column\(s\) \['b'\] of table 'toy'"):
        scan_raw(tmp_path / "short.csv", spec)
    (tmp_path / "word.csv").write_text("kind,a,b\nx,1,2\ny,three,4\n")
    with pytest.raises(pl.exceptions.InvalidOperationError, match=r"column 'a'.*three"):  # not a null
        run_pipeline(tmp_path / "word.csv", tmp_path / "out.parquet", spec)
    with pytest.raises(ValueError, match=r"unknown table 'iris'"):
        load_table("iris")
