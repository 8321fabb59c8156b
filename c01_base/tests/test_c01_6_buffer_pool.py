"""c01.6: the buffer pool (hits, misses, ownership checks) and views instead of copies.

The metric ``pool_hit_rate`` comes from a realistic reuse loop: a two-layer
forward pass over mini-batches for several epochs, every output taken from the
pool, written in place by the threaded matmul, and given back.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from c01_base import BufferPool, matmul_threaded, row_block_views

pytestmark = pytest.mark.task("c01.6")

SWITCH_INTERVAL_S = 1e-6
N_THREADS = 8
CYCLES_PER_THREAD = 300
# Reuse loop: 1000 samples in batches of 128 (the last batch has 104), 5 epochs, two layers.
N_SAMPLES, BATCH, EPOCHS = 1000, 128, 5
FEATURES, HIDDEN, CLASSES = 32, 64, 10
# Outputs agree with numpy to float64 rounding over a reduction of at most 64 terms.
RTOL = 1e-12


@pytest.fixture
def force_interleaving() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_hit_after_release_returns_the_same_buffer():
    pool = BufferPool()
    assert pool.hit_rate == 0.0
    first = pool.acquire((4, 3), np.float64)
    assert first.shape == (4, 3) and first.dtype == np.float64
    assert (pool.hits, pool.misses, pool.outstanding) == (0, 1, 1)
    pool.release(first)
    assert (pool.outstanding, pool.free_count) == (0, 1)
    second = pool.acquire((4, 3), "float64")  # same key, spelled differently
    assert second is first
    assert (pool.hits, pool.misses) == (1, 1) and pool.hit_rate == 0.5


def test_keys_distinguish_shape_and_dtype():
    pool = BufferPool()
    a = pool.acquire((4, 3), np.float64)
    pool.release(a)
    b = pool.acquire((3, 4), np.float64)  # same size, other shape: a miss
    c = pool.acquire((4, 3), np.float32)  # same shape, other dtype: a miss
    assert b is not a and c is not a and pool.misses == 3
    assert pool.acquire((np.int64(4), 3), np.float64) is a  # numpy ints are normalised
    with pytest.raises(ValueError, match="non-negative"):
        pool.acquire((-1, 3), np.float64)


def test_refuses_foreign_double_and_view_releases():
    pool = BufferPool()
    with pytest.raises(ValueError, match="never handed out"):
        pool.release(np.empty((4, 3)))
    buffer = pool.acquire((4, 3), np.float32)
    with pytest.raises(ValueError, match="view of a pooled buffer"):
        pool.release(buffer[1:])
    pool.release(buffer)
    with pytest.raises(ValueError, match="released twice"):
        pool.release(buffer)
    other = BufferPool()
    with pytest.raises(ValueError, match="never handed out"):
        other.release(pool.acquire((4, 3), np.float32))


def test_free_list_is_bounded():
    pool = BufferPool(max_free_per_key=2)
    buffers = [pool.acquire((8,), np.float64) for _ in range(5)]
    for buffer in buffers:
        pool.release(buffer)
    assert pool.free_count == 2 and pool.outstanding == 0
    with pytest.raises(ValueError, match="released twice"):  # even a dropped buffer is known
        pool.release(buffers[-1])
    with pytest.raises(ValueError, match="max_free_per_key"):
        BufferPool(max_free_per_key=-1)


def test_zero_and_borrow():
    pool = BufferPool()
    with pool.borrow((2, 2), np.float64) as buffer:
        buffer[...] = 7.0
    assert pool.outstanding == 0
    assert not pool.acquire((2, 2), np.float64, zero=True).any()  # a hit, but cleared
    with pytest.raises(RuntimeError, match="boom"), pool.borrow((5,), np.int32):
        raise RuntimeError("boom")
    assert pool.outstanding == 1  # only the zeroed buffer above, still lent


def test_no_buffer_is_lent_twice_under_contention(force_interleaving):
    pool = BufferPool(max_free_per_key=N_THREADS)
    barrier = threading.Barrier(N_THREADS)
    errors: list[BaseException] = []

    def cycle(owner: int) -> None:
        barrier.wait()
        try:
            for _ in range(CYCLES_PER_THREAD):
                buffer = pool.acquire((16,), np.int64)
                buffer.fill(owner)
                assert (buffer == owner).all(), "another thread holds the same buffer"
                pool.release(buffer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cycle, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:  # re-raise what a thread hit, with its own type
        raise errors[0]
    assert pool.hits + pool.misses == N_THREADS * CYCLES_PER_THREAD
    assert pool.outstanding == 0 and pool.misses <= N_THREADS


def test_row_block_views_share_memory():
    x = np.arange(30.0).reshape(10, 3)
    blocks = row_block_views(x, 4)
    assert [len(b) for b in blocks] == [3, 3, 2, 2]
    assert all(np.shares_memory(block, x) for block in blocks)
    blocks[1][...] = -1.0  # writing a view writes x
    assert (x[3:6] == -1.0).all()
    assert not np.shares_memory(x[[0, 1]], x)  # fancy indexing copies: the contrast
    with pytest.raises(ValueError, match="at least one dimension"):
        row_block_views(np.float64(1.0), 2)


def test_pool_hit_rate(metric):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((N_SAMPLES, FEATURES))
    w1, w2 = rng.standard_normal((FEATURES, HIDDEN)), rng.standard_normal((HIDDEN, CLASSES))
    pool = BufferPool()
    for _ in range(EPOCHS):
        for start in range(0, N_SAMPLES, BATCH):
            x = data[start : start + BATCH]  # a view of the data set, not a copy
            assert np.shares_memory(x, data)
            hidden = pool.acquire((len(x), HIDDEN), np.float64)
            assert matmul_threaded(x, w1, out=hidden, n_workers=2) is hidden
            logits = pool.acquire((len(x), CLASSES), np.float64)
            matmul_threaded(hidden, w2, out=logits, n_workers=2)
            np.testing.assert_allclose(logits, (x @ w1) @ w2, rtol=RTOL, atol=RTOL)
            pool.release(hidden)
            pool.release(logits)
    assert pool.outstanding == 0
    assert pool.misses == 4  # two layers x two batch sizes, allocated once each
    metric("pool_hit_rate", pool.hit_rate)
