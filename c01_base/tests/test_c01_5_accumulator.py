"""c01.5: the thread-safe accumulator.

Race tests shrink the interpreter's thread switch interval to 1 µs so threads
are preempted between almost every pair of bytecodes: an unguarded
read-modify-write then loses updates in practically every run, instead of once
in a blue moon. Each stress test repeats a few runs to be sure.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from c01_base import Accumulator

pytestmark = pytest.mark.task("c01.5")

N_THREADS = 8
ADDS_PER_THREAD = 4_000
RUNS = 3
SWITCH_INTERVAL_S = 1e-6


@pytest.fixture
def force_interleaving() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_together(target: Callable[[int], None], n_threads: int = N_THREADS) -> None:
    """Run target(i) in n_threads threads released at the same instant; re-raise any error."""
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_statistics():
    acc = Accumulator()
    assert acc.snapshot().count == 0 and math.isnan(acc.snapshot().mean)
    for value in (3.0, -1.5, 10.0):
        acc.add(value)
    acc.add_many([0.5, 2.0])
    acc.add_many([])
    snap = acc.snapshot()
    assert (snap.count, snap.total, snap.minimum, snap.maximum) == (5, 14.0, -1.5, 10.0)
    assert snap.mean == pytest.approx(2.8)


def test_reset_returns_and_clears():
    acc = Accumulator()
    acc.add_many(range(4))
    assert acc.reset().total == 6.0
    snap = acc.snapshot()
    assert (snap.count, snap.total) == (0, 0.0)
    assert snap.minimum == math.inf and snap.maximum == -math.inf


def add_ones_concurrently() -> Accumulator:
    acc = Accumulator()

    def adder(i: int) -> None:
        for _ in range(ADDS_PER_THREAD):
            acc.add(1.0)

    run_together(adder)
    return acc


def test_concurrent_adds_lose_no_update(force_interleaving):
    for _ in range(RUNS):
        snap = add_ones_concurrently().snapshot()
        assert snap.count == N_THREADS * ADDS_PER_THREAD, "lost count updates: a race"
        assert snap.total == float(N_THREADS * ADDS_PER_THREAD), "lost total updates: a race"


def test_concurrent_add_many_and_add_agree(force_interleaving):
    acc = Accumulator()

    def mixed(i: int) -> None:
        for step in range(ADDS_PER_THREAD // 4):
            if (i + step) % 2:
                acc.add(float(i))
            else:
                acc.add_many([float(i)] * 3)

    run_together(mixed)
    steps = range(ADDS_PER_THREAD // 4)
    expected_count = sum(1 if (i + s) % 2 else 3 for i in range(N_THREADS) for s in steps)
    expected_total = sum(float(i) * (1 if (i + s) % 2 else 3) for i in range(N_THREADS) for s in steps)
    snap = acc.snapshot()
    assert snap.count == expected_count
    assert snap.total == expected_total
    assert snap.minimum == 0.0 and snap.maximum == float(N_THREADS - 1)


def test_snapshots_are_consistent_while_writers_run(force_interleaving):
    """Every add is +1 to count and +1.0 to total, so any consistent snapshot has total == count."""
    acc = Accumulator()
    stop = threading.Event()
    torn: list[tuple[int, float]] = []

    def worker(i: int) -> None:
        if i == 0:  # one reader
            while not stop.is_set():
                snap = acc.snapshot()
                if snap.total != snap.count:
                    torn.append((snap.count, snap.total))
        else:
            try:
                for _ in range(ADDS_PER_THREAD):
                    acc.add(1.0)
            finally:
                if i == 1:  # also on error, or the reader would spin forever
                    stop.set()

    run_together(worker, n_threads=4)
    assert not torn, f"snapshot saw a half-applied add, e.g. {torn[0]}"


def test_reset_under_load_loses_nothing(force_interleaving):
    """A reader drains with reset() while writers add: every add is drained exactly once."""
    acc = Accumulator()
    drained: list[float] = []
    writers_done = threading.Event()
    n_writers = N_THREADS - 1
    reader_errors: list[BaseException] = []

    def drain() -> None:
        try:
            while not writers_done.is_set():
                drained.append(acc.reset().total)
        except BaseException as exc:  # re-raised below
            reader_errors.append(exc)

    def write(i: int) -> None:
        for _ in range(ADDS_PER_THREAD // 2):
            acc.add(1.0)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        run_together(write, n_threads=n_writers)
    finally:
        writers_done.set()
        reader.join()
    if reader_errors:
        raise reader_errors[0]
    total = sum(drained) + acc.reset().total
    assert total == float(n_writers * (ADDS_PER_THREAD // 2)), "reset lost or duplicated adds"
