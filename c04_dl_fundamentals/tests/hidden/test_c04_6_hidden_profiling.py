"""c04.6 (hidden): the profiler's row limit and one batch size."""

from __future__ import annotations

import pytest
import torch

from c04_dl_fundamentals import MLP, measure_throughput, profile_training, seed_everything

pytestmark = pytest.mark.task("c04.6")


def test_row_limit_one(tmp_path):
    seed_everything(60)
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    result = profile_training(MLP(hidden=(8,)), x, y, tmp_path / "t.json", steps=1, warmup=0, row_limit=1)
    assert len(result.top_ops) == 1 and result.trace_path.is_file()


def test_a_single_batch_size_and_explicit_device():
    rows = measure_throughput(MLP(hidden=(8,)), "train", [3], device=torch.device("cpu"), iters=1, warmup=0)
    assert len(rows) == 1 and rows[0].device == "cpu" and rows[0].batch_size == 3
