"""The collector's in-memory state stays bounded however many hosts and articles it sees (issue 21, 7).

Each structure is filled to its bound, then fed three times as much again; its size must stay at the bound
and the memory it holds (traced allocations) must not grow beyond noise.
"""

from __future__ import annotations

import asyncio
import gc
import random
import tracemalloc
from collections.abc import Callable

from pipeline.collect.dedup import Deduplicator
from pipeline.collect.ratelimit import HostLimiter
from pipeline.collect.robots import RobotsCache
from pipeline.collect.state import StateStore

VOCABULARY = [f"word{n}" for n in range(4000)]


def traced_growth(fill: Callable[[int, int], None], bound: int, rounds: int = 3) -> tuple[int, int]:
    """Memory held once the structure is full (filled to ``bound`` three times over, which also fills the
    standard library's own fixed-size caches, e.g. urllib's), and after ``rounds`` times as much more (bytes)."""
    tracemalloc.start()
    try:
        fill(0, 3 * bound)
        gc.collect()
        at_bound = tracemalloc.get_traced_memory()[0]
        fill(3 * bound, (3 + rounds) * bound)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return at_bound, after


def test_the_robots_cache_keeps_at_most_its_bound_of_sites() -> None:
    # A 512 KB robots.txt kept about 27 MB alive, one entry per site, never evicted.
    rules = "User-agent: *\n" + "".join(f"Disallow: /private/{n}/\n" for n in range(100))  # ~2.5 kB

    async def fetch(url: str) -> tuple[int | None, bytes]:
        return 200, rules.encode()

    cache = RobotsCache(fetch, "test-agent", 3600, max_sites=60)

    def fill(start: int, stop: int) -> None:
        async def ask() -> None:
            for n in range(start, stop):
                assert await cache.allowed(f"https://site{n}.example/news/{n}")

        asyncio.run(ask())

    at_bound, after = traced_growth(fill, bound=60)
    assert len(cache) == 60
    assert after < at_bound * 1.2, f"{at_bound} -> {after} bytes"


def test_the_robots_cache_is_bounded_by_the_size_of_the_files_it_keeps() -> None:
    big = ("User-agent: *\n" + "".join(f"Disallow: /p/{n:06d}/\n" for n in range(6000))).encode()  # ~100 kB

    async def fetch(url: str) -> tuple[int | None, bytes]:
        return 200, big

    cache = RobotsCache(fetch, "test-agent", 3600, max_bytes=600 * 1024)

    async def ask() -> None:
        for n in range(30):
            await cache.allowed(f"https://site{n}.example/")

    asyncio.run(ask())
    assert len(cache) == 600 * 1024 // (len(big) + 1024) and cache.weight <= 600 * 1024, (len(cache), cache.weight)


def test_the_robots_cache_shares_one_fetch_per_site_and_keeps_no_lock_per_site() -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> tuple[int | None, bytes]:
        fetched.append(url)
        await asyncio.sleep(0.01)
        return 404, b""

    cache = RobotsCache(fetch, "test-agent", 3600, max_sites=5)

    async def ask() -> None:
        pages = [f"https://one.example/{n}" for n in range(20)] + [f"https://s{n}.example/" for n in range(50)]
        assert all(await asyncio.gather(*(cache.allowed(page) for page in pages)))

    asyncio.run(ask())
    assert fetched.count("https://one.example/robots.txt") == 1 and len(fetched) == 51
    assert len(cache) == 5 and not cache._inflight


def test_the_host_limiter_forgets_idle_hosts() -> None:
    ticks = iter(range(10**9))
    limiter = HostLimiter(2, 0.0, clock=lambda: float(next(ticks)), max_hosts=100)

    def fill(start: int, stop: int) -> None:
        async def use() -> None:
            for n in range(start, stop):
                async with limiter.slot(f"host{n}.example"):
                    pass

        asyncio.run(use())

    at_bound, after = traced_growth(fill, bound=100)
    assert len(limiter) <= 100
    assert after < at_bound * 1.2, f"{at_bound} -> {after} bytes"


def test_the_host_limiter_keeps_a_host_in_use_or_still_spaced() -> None:
    now = [0.0]
    limiter = HostLimiter(1, 10.0, clock=lambda: now[0], max_hosts=2)

    async def use() -> None:
        async with limiter.slot("busy.example"):
            for n in range(10):
                async with limiter.slot(f"host{n}.example"):
                    pass
            assert "busy.example" in limiter._hosts  # in use: never forgotten
        now[0] = 100.0
        async with limiter.slot("late.example"):
            pass

    asyncio.run(use())
    # Hosts whose next start was still ahead (spacing of 10 s) were kept until it was due.
    assert len(limiter) <= 3


def test_the_near_duplicate_index_is_a_bounded_window() -> None:
    rng = random.Random(7)
    texts = [" ".join(rng.choices(VOCABULARY, k=60)) for _ in range(600)]
    clock = [1_000_000.0]
    with StateStore(":memory:") as store:
        dedup = Deduplicator(store, clock=lambda: clock[0], max_entries=100, window_seconds=3600)

        def fill(start: int, stop: int) -> None:
            for n in range(start, stop):
                clock[0] += 1
                assert dedup.judge(f"art_{n}", f"https://x.example/{n}", texts[n]).verdict == "new"

        at_bound, after = traced_growth(fill, bound=100)
        assert len(dedup.index) == 100
        assert after < at_bound * 1.2, f"{at_bound} -> {after} bytes"
        # A copy of a recent story is still caught; the window also drops what is older than an hour.
        copy = dedup.judge("art_copy", "https://y.example/1", "Agency copy. " + texts[599])
        assert copy.verdict == "duplicate" and copy.duplicate_of == "art_599"
        clock[0] += 3600 - 50
        dedup.judge("art_late", "https://x.example/late", " ".join(rng.choices(VOCABULARY, k=60)))
        assert len(dedup.index) == 52  # the 51 added in the last hour, and this one
        # A restart loads only the window.
        dedup.reload()
        assert len(dedup.index) == 52
