"""Dynamic batching: requests queue into micro-batches bounded by a token budget and a wait.

One forward pass over 32 short texts costs far less than 32 passes over one text each
(the matrix products get wider, the per-call overhead is paid once). A server that
runs each request alone wastes that; a server that waits for a full batch adds latency
when traffic is light. A micro-batcher does both well:

* each request becomes a :class:`Job` (its token-id rows and a future) in a FIFO queue;
* the worker takes the oldest job, then keeps adding jobs while the batch's **padded
  tokens** (rows x longest row) stay within ``max_batch_tokens``, and waits for more at
  most ``max_wait_s`` after the oldest job arrived: a full batch goes at once, a lone
  request waits a few milliseconds at most;
* the batch runs in a worker thread (the event loop keeps accepting requests), and each
  job's slice of the result goes back to its caller's future;
* a caller that goes away (client disconnect, timeout) :meth:`cancel`-s its job: still
  queued, it is dropped and never computed;
* an exception in the model fails the jobs of *that* batch only; the worker carries on.

With ``enabled=False`` each batch is exactly one job: the baseline the benchmark compares.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

FloatMatrix = NDArray[np.float32]
ModelFn = Callable[[list[Sequence[int]]], FloatMatrix]  # token-id rows -> (rows, d)


class QueueFullError(Exception):
    """The queue holds ``max_queue`` jobs already."""


class BatchObserver(Protocol):
    """What the batcher reports (metrics, tracing); every method is optional in effect."""

    def queued(self, size: int) -> None: ...
    def batch(self, jobs: Sequence[Job], tokens: int) -> None: ...
    def dropped(self) -> None: ...
    def run_batch(self, jobs: Sequence[Job], call: Callable[[], FloatMatrix]) -> FloatMatrix: ...


class NullObserver:
    def queued(self, size: int) -> None: ...
    def batch(self, jobs: Sequence[Job], tokens: int) -> None: ...
    def dropped(self) -> None: ...
    def run_batch(self, jobs: Sequence[Job], call: Callable[[], FloatMatrix]) -> FloatMatrix:
        return call()


@dataclass(eq=False)
class Job:
    """One caller's rows; ``future`` gets its (len(rows), d) slice of the batch result."""

    rows: list[Sequence[int]]
    future: asyncio.Future[FloatMatrix]
    enqueued_at: float = field(default_factory=time.perf_counter)
    started_at: float | None = None  # when its batch started: queue time = started_at - enqueued_at
    context: Any = None  # the caller's tracing context (the batch span links to it)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def padded_tokens(jobs: Sequence[Job]) -> int:
    """Tokens one forward pass over these jobs computes: all rows padded to the longest."""
    rows = sum(len(j.rows) for j in jobs)
    return rows * max((j.width for j in jobs), default=0)


class MicroBatcher:
    """Queue jobs, run them in micro-batches through ``model`` on one worker thread."""

    def __init__(self, model: ModelFn, *, max_batch_tokens: int = 8192, max_wait_s: float = 0.005,
                 max_queue: int = 1024, enabled: bool = True, observer: BatchObserver | None = None) -> None:
        if max_batch_tokens < 1 or max_wait_s < 0 or max_queue < 1:
            raise ValueError("max_batch_tokens and max_queue must be >= 1 and max_wait_s >= 0")
        self.model, self.max_batch_tokens, self.max_wait_s = model, max_batch_tokens, max_wait_s
        self.max_queue, self.enabled = max_queue, enabled
        self.observer: BatchObserver = observer or NullObserver()
        self._queue: deque[Job] = deque()
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="c08-model")
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.dropped = 0
        self.failure: BaseException | None = None  # what ended the worker, if anything did

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        """Start the worker task on the running event loop."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="c08-batcher")
            self._worker.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        """Keep what killed the worker (a bug): ``close`` re-raises it, and nothing is lost to the GC."""
        if not task.cancelled():
            self.failure = task.exception()

    def submit(self, rows: list[Sequence[int]], context: Any = None) -> Job:
        """Queue ``rows`` (one job); await ``job.future`` for its vectors.

        Raises:
            QueueFullError: ``max_queue`` jobs are waiting already.
            RuntimeError: the batcher is closing.
        """
        # BEGIN SOLUTION c08.4: refuse when closing or full; append; wake the worker; report the size
        if self._closing:
            raise RuntimeError("the batcher is shutting down")
        if len(self._queue) >= self.max_queue:
            raise QueueFullError(f"{len(self._queue)} requests are already waiting for the model")
        job = Job(rows, asyncio.get_running_loop().create_future(), context=context)
        self._queue.append(job)
        self._arrived.set()
        self.observer.queued(len(self._queue))
        return job
        # END SOLUTION

    def cancel(self, job: Job) -> bool:
        """Drop ``job`` if it is still queued (True); a running job's result is simply discarded."""
        # BEGIN SOLUTION c08.4: remove from the queue if there; cancel its future either way
        try:
            self._queue.remove(job)
        except ValueError:
            removed = False
        else:
            removed = True
            self.dropped += 1
            self.observer.dropped()
            self.observer.queued(len(self._queue))
        job.future.cancel()
        return removed
        # END SOLUTION

    def _take_batch(self) -> list[Job]:
        """Pop the jobs of the next batch: the oldest, then more while the padded tokens fit."""
        # BEGIN SOLUTION c08.4: oldest first; stop at the first job that would break the budget
        batch = [self._queue.popleft()]
        while self.enabled and self._queue and padded_tokens([*batch, self._queue[0]]) <= self.max_batch_tokens:
            batch.append(self._queue.popleft())
        return batch
        # END SOLUTION

    def _full(self) -> bool:
        return not self.enabled or padded_tokens(self._queue) >= self.max_batch_tokens

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # BEGIN SOLUTION c08.4: wait for a job; wait (bounded) for more; run the batch; route results
            if not self._queue:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            deadline = self._queue[0].enqueued_at + self.max_wait_s
            while not self._full() and not self._closing and (left := deadline - time.perf_counter()) > 0:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    break
            jobs = self._take_batch()
            self.observer.queued(len(self._queue))
            rows = [row for job in jobs for row in job.rows]
            started = time.perf_counter()
            for job in jobs:
                job.started_at = started
            self.batches += 1
            self.observer.batch(jobs, padded_tokens(jobs))
            try:
                vectors = await loop.run_in_executor(
                    self._executor, self.observer.run_batch, jobs, functools.partial(self.model, rows))
            except Exception as err:  # the model failed: only this batch's callers see it
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(err)
                continue
            start = 0
            for job in jobs:
                if not job.future.done():
                    job.future.set_result(vectors[start : start + len(job.rows)])
                start += len(job.rows)
            # END SOLUTION

    async def close(self) -> None:
        """Finish the queued jobs, then stop the worker and its thread."""
        self._closing = True
        self._arrived.set()
        if self._worker is not None:
            await self._worker
            self._worker = None
        self._executor.shutdown(wait=True)
