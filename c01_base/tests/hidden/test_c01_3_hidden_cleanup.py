"""c01.3 (hidden): cleanup when the parent side fails, and caller-owned segments survive."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pytest

from c01_base import SEGMENT_PREFIX, SharedArray, make_process_executor, matmul_processes

pytestmark = [
    pytest.mark.task("c01.3"),
    pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm (Linux)"),
]


def our_segments() -> set[str]:
    return {p.name for p in Path("/dev/shm").iterdir() if p.name.startswith(SEGMENT_PREFIX)}


class FailsOnSecondSubmit(Executor):
    """Runs the first task for real, then fails in the parent like a full or broken pool."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.submitted += 1
        if self.submitted == 2:
            raise RuntimeError("parent-side failure while dispatching")
        return self.inner.submit(fn, *args, **kwargs)


def test_parent_failure_unlinks_call_segments_but_not_the_callers():
    rng = np.random.default_rng(20)
    pool = make_process_executor(2)
    try:
        with SharedArray.from_array(rng.standard_normal((12, 5))) as sa:
            before = our_segments()
            assert sa.spec.name in before
            with pytest.raises(RuntimeError, match="parent-side failure"):
                matmul_processes(sa, rng.standard_normal((5, 4)), n_workers=3, executor=FailsOnSecondSubmit(pool))
            after = our_segments()
            assert after <= before, "a segment created by the failed call survived"
            assert sa.spec.name in after, "the caller's own segment must not be unlinked"
            # The failed call must not have broken the caller's segment or the pool.
            b = rng.standard_normal((5, 4))
            np.testing.assert_allclose(matmul_processes(sa, b, executor=pool), sa.array @ b, rtol=1e-12)
    finally:
        pool.shutdown()


def test_worker_failure_with_every_operand_shared():
    rng = np.random.default_rng(21)
    pool = make_process_executor(2)
    try:
        with (
            SharedArray.from_array(rng.standard_normal((6, 4))) as sa,
            SharedArray.from_array(rng.standard_normal((4, 3))) as sb,
            SharedArray.create((6, 3), np.float64) as sc,
        ):
            before = our_segments()
            with pytest.raises(RuntimeError, match="injected failure"):
                matmul_processes(sa, sb, out=sc, n_workers=2, executor=pool, fail_block=0)
            assert our_segments() == before  # nothing created, nothing of the caller's removed
    finally:
        pool.shutdown()
