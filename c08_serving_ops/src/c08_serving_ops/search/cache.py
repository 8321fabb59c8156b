"""A result cache: least-recently-used eviction, a time to live, hit and miss counters.

Search traffic repeats itself (the same popular queries), and a hybrid search costs a
model call plus two index lookups. The cache keys each request by its *normalised*
form (query whitespace collapsed and lower-cased, every other field as sent, keys
sorted), so trivially different spellings of one request share an entry.

An entry lives ``ttl_s`` seconds; at most ``max_entries`` live at once (the least
recently used goes first). Any document write clears the cache: a cached answer
must never hide a change.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

V = TypeVar("V")


def normalise_request(request: Mapping[str, Any]) -> str:
    """The cache key of a search request: canonical JSON with the query's case and spacing folded."""
    # BEGIN SOLUTION c08.5: fold the query; sorted keys; compact separators
    folded = dict(request)
    if isinstance(folded.get("query"), str):
        folded["query"] = " ".join(folded["query"].split()).lower()
    return json.dumps(folded, sort_keys=True, separators=(",", ":"), default=str)
    # END SOLUTION


class TTLCache(Generic[V]):
    """``max_entries`` values for ``ttl_s`` seconds each, LRU eviction, thread-safe, clock injected."""

    def __init__(self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 0 or not ttl_s > 0:
            raise ValueError(f"need max_entries >= 0 and ttl_s > 0, got {max_entries}, {ttl_s}")
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> V | None:
        """The live value of ``key`` (a hit, now most recent), or None (a miss; an expired entry is dropped)."""
        # BEGIN SOLUTION c08.5: look up; expired counts as a miss and is removed; refresh recency on a hit
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self.clock() >= entry[0]:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        # END SOLUTION

    def put(self, key: str, value: V) -> None:
        # BEGIN SOLUTION c08.5: store with its expiry; evict the least recent past max_entries
        if self.max_entries == 0:
            return
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        # END SOLUTION

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
