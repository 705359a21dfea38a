"""A bounded map whose entries expire: the server's memory of sessions.

Used for stateful TLS 1.3 tickets, TLS 1.2 session IDs and the 0-RTT anti-replay register.
Time is whatever clock the caller passes (seconds); the cache never reads a clock itself.
When full, `put` evicts expired entries first, then the least recently used one, so a
burst of new sessions cannot make the cache grow without bound.

Expired entries are found through a heap of expiry times, so a full cache costs O(log n) per new
entry: scanning every entry for expired ones on each put of a full cache made every new session of
a busy server cost a walk over 10,000 entries (the TLS 1.2 handshake rate halved once the cache
filled).
"""
from __future__ import annotations

import heapq
import itertools
import threading
from collections import OrderedDict
from typing import Generic, Hashable, Iterator, TypeVar

from .errors import UsageError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SessionCache(Generic[K, V]):
    """At most `max_size` entries, each valid until its `expires_at` (exclusive).

    Thread-safe: one server config (and so one cache) may serve connections on several threads.
    """

    def __init__(self, max_size: int = 10000):
        if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
            raise UsageError(f"a session cache needs max_size >= 1, got {max_size!r}")
        self.max_size = max_size
        # key -> (value, expires_at, serial); kept in least recently used order
        self._entries: OrderedDict[K, tuple[V, float, int]] = OrderedDict()
        # (expires_at, serial, key) of every entry put, soonest first. An item whose serial no longer
        # matches its key's entry (replaced, removed or evicted since) is stale and skipped.
        self._expiry: list[tuple[float, int, K]] = []
        self._serials = itertools.count()
        self._lock = threading.Lock()
        self.evicted = 0          # entries pushed out by the size bound (not by expiry)

    def put(self, key: K, value: V, expires_at: float, now: float) -> None:
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            if len(entries) >= self.max_size:
                self._purge_locked(now)
            while len(entries) >= self.max_size:
                entries.popitem(last=False)
                self.evicted += 1
            self._insert_locked(key, value, expires_at)

    def add_if_absent(self, key: K, value: V, expires_at: float, now: float) -> bool:
        """Insert only when no live entry exists and there is room without evicting a live one.

        The anti-replay register needs this: evicting a live entry would let a replay through,
        so a full register refuses instead (the caller then rejects 0-RTT)."""
        with self._lock:
            entries = self._entries
            current = entries.get(key)
            if current is not None and current[1] > now:
                return False
            entries.pop(key, None)
            if len(entries) >= self.max_size:
                self._purge_locked(now)
                if len(entries) >= self.max_size:
                    return False
            self._insert_locked(key, value, expires_at)
            return True

    def get(self, key: K, now: float) -> V | None:
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            value, expires_at, _ = item
            if expires_at <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def pop(self, key: K, now: float) -> V | None:
        """Remove and return a live entry (a single-use ticket being redeemed)."""
        with self._lock:
            item = self._entries.pop(key, None)
        if item is None or item[1] <= now:
            return None
        return item[0]

    def purge(self, now: float) -> int:
        with self._lock:
            return self._purge_locked(now)

    def _insert_locked(self, key: K, value: V, expires_at: float) -> None:
        serial = next(self._serials)
        self._entries[key] = (value, expires_at, serial)
        heapq.heappush(self._expiry, (expires_at, serial, key))
        if len(self._expiry) > 2 * len(self._entries) + 64:
            # Mostly stale items (entries taken by pop() or replaced): rebuild from the live entries.
            self._expiry = [(expires_at, serial, key) for key, (_, expires_at, serial) in self._entries.items()]
            heapq.heapify(self._expiry)

    def _purge_locked(self, now: float) -> int:
        """Remove the entries expired at `now`: the front of the heap, nothing else is looked at."""
        expiry, entries = self._expiry, self._entries
        removed = 0
        while expiry and expiry[0][0] <= now:
            _, serial, key = heapq.heappop(expiry)
            item = entries.get(key)
            if item is not None and item[2] == serial:
                del entries[key]
                removed += 1
        return removed

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def keys(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._entries))
