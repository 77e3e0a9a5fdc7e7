"""Does work on the other core slow the enricher down? ``enrich_articles`` pinned to one CPU, timed while the
other CPU is idle, spins on arithmetic, or streams memory.

The throughput benchmark compares a running worker with bare ``nlp.pipe`` measured alone. In the running
pipeline the other core is never idle (Kafka, Elasticsearch, the indexer, the worker's own event loop), so if
the machine slows one core's work when the other is busy (shared caches, memory bandwidth, a hypervisor's
scheduling), the worker pays that and the ceiling does not. This measures it directly, with nothing of ours
on the other core: only a stand-in load. Conditions are interleaved and repeated; each figure is the median
of CPU milliseconds per article (``time.process_time``) and of wall milliseconds per article.

    .venv/bin/python benchmarks/core_sharing.py --limit 128 --rounds 3
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

import typer
from pipeline_throughput import STORY_SETS, as_articles  # beside this script, whose folder is on the path

from pipeline.settings import Settings

LOADS = {
    "idle": None,
    "spinning": "while True:\n    pass\n",
    # Reads and writes 2 x 128 MB over and over: far past any cache, so it competes for memory bandwidth.
    "streaming memory": "import numpy\na = numpy.ones(16_000_000)\nb = numpy.empty_like(a)\n"
    "while True:\n    numpy.copyto(b, a)\n    numpy.copyto(a, b)\n",
}


def start_load(code: str | None, cpu: int) -> subprocess.Popen[bytes] | None:
    if code is None:
        return None
    load = subprocess.Popen([sys.executable, "-c", code], preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    time.sleep(1.0)  # let it reach its loop
    return load


def time_enrichment(articles: list[Any], nlp: Any, batch: int) -> tuple[float, float]:
    """CPU and wall milliseconds per article of ``enrich_articles`` in the worker's batch size."""
    from pipeline.enrich.core import enrich_articles

    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(articles), batch):
        enrich_articles(articles[start : start + batch], nlp)
    return (
        1000 * (time.process_time() - cpu) / len(articles),
        1000 * (time.perf_counter() - wall) / len(articles),
    )


def main(
    story_set: str = typer.Option("synthetic", "--set", help="synthetic or news"),
    limit: int = typer.Option(128, help="stories per timing"),
    rounds: int = typer.Option(3, help="times each condition is measured, interleaved"),
) -> None:
    """Time enrich_articles on CPU 0 while CPU 1 is idle, spinning, or streaming memory."""
    from pipeline.enrich.nlp import load_nlp

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("needs two CPUs: one for the enricher, one for the load")
    mine, other = cpus[0], cpus[1]
    os.sched_setaffinity(0, {mine})
    settings = Settings()
    nlp = load_nlp(settings)
    articles = as_articles(STORY_SETS[story_set](limit), "core-sharing")
    time_enrichment(articles[: settings.enrich_batch_size], nlp, settings.enrich_batch_size)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in LOADS}
    for round_ in range(rounds):
        for name, code in LOADS.items():
            load = start_load(code, other)
            try:
                results[name].append(time_enrichment(articles, nlp, settings.enrich_batch_size))
            finally:
                if load is not None:
                    load.kill()
                    load.wait()
            print(f"round {round_ + 1} {name}: {results[name][-1][0]:.1f} ms CPU per article", file=sys.stderr)
    idle_cpu = statistics.median(cpu for cpu, _ in results["idle"])
    print(f"{story_set}, {len(articles)} stories, enrich_articles on CPU {mine}, load on CPU {other}, {rounds} rounds")
    print(f"load average at the end: {[round(x, 2) for x in os.getloadavg()]}")
    print(f"{'other CPU':<18} {'CPU ms/article':>15} {'wall ms/article':>16} {'vs idle':>8}")
    for name, timings in results.items():
        cpu = statistics.median(c for c, _ in timings)
        wall = statistics.median(w for _, w in timings)
        print(f"{name:<18} {cpu:>15.1f} {wall:>16.1f} {cpu / idle_cpu:>8.2f}")


if __name__ == "__main__":
    typer.run(main)
