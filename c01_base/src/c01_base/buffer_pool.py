"""Memory reuse: a pool of output buffers keyed by (shape, dtype), and views instead of copies.

A training or serving loop multiplies matrices of the same few shapes over and
over. Allocating a fresh (M, N) output every step costs an allocation, page
faults on first touch, and work for the allocator and the garbage collector.
A pool keeps buffers that were given back and hands them out again: a *hit*
when a free buffer of the requested (shape, dtype) exists, a *miss* (a new
allocation) otherwise. After the first step of a steady loop nearly every
request is a hit.

A pool is only safe if ownership is explicit: a buffer is either lent (the
caller may write it) or free (the pool may lend it to someone else). So
``release`` refuses a buffer the pool never handed out, and one released twice:
both would let two callers write the same memory.

The same idea, one level down: slicing an ndarray (``x[r0:r1]``) gives a *view*
that shares memory with ``x``; fancy indexing or ``np.concatenate`` copies.
:func:`row_block_views` splits a matrix into row blocks without copying, which
is how the threaded matmul writes into one output.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from c01_base.threaded import row_slices

BufferKey = tuple[tuple[int, ...], np.dtype[Any]]


class BufferPool:
    """Lends and takes back ndarrays, reusing those of the same (shape, dtype).

    Args:
        max_free_per_key: free buffers kept per key; extra released buffers are
            dropped (left to the garbage collector) so the pool cannot grow without bound.

    Thread-safe: one lock guards the free lists, the lent set and the counters.
    """

    def __init__(self, max_free_per_key: int = 4) -> None:
        if max_free_per_key < 0:
            raise ValueError(f"max_free_per_key must be >= 0, got {max_free_per_key}")
        self.max_free_per_key = max_free_per_key
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._free: dict[BufferKey, list[NDArray[Any]]] = {}
        self._lent: dict[int, NDArray[Any]] = {}  # id -> buffer; the reference keeps the id unique
        # Every buffer ever handed out and still alive, to recognise a second release.
        self._issued: weakref.WeakValueDictionary[int, NDArray[Any]] = weakref.WeakValueDictionary()

    @staticmethod
    def key(shape: tuple[int, ...], dtype: DTypeLike) -> BufferKey:
        """The pool key of a request: the shape as a tuple of ints and the canonical dtype."""
        # BEGIN SOLUTION c01.6: normalise the shape to ints (rejecting negatives) and the dtype
        dims = tuple(int(d) for d in shape)
        if any(d < 0 for d in dims):
            raise ValueError(f"shape must have non-negative dimensions, got {shape}")
        return dims, np.dtype(dtype)
        # END SOLUTION

    def acquire(self, shape: tuple[int, ...], dtype: DTypeLike, *, zero: bool = False) -> NDArray[Any]:
        """Lend a buffer of ``shape`` and ``dtype``: a free one (hit) or a new one (miss).

        The contents are undefined (stale data on a hit), like ``np.empty``,
        unless ``zero=True``.
        """
        # BEGIN SOLUTION c01.6: reuse a free buffer of this key (hit) or allocate (miss), mark lent
        key = self.key(shape, dtype)
        with self._lock:
            free = self._free.get(key)
            if free:
                buffer = free.pop()
                self.hits += 1
            else:
                buffer = np.empty(key[0], dtype=key[1])
                self.misses += 1
            self._lent[id(buffer)] = buffer
            self._issued[id(buffer)] = buffer
        if zero:
            buffer.fill(0)
        return buffer
        # END SOLUTION

    def release(self, buffer: NDArray[Any]) -> None:
        """Take back a buffer lent by :meth:`acquire`; the caller must not use it afterwards.

        Raises:
            ValueError: ``buffer`` was already released, is a view of a pooled buffer,
                or was never handed out by this pool.
        """
        # BEGIN SOLUTION c01.6: check the buffer is lent (else say why not), then free it
        with self._lock:
            if self._lent.get(id(buffer)) is buffer:
                del self._lent[id(buffer)]
                free = self._free.setdefault(self.key(buffer.shape, buffer.dtype), [])
                if len(free) < self.max_free_per_key:
                    free.append(buffer)
                return
            if self._issued.get(id(buffer)) is buffer:
                raise ValueError("buffer was already released to this pool (released twice)")
            base = buffer.base
            if isinstance(base, np.ndarray) and self._issued.get(id(base)) is base:
                raise ValueError("buffer is a view of a pooled buffer: release the array acquire() returned")
            raise ValueError("buffer was never handed out by this pool")
        # END SOLUTION

    @contextmanager
    def borrow(self, shape: tuple[int, ...], dtype: DTypeLike) -> Iterator[NDArray[Any]]:
        """``with pool.borrow(shape, dtype) as out:`` acquire, and release even on error."""
        # BEGIN SOLUTION c01.6: acquire, yield, release in finally
        buffer = self.acquire(shape, dtype)
        try:
            yield buffer
        finally:
            self.release(buffer)
        # END SOLUTION

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses); 0.0 before the first request."""
        # BEGIN SOLUTION c01.6: the fraction of requests served from the free lists
        with self._lock:
            requests = self.hits + self.misses
            return self.hits / requests if requests else 0.0
        # END SOLUTION

    @property
    def outstanding(self) -> int:
        """Buffers currently lent and not yet released."""
        # BEGIN SOLUTION c01.6: the size of the lent set
        with self._lock:
            return len(self._lent)
        # END SOLUTION

    @property
    def free_count(self) -> int:
        """Buffers waiting in the free lists, all keys together."""
        # BEGIN SOLUTION c01.6: the total length of the free lists
        with self._lock:
            return sum(len(free) for free in self._free.values())
        # END SOLUTION


def row_block_views(x: NDArray[Any], n_blocks: int) -> list[NDArray[Any]]:
    """Split ``x`` into at most ``n_blocks`` contiguous row blocks that are views (no copy).

    Writing into a block writes into ``x``. Blocks follow :func:`~c01_base.threaded.row_slices`.
    """
    # BEGIN SOLUTION c01.6: basic slicing of x by each row slice (slicing gives views)
    if x.ndim < 1:
        raise ValueError(f"x must have at least one dimension, got a {x.ndim}-D array")
    return [x[rows] for rows in row_slices(x.shape[0], n_blocks)]
    # END SOLUTION
