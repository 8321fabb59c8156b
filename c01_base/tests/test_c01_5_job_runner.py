"""c01.5: the asyncio job runner (bounded concurrency, timeouts, cancellation, statuses).

Each test drives its own event loop with ``asyncio.run``. Sleeps are short, and
the assertions are about order and status, never about precise timing.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from c01_base import Accumulator, Job, JobResult, JobRunner, JobStatus

pytestmark = pytest.mark.task("c01.5")

TICK_S = 0.01  # a job's "work"
HANG_S = 30.0  # longer than any test: only a timeout or a cancel ends it


def sleeper(value: int, seconds: float = TICK_S):
    async def run() -> int:
        await asyncio.sleep(seconds)
        return value

    return run


def test_results_in_job_order_with_values():
    jobs = [Job(f"job{i}", sleeper(i, TICK_S * (5 - i))) for i in range(5)]  # finish in reverse
    results = asyncio.run(JobRunner(max_concurrency=5).run(jobs))
    assert [r.name for r in results] == [f"job{i}" for i in range(5)]
    assert [r.status for r in results] == [JobStatus.OK] * 5
    assert [r.value for r in results] == list(range(5))
    assert all(r.error is None and r.elapsed_s >= 0 for r in results)


def test_concurrency_is_bounded_and_reached():
    running, peak = 0, 0

    def tracked(i: int):
        async def run() -> int:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(TICK_S)
            running -= 1
            return i

        return run

    runner = JobRunner(max_concurrency=3)
    results = asyncio.run(runner.run([Job(str(i), tracked(i)) for i in range(12)]))
    assert all(r.status is JobStatus.OK for r in results)
    assert peak == 3 and runner.peak_running == 3
    assert runner.running == 0


def test_timeout_failure_and_success_are_reported_per_job():
    async def boom() -> int:
        raise ValueError("bad input")

    async def own_timeout() -> int:  # a TimeoutError the job raises itself is a failure
        raise TimeoutError("upstream said so")

    jobs = [
        Job("ok", sleeper(1)),
        Job("hangs", sleeper(2, HANG_S), timeout_s=0.05),
        Job("fails", boom),
        Job("own-timeout", own_timeout),
    ]
    start = time.monotonic()
    results = {r.name: r for r in asyncio.run(JobRunner(max_concurrency=2).run(jobs))}
    assert time.monotonic() - start < HANG_S / 3
    assert results["ok"].status is JobStatus.OK and results["ok"].value == 1
    assert results["hangs"].status is JobStatus.TIMED_OUT
    assert isinstance(results["hangs"].error, TimeoutError)
    assert results["fails"].status is JobStatus.FAILED
    assert isinstance(results["fails"].error, ValueError)
    assert results["own-timeout"].status is JobStatus.FAILED


def test_default_timeout_and_per_job_override():
    jobs = [Job("default", sleeper(0, HANG_S)), Job("override", sleeper(1, 0.05), timeout_s=5.0)]
    results = asyncio.run(JobRunner(max_concurrency=2, default_timeout_s=0.02).run(jobs))
    assert [r.status for r in results] == [JobStatus.TIMED_OUT, JobStatus.OK]


def test_timeout_counts_running_time_not_queueing_time():
    # One slot: "second" waits 0.3 s for "first", longer than its 0.25 s timeout, but runs 0.01 s.
    jobs = [Job("first", sleeper(0, 0.3)), Job("second", sleeper(1, 0.01), timeout_s=0.25)]
    results = asyncio.run(JobRunner(max_concurrency=1).run(jobs))
    assert [r.status for r in results] == [JobStatus.OK, JobStatus.OK]


def test_cancel_running_and_queued_jobs_by_name():
    runner = JobRunner(max_concurrency=1)
    cancelled: dict[str, bool] = {}

    async def cancel_soon() -> None:
        await asyncio.sleep(0.05)  # "slow" is running, "queued" waits for the slot
        cancelled["queued"] = runner.cancel("queued")
        cancelled["slow"] = runner.cancel("slow")
        cancelled["unknown"] = runner.cancel("unknown")

    async def main() -> list[JobResult[int]]:
        jobs = [Job("slow", sleeper(0, HANG_S)), Job("queued", sleeper(1, HANG_S))]
        results, _ = await asyncio.gather(runner.run(jobs), cancel_soon())
        return results

    start = time.monotonic()
    results = asyncio.run(main())
    assert time.monotonic() - start < HANG_S / 3
    assert [r.status for r in results] == [JobStatus.CANCELLED, JobStatus.CANCELLED]
    assert cancelled == {"queued": True, "slow": True, "unknown": False}


def test_cancel_before_a_job_starts_and_after_it_ends():
    runner = JobRunner(max_concurrency=2)

    async def canceller() -> str:
        # Runs first (tasks start in creation order): "victim" has not taken a step yet.
        assert runner.cancel("victim") is True
        await asyncio.sleep(0)
        return "done"

    results = asyncio.run(runner.run([Job("canceller", canceller), Job("victim", sleeper(1, HANG_S))]))
    assert [r.status for r in results] == [JobStatus.OK, JobStatus.CANCELLED]
    assert runner.cancel("canceller") is False  # already finished


def test_cancelling_run_itself_cancels_every_job_and_propagates():
    started, cleaned_up = [], []

    def hanging(name: str):
        async def run() -> None:
            started.append(name)
            try:
                await asyncio.sleep(HANG_S)
            finally:
                cleaned_up.append(name)

        return run

    async def main() -> None:
        runner = JobRunner(max_concurrency=2)
        task = asyncio.create_task(runner.run([Job(n, hanging(n)) for n in "abc"]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert sorted(started) == ["a", "b"]  # "c" never got a slot
    assert sorted(cleaned_up) == ["a", "b"]


def test_cpu_work_goes_to_threads_and_reports_safely():
    acc = Accumulator()

    def blocking_work(i: int) -> int:
        acc.add_many([1.0] * 100)
        return i * i

    def job(i: int):
        async def run() -> int:
            return await asyncio.to_thread(blocking_work, i)

        return run

    results = asyncio.run(JobRunner(max_concurrency=4).run([Job(str(i), job(i)) for i in range(20)]))
    assert [r.value for r in results] == [i * i for i in range(20)]
    assert acc.snapshot().count == 2000


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_concurrency"):
        JobRunner(max_concurrency=0)
    with pytest.raises(ValueError, match="unique"):
        asyncio.run(JobRunner(2).run([Job("x", sleeper(0)), Job("x", sleeper(1))]))
