"""c04.1: the numpy autograd engine agrees with torch.autograd.

Oracle: torch.autograd in float64 on the same graph. Random graphs mix every op
(broadcasting adds, products, matmul, relu, tanh, exp, log, sums and means with
and without keepdims) and end in a sum, a mean or a softmax cross-entropy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import given, settings
from hypothesis import strategies as st

from c04_dl_fundamentals import Tensor, softmax_cross_entropy, unbroadcast

pytestmark = pytest.mark.task("c04.1")

# Tolerance. Both engines compute in float64 (eps 2.2e-16); a graph of at most 8 ops
# loses a few ulps per op, so the gradients agree to ~1e-14 relative. The metric and the
# property tests use max |g - g_torch| / max(1, max |g_torch|): absolute for gradients
# below 1, relative above (products of products can reach 1e3), checked against 1e-6.
GRAD_TOLERANCE = 1e-6
METRIC_GRAPHS = 300  # seeded random graphs for the metric
OPS = ("add", "add_bias", "add_col", "sub", "mul", "scale", "rsub", "matmul", "relu", "tanh", "exp_tanh",
       "log_square", "sum_rows", "mean_cols")
HEADS = ("sum", "mean", "xent")


@dataclass(frozen=True)
class Graph:
    """A random computation: leaves X (m, n), W (n, n), b (n,), c (m, 1), then ops on a pool of nodes."""

    m: int
    n: int
    seed: int
    ops: tuple[tuple[str, int, int], ...]
    head: str


class OursBackend:
    @staticmethod
    def leaf(array):
        return Tensor(array, requires_grad=True)

    @staticmethod
    def reduce(v, kind, axis, keepdims):
        return v.sum(axis=axis, keepdims=keepdims) if kind == "sum" else v.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def xent(logits, targets):
        return softmax_cross_entropy(logits, targets)

    @staticmethod
    def grad(t):
        return t.grad


class TorchBackend:
    @staticmethod
    def leaf(array):
        return torch.tensor(array, dtype=torch.float64, requires_grad=True)

    @staticmethod
    def reduce(v, kind, axis, keepdims):
        if axis is None:
            return v.sum() if kind == "sum" else v.mean()
        return v.sum(dim=axis, keepdim=keepdims) if kind == "sum" else v.mean(dim=axis, keepdim=keepdims)

    @staticmethod
    def xent(logits, targets):
        return F.cross_entropy(logits, torch.as_tensor(targets))

    @staticmethod
    def grad(t):
        return None if t.grad is None else t.grad.numpy()


def run_graph(graph: Graph, backend) -> list[np.ndarray]:
    """Build the graph with ``backend``, backpropagate, return the leaves' gradients (zeros if unused)."""
    rng = np.random.default_rng(graph.seed)
    m, n = graph.m, graph.n
    arrays = [rng.uniform(-1.5, 1.5, shape) for shape in ((m, n), (n, n), (n,), (m, 1))]
    leaves = [backend.leaf(a) for a in arrays]
    x, w, b, c = leaves
    pool = [x]
    for op, i, j in graph.ops:
        u, v = pool[i % len(pool)], pool[j % len(pool)]
        if op == "add":
            out = u + v
        elif op == "add_bias":
            out = u + b  # (m, n) + (n,)
        elif op == "add_col":
            out = c + u  # (m, 1) + (m, n)
        elif op == "sub":
            out = u - v
        elif op == "mul":
            out = u * v
        elif op == "scale":
            out = 0.5 * u
        elif op == "rsub":
            out = 1.0 - u
        elif op == "matmul":
            out = u @ w  # (m, n) @ (n, n)
        elif op == "relu":
            out = u.relu()
        elif op == "tanh":
            out = u.tanh()
        elif op == "exp_tanh":
            out = u.tanh().exp()
        elif op == "log_square":
            out = (u * u + 1.0).log()
        elif op == "sum_rows":
            out = u + backend.reduce(v, "sum", 0, True)  # (m, n) + (1, n)
        else:  # mean_cols
            out = u * backend.reduce(v, "mean", 1, True)  # (m, n) * (m, 1)
        pool.append(out)
    last = pool[-1]
    if graph.head == "sum":
        loss = backend.reduce(last, "sum", None, False)
    elif graph.head == "mean":
        loss = backend.reduce(last, "mean", None, False)
    else:
        loss = backend.xent(last, rng.integers(0, n, size=m))
    loss.backward()
    grads = [backend.grad(t) for t in leaves]
    return [np.zeros_like(a) if g is None else g for g, a in zip(grads, arrays, strict=True)]


def grad_error(graph: Graph) -> float:
    ours, theirs = run_graph(graph, OursBackend), run_graph(graph, TorchBackend)
    return max(float(np.max(np.abs(g - r), initial=0.0)) / max(1.0, float(np.max(np.abs(r), initial=0.0)))
               for g, r in zip(ours, theirs, strict=True))


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    ops = draw(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 99), st.integers(0, 99)),
                        min_size=1, max_size=8))
    return Graph(draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(0, 2**32 - 1)),
                 tuple(ops), draw(st.sampled_from(HEADS)))


@settings(deadline=None, max_examples=120, derandomize=True, database=None)
@given(graph=graphs())
def test_random_graphs_match_torch(graph):
    assert grad_error(graph) <= GRAD_TOLERANCE


