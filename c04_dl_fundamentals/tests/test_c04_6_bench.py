"""c04.6: the benchmark harness builds one well-formed table of models and optimizers.

The rows are timed with this task's ``measure_throughput`` and captioned with its
``cuda_note``; they cover c04.2's optimizers and c04.3/c04.4's models. Only structure
and sanity are checked, at tiny sizes, so no wall-clock speed is asserted. The
data-parallel rows are c04.7's (test_c04_7_bench.py).
"""

from __future__ import annotations

import math

import pytest
import torch

from c04_dl_fundamentals import bench

pytestmark = pytest.mark.task("c04.6")


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
