"""Two enricher workers started together on new topics, again and again: does the first article come out, and when?

Each round makes topics and a consumer group of its own, starts two ``pipeline enrich`` workers at once,
publishes the seed article while they start, and waits for its enriched record. ``--cpu-hogs`` busy processes
load the machine as a full test run does. A round that times out keeps the workers' logs under ``--logs``.
The test_end_to_end start-up hang (NOTES.md, tenth session) was this, one run in three.

    eval "$(.venv/bin/python -m pipeline.devstack up --print-env)"
    .venv/bin/python benchmarks/worker_startup.py --rounds 20 --cpu-hogs 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer

from pipeline.ids import article_id
from pipeline.kafka import client_options, ensure_topics, make_producer
from pipeline.records import RawArticle
from pipeline.settings import Settings

SEED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seed-article-korea-2025.txt"


def _spin() -> None:
    while True:
        pass


def one_round(base: Settings, logs: Path, timeout: float) -> float | None:
    """Seconds from the workers' start to the seed's enriched record, or None when it did not come."""
    suffix = f"startup-{uuid.uuid4().hex[:8]}"
    settings = base.model_copy(
        update={
            "topic_raw": f"{suffix}.articles.raw",
            "topic_enriched": f"{suffix}.articles.enriched",
            "topic_events": f"{suffix}.events.enriched",
            "topic_dead_letter": f"{suffix}.deadletter",
            "topic_partitions": 2,
            "enricher_group": f"{suffix}-enricher",
        }
    )
    ensure_topics(settings)
    env = {**os.environ, **settings.as_env()}
    paths = [logs / f"{suffix}-{n}.log" for n in range(2)]
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "info"],
            stdout=path.open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        for path in paths
    ]
    try:
        url = f"https://startup.example/{suffix}"
        article = RawArticle(
            article_id=article_id(url), url=url, canonical_url=url, title="Seed", text=SEED.read_text("utf-8")
        )
        producer = make_producer(settings, "benchmark-startup")
        producer.send(settings.topic_raw, key=article.article_id, value=article.to_json_bytes()).get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(
            settings.topic_enriched, auto_offset_reset="earliest", consumer_timeout_ms=1000, **client_options(settings)
        )
        try:
            while time.monotonic() - started < timeout:
                for _ in consumer:
                    for path in paths:
                        path.unlink()
                    return time.monotonic() - started
            return None
        finally:
            consumer.close()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds a round waits for the article")
    parser.add_argument("--cpu-hogs", type=int, default=0, help="busy processes beside the workers")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "worker-startup-logs")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.cpu_hogs)]
    for hog in hogs:
        hog.start()
    times: list[float] = []
    hung = 0
    try:
        for n in range(1, args.rounds + 1):
            took = one_round(Settings(), args.logs, args.timeout)
            if took is None:
                hung += 1
                print(f"round {n}: no enriched article within {args.timeout:.0f}s (logs in {args.logs})", flush=True)
            else:
                times.append(took)
                print(f"round {n}: enriched after {took:.1f}s", flush=True)
    finally:
        for hog in hogs:
            hog.terminate()
    if times:
        print(f"{len(times)}/{args.rounds} enriched; median {statistics.median(times):.1f}s, max {max(times):.1f}s")
    sys.exit(1 if hung else 0)


if __name__ == "__main__":
    main()
