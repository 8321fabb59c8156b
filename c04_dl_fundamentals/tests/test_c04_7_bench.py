"""c04.7: the benchmark's data-parallel rows.

They are computed from a stand-in for train_data_parallel (the real one is tested
in test_c04_7_ddp.py), so no wall-clock speed is asserted. The rest of the table
(models and optimizers, timed with c04.6's throughput) is c04.6's: test_c04_6_bench.py.
"""

from __future__ import annotations

import pytest

from c04_dl_fundamentals import DDPResult, bench

pytestmark = pytest.mark.task("c04.7")


def test_ddp_rows_from_the_measured_seconds(monkeypatch):
    calls = []

    def fake(config, world_size):
        calls.append((config, world_size))
        return DDPResult(state={}, seconds={1: 2.0, 2: 1.25}[world_size], world_size=world_size)

    monkeypatch.setattr(bench, "train_data_parallel", fake)
    ddp_rows = bench.bench_ddp(bench.QUICK_DDP, repeats=2)
    assert [c[1] for c in calls] == [1, 2, 1, 2]  # the two sizes take turns
    assert [(r.what, r.value, r.unit) for r in ddp_rows] == [
        ("1 process (gloo)", 2.0, "s"), ("2 processes (gloo)", 1.25, "s"), ("speed-up 1 -> 2 processes", 1.6, "x")]
    assert all("global batch 64" in r.setting for r in ddp_rows)
    assert bench.DDP_BENCH.global_batch % 2 == 0 and bench.DDP_BENCH.global_batch <= 1797  # rows of digits
