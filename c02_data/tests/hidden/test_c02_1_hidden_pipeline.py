"""c02.1 (hidden): odd but valid CSVs for the pipeline and the streaming variant."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from c02_data import (
    TableSpec,
    group_statistics,
    impute,
    parse,
    run_pipeline,
    scan_raw,
    standardize,
    stream_group_statistics,
)

pytestmark = pytest.mark.task("c02.1")

ABS_TOL = 1e-12  # standardised statistics are O(1)
SPEC = TableSpec("toy", "kind", ("a", "b", "c"))


def toy_csv(path, newline="\n"):
    rng = np.random.default_rng(21)
    lines = ["kind,a,b,c"]
    for i in range(300):
        kind = ["α-group", "b, quoted", "  c  "][i % 3]
        values = [repr(float(v)) for v in rng.standard_normal(3) * [1.0, 1e3, 1e-3] + [0.0, 5e4, 0.0]]
        if i % 17 == 0:
            values[i % 3] = ["NA", "?", "", "nan", "N/A"][i % 5]
        lines.append(",".join([f'"{kind}"' if "," in kind else kind, *values]))
    path.write_bytes((newline.join(lines) + newline).encode())


def in_memory(path):
    return group_statistics(standardize(impute(parse(scan_raw(path, SPEC), SPEC), SPEC), SPEC), SPEC).collect()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("block_bytes", [1, 100, 1 << 20])
def test_streaming_equals_in_memory_on_odd_csvs(tmp_path, newline, block_bytes):
    toy_csv(tmp_path / "toy.csv", newline)
    expected = in_memory(tmp_path / "toy.csv")
    assert sorted(expected["kind"].unique().to_list()) == ["b, quoted", "c", "α-group"]
    streamed = stream_group_statistics(tmp_path / "toy.csv", SPEC, block_bytes=block_bytes)
    assert streamed["kind"].to_list() == expected["kind"].to_list()
    assert streamed["count"].to_list() == expected["count"].to_list() == [100] * 9
    columns = ["mean", "std", "min", "max"]
    np.testing.assert_allclose(streamed.select(columns).to_numpy(), expected.select(columns).to_numpy(), atol=ABS_TOL)


def test_run_pipeline_writes_every_labelled_row(tmp_path):
    toy_csv(tmp_path / "toy.csv", "\r\n")
    statistics = run_pipeline(tmp_path / "toy.csv", tmp_path / "rows.parquet", SPEC)
    rows = pl.read_parquet(tmp_path / "rows.parquet")
    assert rows.height == 300 and rows.null_count().sum_horizontal().item() == 0
    np.testing.assert_allclose(rows.select(SPEC.features).to_numpy().mean(axis=0), 0.0, atol=ABS_TOL)
    np.testing.assert_allclose(rows.select(SPEC.features).to_numpy().std(axis=0, ddof=1), 1.0, atol=ABS_TOL)
    assert statistics.height == 9 and (rows["centroid_distance"] >= 0).all()
