"""c02.1: the streaming variant, on a generated CSV larger than its memory budget.

Oracle: the in-memory pipeline's group statistics (same file), and numpy for the mergeable
moments. The memory claim is measured, not assumed: a child process runs the streaming variant
on the large CSV and saves its result, and the Linux kernel reports the child's peak resident
memory (VmHWM, reset through /proc/self/clear_refs after a warm-up run on a small file, so the
interpreter, the imported libraries and polars' thread pool are not counted, but every buffer the
large run needs is). That peak must stay under the budget while the file is at least 2.5 times
larger, and the saved result must equal the in-memory pipeline's. polars runs with 2 threads in
the child (the course machine's cores): each extra thread keeps buffers of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c02_data import (
    group_statistics,
    impute,
    iter_csv_blocks,
    load_table,
    merge_moments,
    parse,
    scan_raw,
    standardize,
    stream_group_statistics,
    write_large_csv,
    write_raw_csv,
)

pytestmark = pytest.mark.task("c02.1")

# Standardised statistics are O(1); block-wise sums merge in another order: ~1e-15 apart.
ABS_TOL = 1e-12
MEMORY_BUDGET_MIB = 16  # = the threshold of streaming_peak_memory_mib in tasks.toml
LARGE_CSV_MIB = 2.5 * MEMORY_BUDGET_MIB  # 40 MiB: about 70,000 rows of 31 columns
POLARS_THREADS = "2"  # in the child; the peak grows with polars' thread count (see the module docstring)

PROBE = textwrap.dedent(
    """
    import json, sys
    from c02_data import load_table, stream_group_statistics

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))

    spec = load_table("breast_cancer").spec
    large, small, result = sys.argv[1:4]
    stream_group_statistics(small, spec)  # warm-up: imports, thread pool, caches
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak (VmHWM) to the current resident size
    before = kib("VmHWM")
    statistics = stream_group_statistics(large, spec)  # default block size
    peak_mib = (kib("VmHWM") - before) / 1024
    statistics.write_parquet(result)
    print(json.dumps({"peak_mib": peak_mib}))
    """
)


def in_memory_statistics(path, spec) -> pl.DataFrame:
    return group_statistics(standardize(impute(parse(scan_raw(path, spec), spec), spec), spec), spec).collect()


def assert_same_statistics(streamed: pl.DataFrame, expected: pl.DataFrame, group: str) -> float:
    assert streamed.columns == expected.columns
    assert streamed[group].to_list() == expected[group].to_list()
    assert streamed["feature"].cast(pl.String).to_list() == expected["feature"].cast(pl.String).to_list()
    assert streamed["count"].to_list() == expected["count"].to_list()
    columns = ["mean", "std", "min", "max"]
    error = float(np.abs(streamed.select(columns).to_numpy() - expected.select(columns).to_numpy()).max())
    assert error <= ABS_TOL, f"max abs difference {error:.2e}"
    return error


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "diabetes"])
def test_streamed_statistics_equal_in_memory_with_tiny_blocks(tmp_path, name):
    table = load_table(name)
    write_raw_csv(table, tmp_path / "raw.csv", seed=4)
    streamed = stream_group_statistics(tmp_path / "raw.csv", table.spec, block_bytes=4096)  # many blocks
    assert_same_statistics(streamed, in_memory_statistics(tmp_path / "raw.csv", table.spec), table.spec.group)


@pytest.fixture(scope="module")
def streamed_in_a_child(tmp_path_factory):
    """Stream a generated 40 MiB CSV in a child process: (csv path, its statistics, peak MiB)."""
    folder = tmp_path_factory.mktemp("large")
    large, small, result = folder / "large.csv", folder / "small.csv", folder / "streamed.parquet"
    write_raw_csv(load_table("breast_cancer"), small, seed=1)
    stream_group_statistics(small, load_table("breast_cancer").spec)  # fails here, in-process, if unwritten
    write_large_csv(large, LARGE_CSV_MIB, seed=0)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(large), str(small), str(result)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "POLARS_MAX_THREADS": POLARS_THREADS},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peak_mib = json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]
    return large, pl.read_parquet(result), peak_mib


def test_large_csv_streams_to_the_in_memory_result(streamed_in_a_child, metric):
    large, streamed, _ = streamed_in_a_child
    spec = load_table("breast_cancer").spec
    expected = in_memory_statistics(large, spec)
    streamed = streamed.with_columns(pl.col("feature").cast(expected.schema["feature"]))
    error = assert_same_statistics(streamed, expected, spec.group)
    assert int(streamed["count"].sum()) > 60_000 * len(spec.features)
    metric("streaming_max_abs_error", error)


def test_large_csv_streams_within_the_memory_budget(streamed_in_a_child, metric):
    large, _, peak_mib = streamed_in_a_child
    assert large.stat().st_size >= 2.5 * MEMORY_BUDGET_MIB * 2**20, "the file must be much larger than the budget"
    metric("streaming_peak_memory_mib", peak_mib)


def test_csv_blocks_are_whole_lines_under_one_header(tmp_path):
    path = tmp_path / "lines.csv"
    lines = ["h1,h2\n"] + [f"{i},{'x' * (i % 7)}\n" for i in range(200)]
    path.write_text("".join(lines))
    for block_bytes in (1, 10, 64, 10_000):
        blocks = list(iter_csv_blocks(path, block_bytes))
        assert all(b.startswith(b"h1,h2\n") and b.endswith(b"\n") for b in blocks)
        body = b"".join(b[len(b"h1,h2\n") :] for b in blocks)
        assert body.decode() == "".join(lines[1:])
    with pytest.raises(ValueError, match=r"block_bytes must be a positive int, got 0"):
        list(iter_csv_blocks(path, 0))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty.csv is empty"):
        list(iter_csv_blocks(tmp_path / "empty.csv"))


@settings(deadline=None, max_examples=40, derandomize=True, database=None)
@given(sizes=st.lists(st.integers(0, 30), min_size=1, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_merged_moments_equal_numpy(sizes, seed):
    rng = np.random.default_rng(seed)
    blocks = [rng.standard_normal(size) * 1e3 + 5e4 for size in sizes]  # |mean| >> std: no cancellation allowed
    values = np.concatenate(blocks)
    partials = pl.DataFrame(
        {
            "key": ["k"] * len(blocks),
            "n": [len(b) for b in blocks],
            "mean": [float(b.mean()) if len(b) else None for b in blocks],
            "m2": [float(((b - b.mean()) ** 2).sum()) if len(b) else None for b in blocks],
            "min": [float(b.min()) if len(b) else None for b in blocks],
            "max": [float(b.max()) if len(b) else None for b in blocks],
        },
        schema_overrides={"mean": pl.Float64, "m2": pl.Float64, "min": pl.Float64, "max": pl.Float64},
    )
    merged = merge_moments(partials, ["key"]).row(0, named=True)
    assert merged["n"] == len(values)
    if len(values):
        assert merged["mean"] == pytest.approx(values.mean(), rel=1e-14)
        assert merged["m2"] == pytest.approx(((values - values.mean()) ** 2).sum(), rel=1e-10, abs=1e-6)
        assert (merged["min"], merged["max"]) == (values.min(), values.max())
