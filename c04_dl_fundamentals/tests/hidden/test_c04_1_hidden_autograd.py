"""c04.1 (hidden): more shapes and corner cases for the autograd engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from c04_dl_fundamentals import Tensor, softmax_cross_entropy

pytestmark = pytest.mark.task("c04.1")

TOLERANCE = 1e-12  # float64 on both sides, a handful of ops


def both(arrays):
    return [Tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def test_broadcasting_on_both_sides():
    rng = np.random.default_rng(20)
    arrays = [rng.standard_normal((3, 1)), rng.standard_normal((1, 4))]
    (a, b), (at, bt) = both(arrays)
    ((a * b + a) * b).mean().backward()
    ((at * bt + at) * bt).mean().backward()
    np.testing.assert_allclose(a.grad, at.grad.numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), atol=TOLERANCE)


def test_rectangular_matmul_chain_and_tuple_axes():
    rng = np.random.default_rng(21)
    arrays = [rng.standard_normal((2, 5)), rng.standard_normal((5, 3)), rng.standard_normal((3, 7))]
    (x, w1, w2), (xt, w1t, w2t) = both(arrays)
    ((x @ w1).tanh() @ w2).mean(axis=(0, 1)).backward()
    ((xt @ w1t).tanh() @ w2t).mean(dim=(0, 1)).backward()
    for ours, theirs in ((x, xt), (w1, w1t), (w2, w2t)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=TOLERANCE)


def test_zero_dimensional_and_scalar_operands():
    x = Tensor(3.0, requires_grad=True)
    y = 2.0 * x * x - x + 1  # python scalars on both sides
    y.backward()
    assert x.shape == () and x.grad == pytest.approx(11.0)
    z = Tensor(2.0, requires_grad=True)
    (5 - z).backward()
    assert z.grad == pytest.approx(-1.0)


def test_cross_entropy_one_row_and_one_class():
    for shape, targets in (((1, 4), [3]), ((3, 1), [0, 0, 0])):
        logits = np.random.default_rng(22).standard_normal(shape)
        x = Tensor(logits, requires_grad=True)
        softmax_cross_entropy(x, np.array(targets)).backward()
        xt = torch.tensor(logits, requires_grad=True)
        F.cross_entropy(xt, torch.tensor(targets)).backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), atol=TOLERANCE)


def test_exp_log_round_trip_gradient():
    x = Tensor([0.3, -1.2, 2.0], requires_grad=True)
    x.exp().log().sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(3), atol=1e-15)


def test_negative_zero_and_huge_log_inputs_are_refused():
    with pytest.raises(ValueError, match="non-positive"):
        Tensor([-0.0]).log()
    with pytest.raises(ValueError, match="non-positive"):
        Tensor([[1.0, -3.0]]).log()


def test_backward_twice_through_the_same_graph_accumulates_only_in_leaves():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    loss.backward()  # torch: the same with retain_graph=True
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # 2 * (2x), not more
