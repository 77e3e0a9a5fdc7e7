"""Memory held by the collector's per-site and per-article structures as the sites and articles pile up.

Feeds the robots.txt cache 2,000 sites (a 2.5 kB robots.txt each), the per-host limiter 20,000 hosts and the
near-duplicate index 2,000 distinct articles (60 words each; bounded at 1,000 where it can be), with the
default bounds otherwise, and prints the traced
memory (tracemalloc, after a collection) at each quarter. Flat numbers mean bounded; growing ones, not.

    PYTHONPATH=. .venv/bin/python benchmarks/collector_memory.py
    # the same on another checkout (e.g. a worktree at an older commit):
    PYTHONPATH=/path/to/checkout .venv/bin/python benchmarks/collector_memory.py

PYTHONPATH decides which ``pipeline`` is imported (its path is printed first).
"""

from __future__ import annotations

import asyncio
import gc
import random
import tracemalloc

import pipeline
from pipeline.collect.dedup import Deduplicator
from pipeline.collect.ratelimit import HostLimiter
from pipeline.collect.robots import RobotsCache
from pipeline.collect.state import StateStore

ROBOTS = ("User-agent: *\n" + "".join(f"Disallow: /private/{n}/\n" for n in range(100))).encode()


def held_mb() -> float:
    gc.collect()
    return round(tracemalloc.get_traced_memory()[0] / 1e6, 1)


async def robots_body(url: str) -> tuple[int | None, bytes]:
    return 200, ROBOTS


def main() -> None:
    print("pipeline from", pipeline.__file__)
    tracemalloc.start()
    cache = RobotsCache(robots_body, "benchmark", 3600)

    async def ask(start: int, stop: int) -> None:
        for n in range(start, stop):
            await cache.allowed(f"https://site{n}.example/")

    figures = []
    for quarter in range(4):
        asyncio.run(ask(quarter * 500, (quarter + 1) * 500))
        figures.append(held_mb())
    print("robots.txt cache, MB after 500/1,000/1,500/2,000 sites:", figures)

    limiter = HostLimiter(2, 0.0)

    async def use(start: int, stop: int) -> None:
        for n in range(start, stop):
            async with limiter.slot(f"host{n}.example"):
                pass

    figures = []
    for quarter in range(4):
        asyncio.run(use(quarter * 5000, (quarter + 1) * 5000))
        figures.append(held_mb())
    print("host limiter, MB after 5,000/10,000/15,000/20,000 hosts:", figures)

    rng = random.Random(7)
    vocabulary = [f"word{n}" for n in range(4000)]
    with StateStore(":memory:") as store:
        try:  # a bound below the 2,000 articles, to see it hold (the default is 50,000)
            dedup = Deduplicator(store, max_entries=1000)
        except TypeError:
            print("(this checkout's Deduplicator takes no bound)")
            dedup = Deduplicator(store)
        figures = []
        for quarter in range(4):
            for n in range(quarter * 500, (quarter + 1) * 500):
                dedup.judge(f"art_{n}", f"https://x.example/{n}", " ".join(rng.choices(vocabulary, k=60)))
            figures.append(held_mb())
        print("near-duplicate index, MB after 500/1,000/1,500/2,000 articles:", figures, "kept", len(dedup.index))


if __name__ == "__main__":
    main()