def test_autograd_max_grad_error(metric):
    rng = np.random.default_rng(0)
    worst = 0.0
    for k in range(METRIC_GRAPHS):
        ops = tuple((str(rng.choice(OPS)), int(rng.integers(100)), int(rng.integers(100)))
                    for _ in range(rng.integers(1, 9)))
        graph = Graph(int(rng.integers(1, 6)), int(rng.integers(1, 6)), k, ops, str(rng.choice(HEADS)))
        worst = max(worst, grad_error(graph))
    metric("autograd_max_grad_error", worst)


def test_a_node_used_twice_accumulates_both_paths():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()  # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_allclose(x.grad, [3.0, -3.0, 7.0])


def test_shared_subexpression_diamond():
    x = Tensor(2.0, requires_grad=True)
    y = x.tanh()
    z = y * y + y.exp()  # y feeds two branches
    z.backward()
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    yt = xt.tanh()
    (yt * yt + yt.exp()).backward()
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-14)


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() + 500):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_backward_twice_accumulates_like_torch():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_non_scalar_backward_takes_an_upstream_gradient():
    rng = np.random.default_rng(1)
    a, upstream = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = Tensor(a, requires_grad=True)
    (x.tanh() * 2.0).backward(upstream)
    xt = torch.tensor(a, requires_grad=True)
    (xt.tanh() * 2.0).backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-13)
    with pytest.raises(ValueError, match=r"one-element output.*shape \(3, 4\)"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the tensor has shape \(3, 4\)"):
        (x * 2.0).backward(np.ones(2))


def test_constants_get_no_gradient_and_relu_at_zero_is_zero():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    k = Tensor([5.0, 5.0, 5.0])  # a constant
    (x.relu() * k).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 5.0])  # torch's relu gradient at 0 is 0 too
    assert k.grad is None


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]])
    targets = np.array([2, 1])
    x = Tensor(logits, requires_grad=True)
    loss = softmax_cross_entropy(x, targets)
    loss.backward()
    xt = torch.tensor(logits, requires_grad=True)
    expected = F.cross_entropy(xt, torch.tensor(targets))
    expected.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), atol=1e-15)


@pytest.mark.parametrize(
    ("grad_shape", "shape", "expected"),
    [((2, 3), (3,), [2.0, 2.0, 2.0]), ((2, 3), (2, 1), [[3.0], [3.0]]), ((2, 3), (1, 1), [[6.0]]),
     ((4, 2, 3), (2, 3), np.full((2, 3), 4.0)), ((2, 3), (), 6.0), ((2, 3), (2, 3), np.ones((2, 3)))],
)
def test_unbroadcast(grad_shape, shape, expected):
    got = unbroadcast(np.ones(grad_shape), shape)
    assert got.shape == shape
    np.testing.assert_array_equal(got, expected)


def test_values_and_repr():
    x = Tensor([[1, 2], [3, 4]])  # integers become float64
    assert x.data.dtype == np.float64 and x.shape == (2, 2) and x.ndim == 2
    assert "shape=(2, 2)" in repr(x)
    y = x.sum()
    assert y.item() == 10.0 and y.numpy() == 10.0
    assert x.mean(axis=0).numpy().tolist() == [2.0, 3.0]
    assert (x.sum(axis=-1, keepdims=True)).shape == (2, 1)
    source = np.ones(3)
    t = Tensor(source)
    source[0] = 7.0
    assert t.data[0] == 1.0  # a copy, not a view


BAD_CONSTRUCTION = [("abc", r"dtype <U3"), ([True, False], r"dtype bool"), (np.ones(2, complex), r"complex128"),
                    (np.array([None]), r"dtype object")]


@pytest.mark.parametrize(("data", "message"), BAD_CONSTRUCTION)
def test_bad_data_raises_a_type_error(data, message):
    with pytest.raises(TypeError, match=message):
        Tensor(data)


def test_bad_shapes_raise_clear_errors():
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"cannot matmul shapes \(3, 4\) and \(5, 2\): inner dimensions 4 and 5"):
        a @ b
    with pytest.raises(ValueError, match=r"2-D operands; the right operand has shape \(4,\)"):
        a @ Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(3, 4\) \+ \(3,\)"):
        a + Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(3, 4\) \* \(2, 4\)"):
        a * Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"axis 2 is out of range"):
        a.sum(axis=2)
    with pytest.raises(ValueError, match=r"repeated axis"):
        a.sum(axis=(0, -2))
    with pytest.raises(ValueError, match=r"mean over an empty axis"):
        Tensor(np.ones((0, 3))).mean(axis=0)
    with pytest.raises(ValueError, match=r"log of a non-positive value"):
        Tensor([1.0, 0.0]).log()


def test_bad_cross_entropy_inputs():
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"logits must be a Tensor"):
        softmax_cross_entropy(np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match=r"non-empty \(B, C\) tensor, got shape \(3,\)"):
        softmax_cross_entropy(Tensor(np.zeros(3)), [0])
    with pytest.raises(TypeError, match=r"integer class indices, got dtype float64"):
        softmax_cross_entropy(logits, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\)"):
        softmax_cross_entropy(logits, [0, 1, 2])
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\), got values from 0 to 3"):
        softmax_cross_entropy(logits, [0, 3])
