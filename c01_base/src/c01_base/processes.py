"""Process-parallel matmul over ``multiprocessing.shared_memory``: no copies, no leaks.

Processes sidestep the GIL entirely, but they do not share an address space:
sending a matrix to a worker through a ``Pool`` pickles it, copies the bytes
through a pipe and unpickles a second copy, and the result travels back the same
way. For an n x n float64 matmul that is three n² copies per worker.

Shared memory avoids all of them. The parent creates named segments (files in
``/dev/shm`` on Linux) for A, B and C, and sends each worker only a tiny
:class:`RowBlockTask`: segment names, shapes, dtype and its row range. The
worker *attaches* to the segments by name, wraps them in ndarrays (no copy) and
writes its rows of C in place, exactly like the threaded version.

Segments are an OS resource that outlives the process that forgot them, so the
parent closes and unlinks every segment it created in a ``finally`` block, after
waiting for every worker, even when a worker raised. Use :meth:`SharedArray.create`
to allocate inputs and the output directly in shared memory so that not even the
first copy into a segment is needed.

Workers are started with the "spawn" method: forking a parent that already runs
numba or BLAS threads can deadlock the child. Spawning costs about a second per
pool, so pass a long-lived ``executor`` when calling repeatedly.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import secrets
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from c01_base.threaded import row_slices
from c01_base.validation import check_matmul_operands, check_output

SEGMENT_PREFIX = "c01mm_"  # every segment this module creates is named SEGMENT_PREFIX + random hex


@dataclass(frozen=True)
class SegmentSpec:
    """Everything a process needs to view a shared segment as an ndarray (a few bytes)."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class RowBlockTask:
    """One worker's job: ``c[start:stop] = a[start:stop] @ b`` on attached segments."""

    a: SegmentSpec
    b: SegmentSpec
    c: SegmentSpec
    start: int
    stop: int
    fail: bool = False  # test hook: raise after attaching, to exercise the cleanup path


class SharedArray:
    """An ndarray whose memory is a named shared-memory segment.

    The creator owns the segment and must ``unlink`` it; every process (creator
    included) must ``close`` its own mapping. Used as a context manager, a
    created array is closed and unlinked on exit, an attached one only closed.
    """

    def __init__(self, shm: SharedMemory, spec: SegmentSpec, *, owner: bool) -> None:
        self._shm = shm
        self.spec = spec
        self.owner = owner
        self._array: NDArray[Any] | None = None
        self._closed = False
        self._unlinked = False

    @classmethod
    def create(cls, shape: tuple[int, ...], dtype: DTypeLike) -> SharedArray:
        """Allocate a new segment big enough for ``shape`` x ``dtype`` (contents undefined)."""
        # BEGIN SOLUTION c01.3: create a SEGMENT_PREFIX-named segment (>= 1 byte), wrap it
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        name = SEGMENT_PREFIX + secrets.token_hex(6)
        # A segment of size 0 is an error, so empty arrays get a 1-byte segment.
        shm = SharedMemory(name=name, create=True, size=max(nbytes, 1))
        return cls(shm, SegmentSpec(shm.name, tuple(shape), dt.str), owner=True)
        # END SOLUTION

    @classmethod
    def from_array(cls, x: NDArray[Any]) -> SharedArray:
        """Create a segment holding a copy of ``x`` (the one copy shared memory still costs)."""
        # BEGIN SOLUTION c01.3: create a segment of x's shape and dtype and copy x into it
        shared = cls.create(x.shape, x.dtype)
        shared.array[...] = x
        return shared
        # END SOLUTION

    @classmethod
    def attach(cls, spec: SegmentSpec) -> SharedArray:
        """Map an existing segment by name (in a worker); the caller must ``close`` it."""
        # BEGIN SOLUTION c01.3: open the segment by name without creating it
        return cls(SharedMemory(name=spec.name, create=False), spec, owner=False)
        # END SOLUTION

    @property
    def array(self) -> NDArray[Any]:
        """The segment viewed as an ndarray of ``spec.shape`` and ``spec.dtype`` (no copy)."""
        # BEGIN SOLUTION c01.3: build (once) an ndarray over the segment's buffer with np.frombuffer
        if self._closed or self._shm.buf is None:
            raise ValueError(f"shared segment {self.spec.name} is closed")
        if self._array is None:
            # np.frombuffer keeps the buffer exported, so close() refuses (BufferError) while a
            # view is alive; np.ndarray(buffer=...) would not, and a view could outlive the mapping.
            count = int(np.prod(self.spec.shape, dtype=np.int64))
            flat = np.frombuffer(self._shm.buf, np.dtype(self.spec.dtype), count)
            self._array = flat.reshape(self.spec.shape)
        return self._array
        # END SOLUTION

    def close(self) -> None:
        """Drop this process's mapping; idempotent.

        Raises:
            BufferError: ndarray views of ``array`` are still alive (``del`` them first);
                the mapping stays open and ``close`` can be called again.
        """
        # BEGIN SOLUTION c01.3: drop our cached ndarray (it pins the buffer), then close the mapping
        if self._closed:
            return
        self._array = None
        try:
            self._shm.close()
        except BufferError as exc:
            raise BufferError(
                f"cannot close shared segment {self.spec.name}: ndarray views of it are still alive; delete them first"
            ) from exc
        self._closed = True
        # END SOLUTION

    def unlink(self) -> None:
        """Remove the segment's name (memory is freed once every mapping closes); idempotent."""
        # BEGIN SOLUTION c01.3: only the owner unlinks, once; a segment already gone is fine
        if not self.owner:
            raise ValueError(f"only the creator may unlink shared segment {self.spec.name}")
        if not self._unlinked:
            self._unlinked = True
            with contextlib.suppress(FileNotFoundError):
                self._shm.unlink()
        # END SOLUTION

    def __enter__(self) -> SharedArray:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        finally:
            if self.owner:
                self.unlink()


