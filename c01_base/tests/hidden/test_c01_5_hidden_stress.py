"""c01.5 (hidden): heavier stress for the accumulator, the queue and the job runner."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from c01_base import Accumulator, Job, JobRunner, JobStatus, QueueClosedError, WorkQueue

pytestmark = pytest.mark.task("c01.5")

SWITCH_INTERVAL_S = 1e-6


def run_threads(target, n_threads: int) -> None:
    """Run target(i) in n_threads threads; re-raise the first exception any of them hit."""
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # never let an error die with its thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.fixture(autouse=True)
def force_interleaving():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    yield
    sys.setswitchinterval(previous)


def test_sixteen_threads_of_mixed_values():
    acc = Accumulator()
    n_threads, per_thread = 16, 1_500

    def add(i: int) -> None:
        for step in range(per_thread):
            acc.add(i * per_thread + step)

    run_threads(add, n_threads)
    n = n_threads * per_thread
    snap = acc.snapshot()
    assert (snap.count, snap.total) == (n, float(n * (n - 1) // 2))
    assert (snap.minimum, snap.maximum) == (0.0, float(n - 1))


def test_queue_as_a_worker_pool_with_one_item_slot():
    queue: WorkQueue[int] = WorkQueue(maxsize=1)
    results = Accumulator()
    n_items = 2_000

    def producer_then_consumers(i: int) -> None:
        if i == 0:
            try:
                for item in range(n_items):
                    queue.put(item)
                assert queue.join(timeout=30), "join() timed out"
            finally:
                queue.close()  # ends the consumers, also when a put failed
            return
        try:
            while True:
                results.add(queue.get())
                queue.task_done()
        except QueueClosedError:
            pass

    run_threads(producer_then_consumers, 7)
    snap = results.snapshot()
    assert (snap.count, snap.total) == (n_items, float(n_items * (n_items - 1) // 2))


def test_two_hundred_jobs_with_failures_and_timeouts():
    def job(i: int):
        async def run() -> int:
            await asyncio.sleep(0.001 if i % 10 else 30.0)  # every 10th job hangs
            if i % 7 == 0:
                raise ValueError(i)
            return i

        return run

    # 1 s: a 1 ms job must not time out when a busy machine stalls the event loop for 200 ms.
    runner = JobRunner(max_concurrency=7, default_timeout_s=1.0)
    results = asyncio.run(runner.run([Job(str(i), job(i)) for i in range(200)]))
    for i, result in enumerate(results):
        if i % 10 == 0:
            assert result.status is JobStatus.TIMED_OUT
        elif i % 7 == 0:
            assert result.status is JobStatus.FAILED
        else:
            assert (result.status, result.value) == (JobStatus.OK, i)
    assert runner.peak_running == 7 and runner.running == 0
