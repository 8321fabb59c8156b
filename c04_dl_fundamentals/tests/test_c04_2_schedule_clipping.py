"""c04.2: the warm-up + cosine schedule and clipping by global norm.

Oracles: torch's own schedulers (LinearLR then CosineAnnealingLR through
SequentialLR) and ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from c04_dl_fundamentals import SGD, WarmupCosine, clip_grad_norm, warmup_cosine_factor

pytestmark = pytest.mark.task("c04.2")

# torch's CosineAnnealingLR updates the rate recursively (a product per step), ours is the
# closed form: they agree to a few float64 ulps per step, far inside 1e-9 over 100 steps.
LR_TOLERANCE = 1e-9
# clip_grad_norm_ and ours compute the same norms in float32; rounding differs at most by ulps.
CLIP_TOLERANCE = 1e-6


def make_optimizer(lr: float = 0.1) -> SGD:
    return SGD([nn.Parameter(torch.zeros(2))], lr=lr)


def rates(scheduler, optimizer, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize(("warmup", "total", "min_ratio"), [(10, 100, 0.0), (1, 30, 0.1), (5, 6, 0.5)])
def test_matches_torchs_linear_then_cosine(warmup, total, min_ratio):
    base = 0.3
    ours_opt = make_optimizer(base)
    ours = rates(WarmupCosine(ours_opt, warmup, total, min_ratio), ours_opt, total)
    ref_opt = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=base)
    linear = LinearLR(ref_opt, start_factor=1 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 1))
    cosine = CosineAnnealingLR(ref_opt, T_max=total - warmup, eta_min=min_ratio * base)
    reference = rates(SequentialLR(ref_opt, [linear, cosine], milestones=[warmup]), ref_opt, total)
    assert ours == pytest.approx(reference, abs=LR_TOLERANCE)


def test_no_warmup_is_plain_cosine():
    optimizer = make_optimizer(1.0)
    ours = rates(WarmupCosine(optimizer, 0, 50), optimizer, 50)
    ref_opt = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=1.0)
    assert ours == pytest.approx(rates(CosineAnnealingLR(ref_opt, T_max=50), ref_opt, 50), abs=LR_TOLERANCE)


def test_closed_form_values():
    assert warmup_cosine_factor(0, 4, 20) == pytest.approx(0.25)
    assert warmup_cosine_factor(3, 4, 20) == pytest.approx(1.0)  # the end of warm-up reaches the peak
    assert warmup_cosine_factor(4, 4, 20) == pytest.approx(1.0)  # the cosine starts at the peak
    assert warmup_cosine_factor(12, 4, 20) == pytest.approx(0.5)  # half-way down
    assert warmup_cosine_factor(12, 4, 20, 0.2) == pytest.approx(0.6)
    assert warmup_cosine_factor(20, 4, 20, 0.2) == 0.2  # at and after the end: the floor
    assert warmup_cosine_factor(10_000, 4, 20, 0.2) == 0.2
    values = [warmup_cosine_factor(s, 4, 20) for s in range(4, 21)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # never rises after the warm-up


def test_state_dict_round_trip_continues_identically():
    optimizer = make_optimizer()
    scheduler = WarmupCosine(optimizer, 3, 40, 0.05)
    rates(scheduler, optimizer, 7)
    state = scheduler.state_dict()
    assert state["last_epoch"] == 7 and state["warmup_steps"] == 3
    twin_opt = make_optimizer()
    twin = WarmupCosine(twin_opt, 3, 40, 0.05)
    twin.load_state_dict(state)
    twin_opt.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"]  # the optimizer's own state_dict carries it
    assert rates(twin, twin_opt, 10) == rates(scheduler, optimizer, 10)
    assert scheduler.get_last_lr()[0] == pytest.approx(0.1 * warmup_cosine_factor(17, 3, 40, 0.05))


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 0, 0.0), r"0 <= warmup_steps < total_steps"), ((10, 5, 0.0), r"warmup_steps=10, total_steps=5"),
     ((-1, 5, 0.0), r"0 <= warmup_steps"), ((1, 5, 1.5), r"min_ratio must lie in \[0, 1\]"),
     ((1.5, 5, 0.0), r"warmup_steps must be an integer"), ((1, True, 0.0), r"total_steps must be an integer")],
)
def test_bad_schedules_raise_value_errors(args, message):
    with pytest.raises(ValueError, match=message):
        warmup_cosine_factor(0, *args)
    with pytest.raises(ValueError, match=message):
        WarmupCosine(make_optimizer(), *args)


def test_negative_step_is_refused():
    with pytest.raises(ValueError, match="step must be >= 0"):
        warmup_cosine_factor(-1, 2, 10)


def random_grads(seed: int, scale: float) -> list[nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.zeros(shape)) for shape in ((3, 4), (4,), (2, 2, 2))]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator) * scale
    return params


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("max_norm", [0.5, 5.0])
def test_clipping_matches_torch(scale, max_norm):
    ours, theirs = random_grads(3, scale), random_grads(3, scale)
    norm = clip_grad_norm(ours, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert float(norm) == pytest.approx(float(expected), rel=CLIP_TOLERANCE)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=CLIP_TOLERANCE, atol=0)
    clipped = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in ours))
    assert clipped <= max_norm * (1 + CLIP_TOLERANCE)  # the direction is kept, the length capped


def test_clipping_skips_missing_gradients_and_accepts_one_tensor():
    params = random_grads(4, 10.0)
    bare = nn.Parameter(torch.ones(3))  # no gradient: skipped
    norm = clip_grad_norm([*params, bare], 1.0)
    assert float(norm) > 1.0 and bare.grad is None
    single = random_grads(5, 10.0)[0]
    assert float(clip_grad_norm(single, 1.0)) > 1.0
    assert float(clip_grad_norm([bare], 1.0)) == 0.0


def test_clipping_bad_input():
    params = random_grads(6, 1.0)
    for bad in (0, -1.0, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="max_norm must be a positive number"):
            clip_grad_norm(params, bad)
    params[0].grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm(params, 1.0, error_if_nonfinite=True)