def compute_row_block(task: RowBlockTask) -> None:
    """Worker entry point: attach to the three segments and fill rows ``start:stop`` of c."""
    # BEGIN SOLUTION c01.3: attach, matmul the row block into c in place, always close the mappings
    attached: list[SharedArray] = []
    views: list[NDArray[Any]] = []
    try:
        for spec in (task.a, task.b, task.c):
            attached.append(SharedArray.attach(spec))
        views = [shared.array for shared in attached]
        if task.fail:
            raise RuntimeError(f"injected failure in row block {task.start}:{task.stop}")
        rows = slice(task.start, task.stop)
        # c[rows] = a[rows] @ b: (rows, K) @ (K, N) -> (rows, N), written in place
        np.matmul(views[0][rows], views[1], out=views[2][rows])
    finally:
        # Every view pins the mapping, even one a traceback holds: drop them before close.
        views.clear()
        for shared in attached:
            shared.close()
    # END SOLUTION


def make_process_executor(
    n_workers: int, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``n_workers`` processes started with "spawn" (safe next to threads).

    ``initializer(*initargs)`` runs once in each worker, e.g. to cap its BLAS threads.
    """
    return ProcessPoolExecutor(
        max_workers=n_workers, mp_context=mp.get_context("spawn"), initializer=initializer, initargs=initargs
    )


def _check_call(
    a: NDArray[np.floating[Any]] | SharedArray,
    b: NDArray[np.floating[Any]] | SharedArray,
    out: NDArray[np.floating[Any]] | SharedArray | None,
    n_workers: int,
    check_finite: bool,
) -> tuple[tuple[int, int], np.dtype[Any]]:
    """Validate a :func:`matmul_processes` call; return the result's shape and dtype.

    A separate function on purpose: the views of shared segments made here die with
    this frame. Left in ``matmul_processes``' frame, they would be kept alive by the
    traceback of a worker's exception and stop the caller from closing its segments.
    """
    # BEGIN SOLUTION c01.3: check the operands (via .array for a SharedArray), n_workers and out
    a_arr = a.array if isinstance(a, SharedArray) else a
    b_arr = b.array if isinstance(b, SharedArray) else b
    a_arr, b_arr = check_matmul_operands(a_arr, b_arr, check_finite=check_finite)
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    shape = (a_arr.shape[0], b_arr.shape[1])  # (M, K) @ (K, N) -> (M, N)
    if out is not None:
        check_output(out.array if isinstance(out, SharedArray) else out, shape, a_arr.dtype, a_arr, b_arr)
    return shape, a_arr.dtype
    # END SOLUTION


def matmul_processes(
    a: NDArray[np.floating[Any]] | SharedArray,
    b: NDArray[np.floating[Any]] | SharedArray,
    *,
    n_workers: int = 2,
    out: NDArray[np.floating[Any]] | SharedArray | None = None,
    executor: Executor | None = None,
    check_finite: bool = False,
    fail_block: int | None = None,
) -> NDArray[np.floating[Any]]:
    """Multiply ``a @ b`` in ``n_workers`` processes that share memory with the caller.

    Args:
        a: (M, K) float32/float64 matrix, either an ndarray (copied once into a
            temporary segment) or a :class:`SharedArray` (used in place).
        b: (K, N) matrix of the same dtype, same two options.
        n_workers: number of row blocks, at least 1.
        out: optional (M, N) output: a :class:`SharedArray` is filled in place
            and its ``array`` returned (no copy); an ndarray receives a copy of the
            result; ``None`` returns a new ndarray.
        executor: a process pool to reuse (see :func:`make_process_executor`);
            when omitted one is spawned and shut down in this call.
        check_finite: reject NaN/inf inputs with a ValueError.
        fail_block: test hook; the worker for this row-block index raises.

    Returns:
        The (M, N) product.

    Raises:
        RuntimeError / any worker exception: re-raised in the caller, after every
            segment created by this call has been closed and unlinked.
    """
    # BEGIN SOLUTION c01.3: validate, put operands in segments, dispatch tasks, clean up in finally
    shape, dtype = _check_call(a, b, out, n_workers, check_finite)
    created: list[SharedArray] = []  # segments this call owns and must unlink
    futures: list[Future[None]] = []
    pool = executor if executor is not None else make_process_executor(n_workers)
    try:
        shared_a = a if isinstance(a, SharedArray) else SharedArray.from_array(a)
        if shared_a is not a:
            created.append(shared_a)
        shared_b = b if isinstance(b, SharedArray) else SharedArray.from_array(b)
        if shared_b is not b:
            created.append(shared_b)
        shared_c = out if isinstance(out, SharedArray) else SharedArray.create(shape, dtype)
        if shared_c is not out:
            created.append(shared_c)
        specs = (shared_a.spec, shared_b.spec, shared_c.spec)  # names, shapes, dtypes: a few bytes
        for index, rows in enumerate(row_slices(shape[0], n_workers)):
            task = RowBlockTask(*specs, rows.start, rows.stop, fail=index == fail_block)
            futures.append(pool.submit(compute_row_block, task))
        for future in futures:
            future.result()  # re-raises the first worker exception
        if isinstance(out, SharedArray):
            return out.array
        if out is not None:
            out[...] = shared_c.array
            return out
        return shared_c.array.copy()  # the segment dies below, so the result must move out
    finally:
        # Never unlink under a running worker: cancel what has not started, wait for the rest.
        for future in futures:
            future.cancel()
        wait(futures)
        for shared in created:
            try:
                shared.close()
            finally:
                shared.unlink()
        if executor is None:
            pool.shutdown(wait=True)
    # END SOLUTION
