"""A bounded, closable, thread-safe work queue built on one lock and two conditions.

Producer threads ``put`` work items, consumer threads ``get`` them. Three things
make this harder than a list:

* **Mutual exclusion.** The deque, the count of unfinished items and the closed
  flag are only touched while holding ``self._lock``.
* **Waiting without spinning.** A consumer facing an empty queue waits on the
  ``_not_empty`` condition and is woken by ``put``; a producer facing a full
  queue (``maxsize``) waits on ``_not_full``: *backpressure*, so a fast producer
  cannot fill memory. Waits sit in ``while`` loops because a woken thread must
  re-check: another thread may have taken the item first.
* **Shutting down.** ``close`` wakes every waiter; consumers drain what is left and
  then get :class:`QueueClosedError`, so a worker loop ends without a sentinel per worker.

``task_done``/``join`` let a producer wait until every item was *processed*, not
just taken, like :class:`queue.Queue`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueClosedError(Exception):
    """Raised by ``put`` on a closed queue, and by ``get`` on a closed, drained queue."""


class WorkQueue(Generic[T]):
    """A FIFO queue for many producer and consumer threads.

    Args:
        maxsize: the most items held at once (``put`` blocks beyond it); 0 = unbounded.
    """

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize < 0:
            raise ValueError(f"maxsize must be >= 0, got {maxsize}")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._unfinished = 0  # items put but not yet marked task_done
        self._closed = False
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)

    def put(self, item: T, timeout: float | None = None) -> None:
        """Append ``item``, waiting while the queue is full.

        Raises:
            QueueClosedError: the queue is (or becomes, while waiting) closed.
            TimeoutError: still full after ``timeout`` seconds.
        """
        # BEGIN SOLUTION c01.5: wait for room (or close/timeout), append, count it, wake a getter
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._not_full:
            while not self._closed and self.maxsize and len(self._items) >= self.maxsize:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"queue still full after {timeout} s")
                self._not_full.wait(remaining)
            if self._closed:
                raise QueueClosedError("put on a closed queue")
            self._items.append(item)
            self._unfinished += 1
            self._not_empty.notify()
        # END SOLUTION

    def get(self, timeout: float | None = None) -> T:
        """Remove and return the oldest item, waiting while the queue is empty.

        Raises:
            QueueClosedError: the queue is closed and has no items left.
            TimeoutError: still empty after ``timeout`` seconds.
        """
        # BEGIN SOLUTION c01.5: wait for an item (or close/timeout), pop it, wake a putter
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._not_empty:
            while not self._items:
                if self._closed:
                    raise QueueClosedError("get on a closed, drained queue")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"queue still empty after {timeout} s")
                self._not_empty.wait(remaining)
            item = self._items.popleft()
            self._not_full.notify()
            return item
        # END SOLUTION

    def task_done(self) -> None:
        """Mark one item returned by ``get`` as processed.

        Raises:
            ValueError: called more times than items were put.
        """
        # BEGIN SOLUTION c01.5: decrement the unfinished count, wake join() at zero
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called more times than items were put")
            self._unfinished -= 1
            if self._unfinished == 0:
                self._all_done.notify_all()
        # END SOLUTION

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put so far is marked done; ``False`` on timeout."""
        # BEGIN SOLUTION c01.5: wait on the all-done condition until nothing is unfinished
        with self._all_done:
            return self._all_done.wait_for(lambda: self._unfinished == 0, timeout)
        # END SOLUTION

    def close(self) -> None:
        """Refuse new items and wake every waiting thread; items already queued stay gettable."""
        # BEGIN SOLUTION c01.5: set the flag and notify all waiters on both conditions
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
        # END SOLUTION

    @property
    def unfinished(self) -> int:
        """Items put but not yet marked done."""
        # BEGIN SOLUTION c01.5: read the count under the lock
        with self._lock:
            return self._unfinished
        # END SOLUTION

    def __len__(self) -> int:
        """Items currently waiting to be taken."""
        # BEGIN SOLUTION c01.5: read the length under the lock
        with self._lock:
            return len(self._items)
        # END SOLUTION
