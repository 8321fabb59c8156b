"""c01.5: the bounded, closable, thread-safe work queue.

Unit behaviour (FIFO, timeouts, close, task_done/join) plus a producer/consumer
stress test under a 1 µs switch interval: every item must arrive exactly once,
the bound must hold, and join() must see every item done.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest

from c01_base import QueueClosedError, WorkQueue

pytestmark = pytest.mark.task("c01.5")

N_PRODUCERS = 4
N_CONSUMERS = 4
ITEMS_PER_PRODUCER = 1_500
MAXSIZE = 8
RUNS = 2
SWITCH_INTERVAL_S = 1e-6
SHORT_TIMEOUT_S = 0.05


@pytest.fixture
def force_interleaving() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_fifo_len_and_task_accounting():
    queue: WorkQueue[int] = WorkQueue()
    for item in range(5):
        queue.put(item)
    assert len(queue) == 5 and queue.unfinished == 5
    assert [queue.get() for _ in range(5)] == list(range(5))
    assert len(queue) == 0 and queue.unfinished == 5
    assert queue.join(timeout=SHORT_TIMEOUT_S) is False  # taken but not done
    for _ in range(5):
        queue.task_done()
    assert queue.join(timeout=SHORT_TIMEOUT_S) is True
    with pytest.raises(ValueError, match="task_done"):
        queue.task_done()
    with pytest.raises(ValueError, match="maxsize"):
        WorkQueue(maxsize=-1)


def test_timeouts():
    queue: WorkQueue[str] = WorkQueue(maxsize=1)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        queue.get(timeout=SHORT_TIMEOUT_S)
    queue.put("x")
    with pytest.raises(TimeoutError):
        queue.put("y", timeout=SHORT_TIMEOUT_S)
    assert time.monotonic() - start < 2.0
    assert queue.get(timeout=0) == "x"


def test_close_drains_then_refuses():
    queue: WorkQueue[int] = WorkQueue()
    queue.put(1)
    queue.close()
    with pytest.raises(QueueClosedError):
        queue.put(2)
    assert queue.get() == 1  # items queued before close stay gettable
    with pytest.raises(QueueClosedError):
        queue.get()


def test_close_wakes_blocked_threads():
    empty: WorkQueue[int] = WorkQueue()
    full: WorkQueue[int] = WorkQueue(maxsize=1)
    full.put(0)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def blocked_get() -> None:
        try:
            empty.get()
        except QueueClosedError:
            outcomes.append("get woke")
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    def blocked_put() -> None:
        try:
            full.put(1)
        except QueueClosedError:
            outcomes.append("put woke")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=blocked_get), threading.Thread(target=blocked_put)]
    for t in threads:
        t.start()
    time.sleep(SHORT_TIMEOUT_S)  # let both block
    empty.close()
    full.close()
    for t in threads:
        t.join(timeout=5)
    if errors:
        raise errors[0]
    assert sorted(outcomes) == ["get woke", "put woke"]


def exchange_items() -> None:
    """One run: producers and consumers share a small queue; check every item arrived once."""
    queue: WorkQueue[tuple[int, int]] = WorkQueue(maxsize=MAXSIZE)
    received: list[list[tuple[int, int]]] = [[] for _ in range(N_CONSUMERS)]
    max_seen_len = 0
    errors: list[BaseException] = []

    def produce(p: int) -> None:
        try:
            for i in range(ITEMS_PER_PRODUCER):
                queue.put((p, i))
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    def consume(c: int) -> None:
        nonlocal max_seen_len
        try:
            while True:
                item = queue.get()
                max_seen_len = max(max_seen_len, len(queue))
                received[c].append(item)
                queue.task_done()
        except QueueClosedError:
            pass
        except BaseException as exc:
            errors.append(exc)

    consumers = [threading.Thread(target=consume, args=(c,)) for c in range(N_CONSUMERS)]
    producers = [threading.Thread(target=produce, args=(p,)) for p in range(N_PRODUCERS)]
    for t in consumers + producers:
        t.start()
    for t in producers:
        t.join()
    if errors:
        queue.close()  # release the consumers before failing
        raise errors[0]
    assert queue.join(timeout=30), "join() timed out: an item was lost or task_done miscounted"
    queue.close()
    for t in consumers:
        t.join(timeout=30)
    if errors:  # re-raise what a thread hit, with its own type
        raise errors[0]
    items = [item for part in received for item in part]
    expected = {(p, i) for p in range(N_PRODUCERS) for i in range(ITEMS_PER_PRODUCER)}
    assert len(items) == len(expected), "an item was lost or delivered twice"
    assert set(items) == expected
    assert max_seen_len <= MAXSIZE
    assert queue.unfinished == 0
    for part in received:  # FIFO per producer, as seen by each consumer
        for p in range(N_PRODUCERS):
            indices = [i for q, i in part if q == p]
            assert indices == sorted(indices)


def test_producers_and_consumers_exchange_every_item_once(force_interleaving):
    for _ in range(RUNS):
        exchange_items()
