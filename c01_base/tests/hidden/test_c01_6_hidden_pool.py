"""c01.6 (hidden): pool ownership edge cases and a multi-threaded reuse loop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from c01_base import BufferPool, matmul_threaded

pytestmark = pytest.mark.task("c01.6")


def test_zero_capacity_pool_never_hits_but_still_tracks_ownership():
    pool = BufferPool(max_free_per_key=0)
    buffer = pool.acquire((3,), np.float64)
    pool.release(buffer)
    assert pool.free_count == 0
    with pytest.raises(ValueError, match="released twice"):
        pool.release(buffer)
    assert pool.acquire((3,), np.float64) is not buffer and pool.hits == 0


def test_empty_and_scalar_shapes():
    pool = BufferPool()
    for shape in [(0,), (0, 5), ()]:
        buffer = pool.acquire(shape, np.float32)
        assert buffer.shape == shape
        pool.release(buffer)
        assert pool.acquire(shape, np.float32) is buffer


def test_threads_share_one_pool_for_their_outputs():
    rng = np.random.default_rng(30)
    a, b = rng.standard_normal((40, 20)), rng.standard_normal((20, 30))
    expected = a @ b
    pool = BufferPool(max_free_per_key=4)
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            for _ in range(50):
                with pool.borrow((40, 30), np.float64) as out:
                    matmul_threaded(a, b, out=out, n_workers=2)
                    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:  # re-raise what a thread hit, with its own type
        raise errors[0]
    assert pool.outstanding == 0 and pool.misses <= 4 and pool.hit_rate >= 0.95
