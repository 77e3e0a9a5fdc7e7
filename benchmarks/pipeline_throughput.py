"""End-to-end throughput and latency of the running pipeline: raw topic -> Faust enrichers -> indexer -> ES.

Publishes N articles (POLECAT synthetic stories from ../shared/data/events, machine-generated; source
ahalterman/NGEC) to private topics, starts W enricher workers and one indexer, and measures
  * backlog throughput: articles/s from the first to the last article searchable in Elasticsearch;
  * live latency: once caught up, seconds from publishing one article to finding it with a search.
Uses the configured services, else starts the local stack. Everything it creates is deleted afterwards.

    .venv/bin/python benchmarks/pipeline_throughput.py --articles 400 --workers 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaProducer

from pipeline.ids import article_id
from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.index.indexer import Indexer
from pipeline.kafka import ensure_topics
from pipeline.records import RawArticle
from pipeline.settings import Settings

STORIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "events" / "polecat_synthetic_stories.csv"


def load_articles(count: int, run: str) -> list[RawArticle]:
    with STORIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    articles = []
    for n, row in enumerate(rows):
        url = f"https://benchmark.example/{run}/{n}"
        articles.append(
            RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=row["title"], text=row["text"])
        )
    return articles


def indexed_count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2, help="enricher worker processes")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--probes", type=int, default=5, help="live-latency samples after catching up")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = Settings()
    if not base.services_configured:
        from pipeline.devstack.stack import ensure_up

        info = ensure_up(base)
        os.environ.update(info.env())
    run = uuid.uuid4().hex[:8]
    names = {
        "PIPELINE_TOPIC_RAW": f"bench-{run}.articles.raw",
        "PIPELINE_TOPIC_ENRICHED": f"bench-{run}.articles.enriched",
        "PIPELINE_TOPIC_EVENTS": f"bench-{run}.events.enriched",
        "PIPELINE_TOPIC_DEAD_LETTER": f"bench-{run}.deadletter",
        "PIPELINE_TOPIC_PARTITIONS": str(args.partitions),
        "PIPELINE_ENRICHER_GROUP": f"bench-{run}-enricher",
        "PIPELINE_INDEXER_GROUP": f"bench-{run}-indexer",
        "PIPELINE_INDEX_ARTICLES": f"bench-{run}-articles",
        "PIPELINE_INDEX_EVENTS": f"bench-{run}-events",
        "PIPELINE_LOG_LEVEL": "WARNING",
    }
    os.environ.update(names)
    settings = Settings()
    ensure_topics(settings)
    es = make_client(settings)
    ensure_indices(es, settings)

    articles = load_articles(args.articles, run)
    producer = KafkaProducer(bootstrap_servers=settings.kafka, acks="all", key_serializer=str.encode, linger_ms=20)
    began = time.perf_counter()
    for article in articles:
        producer.send(settings.topic_raw, key=article.article_id, value=article.to_json_bytes())
    producer.flush()
    publish_seconds = time.perf_counter() - began

    logs = Path(".pipeline/logs")
    logs.mkdir(parents=True, exist_ok=True)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
            stdout=(logs / f"bench-enricher-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(args.workers)
    ]
    indexer = Indexer(settings)
    thread = threading.Thread(target=indexer.run, daemon=True)
    thread.start()
    try:
        started = time.perf_counter()
        first_at = None
        deadline = started + args.timeout
        while (done := indexed_count(es, settings.index_articles)) < len(articles):
            if first_at is None and done:
                first_at, first_done = time.perf_counter(), done
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {done}/{len(articles)} indexed after {args.timeout}s")
            time.sleep(0.25)
        finished = time.perf_counter()
        assert first_at is not None
        backlog_rate = (len(articles) - first_done) / max(finished - first_at, 1e-9)

        latencies = []
        for n in range(args.probes):
            url = f"https://benchmark.example/{run}/live-{n}"
            live = RawArticle(
                article_id=article_id(url), url=url, canonical_url=url, title=articles[n].title, text=articles[n].text
            )
            sent = time.perf_counter()
            producer.send(settings.topic_raw, key=live.article_id, value=live.to_json_bytes()).get(timeout=30)
            while not es.search(index=settings.index_articles, query={"term": {"article_id": live.article_id}}, size=0)[
                "hits"
            ]["total"]["value"]:
                if time.perf_counter() - sent > 120:
                    raise SystemExit("live article not searchable within 120 s")
                time.sleep(0.05)
            latencies.append(time.perf_counter() - sent)
        events = indexed_count(es, settings.index_events)
    finally:
        indexer.stop()
        thread.join(timeout=30)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        producer.close()
        delete_indices(es, settings)
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka)
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"bench-{run}.")])
        admin.close()

    result = {
        "articles": len(articles),
        "workers": args.workers,
        "partitions": args.partitions,
        "cpus": os.cpu_count(),
        "publish_articles_per_s": round(len(articles) / publish_seconds, 1),
        "startup_to_first_indexed_s": round(first_at - started, 1),
        "backlog_articles_per_s": round(backlog_rate, 2),
        "events_indexed": events,
        "live_latency_median_s": round(statistics.median(latencies), 2),
        "live_latency_max_s": round(max(latencies), 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>30}  {value}")


if __name__ == "__main__":
    main()
