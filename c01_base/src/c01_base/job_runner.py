"""An asyncio job runner: bounded concurrency, per-job timeouts, cancellation, per-job status.

Serving and data pipelines run many I/O-bound jobs (requests, downloads, calls
to a model server) concurrently in one thread with asyncio. Three controls keep
that from going wrong:

* **Bounded concurrency.** An ``asyncio.Semaphore(max_concurrency)`` admits at
  most that many jobs at once; the rest wait their turn instead of opening a
  thousand connections at once.
* **Timeouts.** Each job runs under ``asyncio.timeout(...)`` (counted from when
  it starts running, not from when it started waiting); one hung job costs its
  timeout, not the whole batch.
* **Cancellation.** :meth:`JobRunner.cancel` cancels one job by name, queued or
  running. Cancelling the whole ``run()`` call cancels every job and propagates
  (asyncio's contract: a cancelled caller must not swallow the cancellation).

Every job ends in exactly one :class:`JobResult` with a :class:`JobStatus`; one
failing job never aborts the others. CPU-bound work (a matmul) does not belong
on the event loop: wrap it in ``asyncio.to_thread`` inside the job.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JobStatus(enum.Enum):
    """How a job ended."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Job(Generic[T]):
    """A named unit of async work; ``run`` is called once to create its coroutine."""

    name: str
    run: Callable[[], Awaitable[T]]
    timeout_s: float | None = None  # overrides the runner's default when set


@dataclass(frozen=True)
class JobResult(Generic[T]):
    """The outcome of one job: ``value`` when OK, ``error`` when FAILED or TIMED_OUT."""

    name: str
    status: JobStatus
    value: T | None = None
    error: BaseException | None = None
    elapsed_s: float = 0.0  # running time, not counting the wait for a semaphore slot


class JobRunner:
    """Runs batches of :class:`Job` with at most ``max_concurrency`` running at once.

    Args:
        max_concurrency: the semaphore size, at least 1.
        default_timeout_s: timeout for jobs that set none; ``None`` = no timeout.
    """

    def __init__(self, max_concurrency: int, default_timeout_s: float | None = None) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.default_timeout_s = default_timeout_s
        self.running = 0  # jobs inside the semaphore right now
        self.peak_running = 0  # the most that were ever running at once
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._cancel_requested: set[str] = set()

    async def run(self, jobs: Sequence[Job[T]]) -> list[JobResult[T]]:
        """Run every job and return their results in the order of ``jobs``.

        Raises:
            ValueError: two jobs share a name (names address :meth:`cancel`).
            asyncio.CancelledError: the caller cancelled ``run`` itself; every job
                is cancelled first.
        """
        # BEGIN SOLUTION c01.5: a task per job in a TaskGroup, one shared semaphore, ordered results
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique, got {names}")
        semaphore = asyncio.Semaphore(self.max_concurrency)
        self._tasks, self._cancel_requested = {}, set()
        tasks: list[asyncio.Task[JobResult[T]]] = []
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                task = group.create_task(self._run_one(job, semaphore), name=job.name)
                self._tasks[job.name] = task
                tasks.append(task)
        # A job cancelled before its first step never ran _run_one's handler.
        return [
            JobResult(job.name, JobStatus.CANCELLED) if task.cancelled() else task.result()
            for job, task in zip(jobs, tasks, strict=True)
        ]
        # END SOLUTION

    def cancel(self, name: str) -> bool:
        """Cancel the job called ``name`` (queued or running); ``False`` if it already ended."""
        # BEGIN SOLUTION c01.5: remember the request (unlike an outer cancel), cancel the task
        task = self._tasks.get(name)
        if task is None or task.done():
            return False
        self._cancel_requested.add(name)
        return task.cancel()
        # END SOLUTION

    async def _run_one(self, job: Job[T], semaphore: asyncio.Semaphore) -> JobResult[T]:
        """Run one job: wait for a slot, run it under its timeout, classify the outcome."""
        # BEGIN SOLUTION c01.5: take a semaphore slot, run under asyncio.timeout, map the outcome
        timeout_s = job.timeout_s if job.timeout_s is not None else self.default_timeout_s
        deadline: asyncio.Timeout | None = None
        start = time.perf_counter()
        try:
            async with semaphore:
                start = time.perf_counter()  # the timeout and elapsed_s count running time only
                self.running += 1
                self.peak_running = max(self.peak_running, self.running)
                try:
                    deadline = asyncio.timeout(timeout_s)  # the clock starts here, not in the queue
                    async with deadline:
                        value = await job.run()
                finally:
                    self.running -= 1
        except asyncio.CancelledError:
            if job.name not in self._cancel_requested:
                raise  # the caller cancelled run(): propagate
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # this cancellation is handled: report it, do not propagate
            return JobResult(job.name, JobStatus.CANCELLED, elapsed_s=time.perf_counter() - start)
        except Exception as exc:
            # A TimeoutError the job raised by itself is a failure, not our timeout.
            expired = deadline is not None and deadline.expired()
            status = JobStatus.TIMED_OUT if expired else JobStatus.FAILED
            return JobResult(job.name, status, error=exc, elapsed_s=time.perf_counter() - start)
        return JobResult(job.name, JobStatus.OK, value=value, elapsed_s=time.perf_counter() - start)
        # END SOLUTION
