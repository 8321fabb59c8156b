"""Reverse-mode automatic differentiation on numpy, from scratch (task c04.1).

``torch.autograd`` does one thing: while you compute, it records a graph of
operations; ``loss.backward()`` then walks that graph from the output back to
the inputs and applies the chain rule once per node. This file builds the same
machine in a few hundred lines so that nothing about it is magic.

A :class:`Tensor` holds a float64 numpy array (``data``), a gradient of the
same shape (``grad``, filled by :meth:`Tensor.backward`), the tensors it was
computed from (``_parents``) and a closure (``_backward``) that, given the
gradient of the output, adds each parent's share to that parent's ``grad``.

Two details matter as much as the derivatives themselves:

* **Broadcasting.** ``x + b`` with x (B, N) and b (N,) adds b to every row, so
  b's gradient is the *sum* of the output gradient over the broadcast rows.
  :func:`unbroadcast` sums a gradient back down to the shape of its input.
* **Order.** A node may feed several others (``y = x * x + x``); its gradient
  is complete only after every consumer has sent its share. :meth:`Tensor.backward`
  therefore visits nodes in reverse topological order, and gradients are
  *accumulated* (``+=``), never assigned.

The ops: ``+``, ``-``, ``*``, ``@`` (2-D), :meth:`~Tensor.relu`,
:meth:`~Tensor.tanh`, :meth:`~Tensor.exp`, :meth:`~Tensor.log`,
:meth:`~Tensor.sum` and :meth:`~Tensor.mean`; the loss,
:func:`~c04_dl_fundamentals.losses.softmax_cross_entropy`, is in ``losses.py``.
Tests compare every gradient with ``torch.autograd`` on random graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _no_backward(grad: FloatArray) -> None:
    """The backward closure of a leaf: nothing to propagate."""


def unbroadcast(grad: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``.

    Example: an input of shape (N,) broadcast to (B, N) gets ``grad.sum(axis=0)``;
    an input of shape (B, 1) broadcast to (B, N) gets ``grad.sum(axis=1, keepdims=True)``.
    """
    # BEGIN SOLUTION c04.1: sum away the leading axes broadcasting added, then the size-1 axes it stretched
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"cannot unbroadcast a gradient of shape {grad.shape} to the larger shape {shape}")
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"cannot unbroadcast a gradient of shape {grad.shape} to shape {shape}")
    return grad
    # END SOLUTION


