"""The server's bounded, expiring session cache: expiry before eviction, least recently used
eviction, single use, and the cost of a put on a full cache (found through a heap, not a scan)."""
import math

from workbench.tls.session_cache import SessionCache


def test_expired_entries_go_before_any_live_one_whatever_their_place_in_use_order():
    cache: SessionCache[str, int] = SessionCache(3)
    cache.put("a", 1, expires_at=100, now=0)
    cache.put("b", 2, expires_at=10, now=0)
    cache.put("c", 3, expires_at=100, now=0)
    assert cache.get("b", 5) == 2                 # "b" is now the most recently used, and expires first
    cache.put("d", 4, expires_at=100, now=20)
    assert "b" not in cache and {"a", "c", "d"} <= set(cache.keys()) and cache.evicted == 0


def test_a_full_cache_of_live_entries_evicts_the_least_recently_used():
    cache: SessionCache[str, int] = SessionCache(2)
    cache.put("a", 1, expires_at=100, now=0)
    cache.put("b", 2, expires_at=100, now=0)
    assert cache.get("a", 1) == 1
    cache.put("c", 3, expires_at=100, now=2)
    assert set(cache.keys()) == {"a", "c"} and cache.evicted == 1


def test_a_replaced_entry_keeps_its_new_expiry():
    cache: SessionCache[str, int] = SessionCache(3)
    cache.put("a", 1, expires_at=10, now=0)
    cache.put("a", 2, expires_at=100, now=5)      # the first expiry time is stale now
    cache.put("b", 3, expires_at=100, now=5)
    assert cache.purge(50) == 0 and cache.get("a", 50) == 2
    assert cache.purge(100) == 2 and len(cache) == 0


def test_expiry_is_exclusive_and_pop_is_single_use():
    cache: SessionCache[str, int] = SessionCache(4)
    cache.put("t", 1, expires_at=10, now=0)
    assert cache.get("t", 9.999) == 1 and cache.get("t", 10) is None
    cache.put("u", 2, expires_at=10, now=0)
    assert cache.pop("u", 5) == 2 and cache.pop("u", 5) is None


def test_the_expiry_heap_stays_bounded_under_churn():
    cache: SessionCache[int, int] = SessionCache(100)
    for n in range(10_000):
        cache.put(n, n, expires_at=n + 1_000_000, now=n)
        cache.pop(n - 50, now=n)                  # tickets redeemed: their heap items turn stale
    assert len(cache) <= 100 and len(cache._expiry) <= 2 * len(cache) + 64


class CountingTime(float):
    """An expiry time that counts how often it is compared."""
    comparisons = 0

    def _count(self, other, op):
        CountingTime.comparisons += 1
        return op(float(self), float(other))

    def __le__(self, other):
        return self._count(other, float.__le__)

    def __lt__(self, other):
        return self._count(other, float.__lt__)

    def __gt__(self, other):
        return self._count(other, float.__gt__)

    def __ge__(self, other):
        return self._count(other, float.__ge__)

    def __eq__(self, other):
        return self._count(other, float.__eq__)

    __hash__ = float.__hash__


def test_a_put_on_a_full_cache_does_not_look_at_every_entry():
    size, puts = 2000, 200
    cache: SessionCache[int, int] = SessionCache(size)
    for n in range(size):
        cache.put(n, n, expires_at=CountingTime(1e9 + n), now=0)
    CountingTime.comparisons = 0
    for n in range(size, size + puts):
        cache.put(n, n, expires_at=CountingTime(1e9 + n), now=1)     # full of live entries: evicts
    assert cache.evicted == puts and len(cache) == size
    # A scan for expired entries would compare each of the 2000 expiry times on every put (400,000);
    # the heap compares a few per level of its depth.
    assert CountingTime.comparisons < puts * 8 * math.log2(size + puts), CountingTime.comparisons
