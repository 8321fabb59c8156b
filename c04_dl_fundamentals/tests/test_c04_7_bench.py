"""c04.7: the benchmark harness builds one well-formed table.

It times every piece of the module (models, optimizers, data parallelism), so it
is graded with the last task. Only structure and sanity are checked, at tiny
sizes; the DDP rows are computed from a stand-in for train_data_parallel (the
real one is tested in test_c04_7_ddp.py), so no wall-clock speed is asserted.
"""

from __future__ import annotations

import math

import pytest
import torch

from c04_dl_fundamentals import DDPResult, bench

pytestmark = pytest.mark.task("c04.7")


@pytest.fixture(scope="module")
def rows():
    return bench.run_benchmark(quick=True, ddp=False, repeats=1)


def test_rows_cover_models_and_optimizers(rows):
    whats = [(r.part, r.what, r.setting) for r in rows]
    assert len(whats) == len(set(whats))
    for model in ("MLP", "CNN"):
        for kind, settings in (("training", {"batch 1", "batch 8"}), ("inference latency", {"batch 1", "batch 8"})):
            found = {r.setting for r in rows if r.what.startswith(model) and r.what.endswith(kind)}
            assert found == settings, (model, kind, found)
    ratios = [r for r in rows if r.what.endswith("ours / torch.optim")]
    assert [r.what.split(" step")[0] for r in ratios] == ["SGD (Nesterov)", "Adam", "AdamW"]
    for r in rows:
        assert r.value is not None and math.isfinite(r.value) and r.value > 0
    assert not [r for r in rows if r.part == "ddp"]


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


def test_tables_and_command_line(rows, capsys, monkeypatch):
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        bench.run_benchmark(repeats=0)
    plain, fancy = bench.render_table(rows, plain=True), bench.render_table(rows)
    assert len(plain.splitlines()) == len(rows) + 3  # header, rule, rows, note
    for table in (plain, fancy):
        assert "samples/s" in table and "ours / torch.optim" in table and "intra-op threads" in table
    assert ("CUDA is not available" in plain) != torch.cuda.is_available()
    seen = []
    monkeypatch.setattr(bench, "run_benchmark", lambda **kwargs: seen.append(kwargs) or rows)
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--quick", "--no-ddp", "--plain", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    assert seen == [{"quick": True, "ddp": False, "repeats": 1}]
    assert "ours / torch.optim" in capsys.readouterr().out
    bench.main(["--repeats", "2"])
    assert seen[-1] == {"quick": False, "ddp": True, "repeats": 2}

