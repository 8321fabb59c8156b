"""A thread-safe accumulator: why ``x += 1`` is not atomic, and how one lock fixes it.

Worker threads often report into one shared object: a loss sum, a count of rows
processed, the elapsed time per block. ``self.total += float(value)`` looks like
one step but is several bytecodes (load total, call float, add, store); the
interpreter may switch threads between them, and then two threads both load the
old total, both add, and one update is lost. The GIL does not prevent this: it
makes each *bytecode* atomic, not each line. (CPython only switches at some
bytecodes, such as calls and loop back-edges, so a race can hide for years and
appear with a new Python version; the tests shrink the switch interval to make
it show up at once.)

The fix is to make every read-modify-write, and every read that must see a
consistent state, hold the same :class:`threading.Lock`. ``count`` and ``total``
are updated together under the lock, so :meth:`Accumulator.snapshot` never sees
one without the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of an accumulator at one instant."""

    count: int
    total: float
    minimum: float
    maximum: float

    @property
    def mean(self) -> float:
        """The mean of the values added so far (NaN when there are none)."""
        return self.total / self.count if self.count else float("nan")


class Accumulator:
    """Running count, sum, min and max of floats, safe to update from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._total = 0.0
        self._minimum = float("inf")
        self._maximum = float("-inf")

    def add(self, value: float) -> None:
        """Add one value (one atomic update of all four statistics)."""
        # BEGIN SOLUTION c01.5: update count, total, minimum and maximum under the lock
        with self._lock:
            self._count += 1
            self._total += float(value)  # float(): numpy scalars and ints are accepted too
            self._minimum = min(self._minimum, float(value))
            self._maximum = max(self._maximum, float(value))
        # END SOLUTION

    def add_many(self, values: Iterable[float]) -> None:
        """Add several values; reduced locally first so the lock is taken only once."""
        # BEGIN SOLUTION c01.5: reduce the values without the lock, then merge under it
        items = [float(v) for v in values]
        if not items:
            return
        count, total, low, high = len(items), sum(items), min(items), max(items)
        with self._lock:
            self._count += count
            self._total += total
            self._minimum = min(self._minimum, low)
            self._maximum = max(self._maximum, high)
        # END SOLUTION

    def snapshot(self) -> Snapshot:
        """Read all statistics at one instant (never a count from before and a total from after)."""
        # BEGIN SOLUTION c01.5: read all four fields under the lock
        with self._lock:
            return Snapshot(self._count, self._total, self._minimum, self._maximum)
        # END SOLUTION

    def reset(self) -> Snapshot:
        """Return the current statistics and start over, atomically."""
        # BEGIN SOLUTION c01.5: read and clear under one lock acquisition
        with self._lock:
            current = Snapshot(self._count, self._total, self._minimum, self._maximum)
            self._count, self._total = 0, 0.0
            self._minimum, self._maximum = float("inf"), float("-inf")
        return current
        # END SOLUTION