class Tensor:
    """A float64 array that remembers how it was computed, so gradients can flow back.

    Args:
        data: numbers (a Python scalar, nested lists or an ndarray of a real dtype).
            The array is copied and stored as float64.
        requires_grad: whether :meth:`backward` should compute a gradient for this tensor.
    """

    # numpy scalars on the left (np.float64(2) * t) defer to our __rmul__ instead of broadcasting
    __array_priority__ = 1000

    data: FloatArray
    grad: FloatArray | None
    requires_grad: bool
    _parents: tuple[Tensor, ...]
    _backward: Callable[[FloatArray], None]  # given d loss / d self, adds each parent's share to its grad
    _op: str

    def __init__(self, data: ArrayLike, requires_grad: bool = False) -> None:
        # BEGIN SOLUTION c04.1: store a float64 copy; TypeError for bool/complex/object/str data
        array = np.asarray(data)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"Tensor data must be real numbers (int or float), got dtype {array.dtype}")
        self.data = np.array(array, dtype=np.float64)  # a copy: never alias the caller's array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = _no_backward
        self._op = "leaf"
        # END SOLUTION

    # ------------------------------------------------------------------ plumbing (given)
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, op={self._op!r}, requires_grad={self.requires_grad})"

    def item(self) -> float:
        return float(self.data.item())

    def numpy(self) -> FloatArray:
        """A copy of the values (the graph cannot be changed through it)."""
        return self.data.copy()

    def zero_grad(self) -> None:
        self.grad = None

    def _child(self, data: FloatArray, parents: Sequence[Tensor], op: str) -> Tensor:
        """A new graph node computed from ``parents``; it needs a gradient if any parent does."""
        out = Tensor(data)
        out.requires_grad = any(p.requires_grad for p in parents)
        out._parents = tuple(parents)
        out._op = op
        return out

    @staticmethod
    def _accumulate(target: Tensor, grad: FloatArray) -> None:
        """``target.grad += grad`` (creating it on first use), for tensors that want a gradient."""
        if target.requires_grad:
            target.grad = grad.copy() if target.grad is None else target.grad + grad

    # ------------------------------------------------------------------ elementwise ops
    def __add__(self, other: Tensor | float | int) -> Tensor:
        # BEGIN SOLUTION c04.1: broadcast-checked forward; backward unbroadcasts grad to each input
        other = as_tensor(other)
        _check_broadcast(self, other, "+")
        out = self._child(self.data + other.data, (self, other), "add")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, unbroadcast(grad, self.shape))
            Tensor._accumulate(other, unbroadcast(grad, other.shape))

        out._backward = backward
        return out
        # END SOLUTION

    def __mul__(self, other: Tensor | float | int) -> Tensor:
        # BEGIN SOLUTION c04.1: d(a*b)/da = b and d(a*b)/db = a, each unbroadcast
        other = as_tensor(other)
        _check_broadcast(self, other, "*")
        out = self._child(self.data * other.data, (self, other), "mul")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, unbroadcast(grad * other.data, self.shape))
            Tensor._accumulate(other, unbroadcast(grad * self.data, other.shape))

        out._backward = backward
        return out
        # END SOLUTION

    def __radd__(self, other: Tensor | float | int) -> Tensor:
        return self + other

    def __rmul__(self, other: Tensor | float | int) -> Tensor:
        return self * other

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Tensor | float | int) -> Tensor:
        return self + (-as_tensor(other))

    def __rsub__(self, other: Tensor | float | int) -> Tensor:
        return as_tensor(other) + (-self)

    def __matmul__(self, other: Tensor) -> Tensor:
        """(M, K) @ (K, N) -> (M, N); only 2-D operands."""
        # BEGIN SOLUTION c04.1: check both are 2-D with matching inner dims; dA = dC @ B.T, dB = A.T @ dC
        other = as_tensor(other)
        for name, operand in (("left", self), ("right", other)):
            if operand.ndim != 2:
                raise ValueError(f"matmul needs 2-D operands; the {name} operand has shape {operand.shape}")
        if self.shape[1] != other.shape[0]:
            raise ValueError(
                f"cannot matmul shapes {self.shape} and {other.shape}: "
                f"inner dimensions {self.shape[1]} and {other.shape[0]} differ"
            )
        out = self._child(self.data @ other.data, (self, other), "matmul")  # (M, N)

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, grad @ other.data.T)  # (M, N) @ (N, K) -> (M, K)
            Tensor._accumulate(other, self.data.T @ grad)  # (K, M) @ (M, N) -> (K, N)

        out._backward = backward
        return out
        # END SOLUTION

    def relu(self) -> Tensor:
        # BEGIN SOLUTION c04.1: max(x, 0); the gradient passes where x > 0 (0 at x == 0, like torch)
        out = self._child(np.maximum(self.data, 0.0), (self,), "relu")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, grad * (self.data > 0))

        out._backward = backward
        return out
        # END SOLUTION

    def tanh(self) -> Tensor:
        # BEGIN SOLUTION c04.1: d tanh(x) = 1 - tanh(x)^2, reusing the forward value
        value = np.tanh(self.data)
        out = self._child(value, (self,), "tanh")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, grad * (1.0 - value * value))

        out._backward = backward
        return out
        # END SOLUTION

    def exp(self) -> Tensor:
        # BEGIN SOLUTION c04.1: d exp(x) = exp(x), reusing the forward value
        value = np.exp(self.data)
        out = self._child(value, (self,), "exp")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, grad * value)

        out._backward = backward
        return out
        # END SOLUTION

    def log(self) -> Tensor:
        """Natural log; a ValueError for any value <= 0 (instead of silent -inf/NaN)."""
        # BEGIN SOLUTION c04.1: refuse non-positive values, then d log(x) = 1 / x
        if np.any(self.data <= 0):
            raise ValueError(f"log of a non-positive value (min {self.data.min():.3g}); shift or clamp the input")
        out = self._child(np.log(self.data), (self,), "log")

        def backward(grad: FloatArray) -> None:
            Tensor._accumulate(self, grad / self.data)

        out._backward = backward
        return out
        # END SOLUTION

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        # BEGIN SOLUTION c04.1: forward np.sum; backward broadcasts grad back over the summed axes
        axes = _normalise_axes(axis, self.ndim)
        out = self._child(np.sum(self.data, axis=axes, keepdims=keepdims), (self,), "sum")

        def backward(grad: FloatArray) -> None:
            grad = grad if keepdims else np.expand_dims(grad, axes)
            Tensor._accumulate(self, np.broadcast_to(grad, self.shape).copy())

        out._backward = backward
        return out
        # END SOLUTION

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        # BEGIN SOLUTION c04.1: the sum divided by the number of elements reduced (reuse sum and mul)
        axes = _normalise_axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        if count == 0:
            raise ValueError(f"mean over an empty axis of a tensor of shape {self.shape}")
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)
        # END SOLUTION

    # ------------------------------------------------------------------ backward pass
    def backward(self, grad: ArrayLike | None = None) -> None:
        """Fill ``.grad`` of every tensor this one depends on (and that requires a gradient).

        Args:
            grad: the gradient of some scalar with respect to this tensor, of this
                tensor's shape; omitted, this tensor must hold one element and the
                seed is 1 (d loss / d loss).
        """
        # BEGIN SOLUTION c04.1: seed the gradient, sort the graph topologically, run _backward in reverse
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element output; this tensor has shape "
                    f"{self.shape} (pass grad=... of that shape, or reduce with .sum() first)"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(grad, dtype=np.float64)
            if seed.shape != self.shape:
                raise ValueError(f"grad has shape {seed.shape} but the tensor has shape {self.shape}")
        # Iterative depth-first search (a recursive one overflows the stack on deep graphs).
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)  # post-order: every input of node is already in the list
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents if id(parent) not in visited)
        for node in order:  # inner nodes get fresh gradients each pass; only leaves accumulate
            if node._parents:
                node.grad = None
        self.grad = seed.copy() if self.grad is None else self.grad + seed
        for node in reversed(order):  # outputs before inputs: each node's grad is complete when used
            if node.requires_grad and node.grad is not None:
                node._backward(node.grad)
        # END SOLUTION


def as_tensor(value: Any) -> Tensor:
    """``value`` itself if it is a Tensor, else a constant Tensor (no gradient)."""
    return value if isinstance(value, Tensor) else Tensor(value)


def _check_broadcast(a: Tensor, b: Tensor, symbol: str) -> None:
    """A clear ValueError when ``a`` and ``b`` cannot broadcast together."""
    # BEGIN SOLUTION c04.1: np.broadcast_shapes raises on mismatch: re-raise naming both shapes
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"cannot broadcast shapes {a.shape} {symbol} {b.shape}") from None
    # END SOLUTION


def _normalise_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (``None``: every axis)."""
    # BEGIN SOLUTION c04.1: None means all axes; wrap negatives; reject out-of-range and repeated axes
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalised = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        normalised.append(a % ndim)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(normalised))
    # END SOLUTION

