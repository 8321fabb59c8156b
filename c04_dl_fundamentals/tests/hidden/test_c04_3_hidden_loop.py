"""c04.3 (hidden): small data sets, odd batch sizes, evaluation that leaves no trace."""

from __future__ import annotations

import pytest
import torch

from c04_dl_fundamentals import MLP, SGD, evaluate, minibatches, seed_everything, train_epoch

pytestmark = pytest.mark.task("c04.3")


def test_batch_larger_than_the_data():
    assert [len(b) for b in minibatches(3, 10)] == [3]
    generator = seed_everything(50)
    model = MLP(hidden=(4,), dropout=0.0)
    x, y = torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 2])
    stats = train_epoch(model, x, y, SGD(model.parameters(), lr=0.1), batch_size=10, generator=generator)
    assert 0.0 <= stats.accuracy <= 1.0 and stats.loss > 0


def test_evaluate_builds_no_graph_and_keeps_gradients():
    seed_everything(51)
    model = MLP(hidden=(4,))
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    evaluate(model, torch.rand(5, 1, 8, 8), torch.zeros(5, dtype=torch.int64))
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in model.parameters())


def test_batch_size_one_and_odd_sizes_weight_the_mean_by_samples():
    seed_everything(52)
    model = MLP(hidden=(4,), dropout=0.0)
    x, y = torch.rand(7, 1, 8, 8), torch.randint(0, 10, (7,))
    a, b = evaluate(model, x, y, batch_size=1), evaluate(model, x, y, batch_size=3)
    assert a.loss == pytest.approx(b.loss, rel=1e-6) and a.accuracy == b.accuracy
