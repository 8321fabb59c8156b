"""c04.2 (hidden): parameter groups with their own hyperparameters, lr = 0, float64 over long runs."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from c04_dl_fundamentals import SGD, Adam, AdamW, WarmupCosine

pytestmark = pytest.mark.task("c04.2")

PARAM_TOLERANCE = 1e-6  # as in the public tests


def run_pair(make_ours, make_theirs, steps=60, dtype=torch.float32):
    torch.manual_seed(30)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2)).to(dtype)
    twin = copy.deepcopy(model)
    x, y = torch.randn(32, 5, dtype=dtype), torch.randint(0, 2, (32,))
    ours, theirs = make_ours(model), make_theirs(twin)
    sched_ours, sched_theirs = WarmupCosine(ours, 5, steps), WarmupCosine(theirs, 5, steps)
    for _ in range(steps):
        for m, opt, sched in ((model, ours, sched_ours), (twin, theirs, sched_theirs)):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
            sched.step()
    return max(float((p - q).detach().abs().max()) for p, q in zip(model.parameters(), twin.parameters(), strict=True))


def groups(model, **second):
    first, *rest = list(model.parameters())
    return [{"params": [first]}, {"params": rest, **second}]


def test_groups_with_their_own_hyperparameters_under_a_schedule():
    assert run_pair(lambda m: SGD(groups(m, momentum=0.5, nesterov=True), lr=0.1, momentum=0.9),
                    lambda m: torch.optim.SGD(groups(m, momentum=0.5, nesterov=True), lr=0.1, momentum=0.9,
                                              foreach=False)) <= PARAM_TOLERANCE
    assert run_pair(lambda m: Adam(groups(m, betas=(0.5, 0.9), weight_decay=0.1), lr=1e-2),
                    lambda m: torch.optim.Adam(groups(m, betas=(0.5, 0.9), weight_decay=0.1), lr=1e-2,
                                               foreach=False)) <= PARAM_TOLERANCE
    assert run_pair(lambda m: AdamW(groups(m, lr=1e-3), lr=1e-2),
                    lambda m: torch.optim.AdamW(groups(m, lr=1e-3), lr=1e-2, foreach=False)) <= PARAM_TOLERANCE


def test_float64_long_run():
    assert run_pair(lambda m: AdamW(m.parameters(), lr=3e-3, weight_decay=0.05),
                    lambda m: torch.optim.AdamW(m.parameters(), lr=3e-3, weight_decay=0.05, foreach=False),
                    steps=300, dtype=torch.float64) <= 1e-12


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_zero_learning_rate_changes_nothing(cls):
    p = nn.Parameter(torch.randn(4))
    before = p.detach().clone()
    optimizer = cls([p], lr=0.0)
    for _ in range(3):
        optimizer.zero_grad()
        (p * p).sum().backward()
        optimizer.step()
    assert torch.equal(p.detach(), before)
