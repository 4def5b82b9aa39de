"""A small bounded LRU with an optional time-to-live, for lookups worth not repeating in a warm Lambda."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LookupCache:
    """Least-recently-used eviction past `maxsize`; entries older than `ttl` seconds are misses."""

    _MISSING = object()

    def __init__(self, maxsize: int = 1024, ttl: float | None = None, clock: Callable[[], float] = time.monotonic):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize, self.ttl, self.clock = maxsize, ttl, clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._data.get(key, self._MISSING)
            if entry is self._MISSING or self._expired(entry[0]):
                if entry is not self._MISSING:
                    del self._data[key]
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return entry[1]

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key, self._MISSING) is not self._MISSING

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = (self.clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value, else `load()`'s, stored. A load that raises stores nothing."""
        value = self.get(key, self._MISSING)
        if value is self._MISSING:
            value = load()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def _expired(self, stored_at: float) -> bool:
        return self.ttl is not None and self.clock() - stored_at >= self.ttl
