"""Scaling of the running pipeline, side by side with the spaCy ceiling, in one run on the same stories.

For each story set (``synthetic``: POLECAT synthetic stories from ../shared/data/events, machine-generated,
source ahalterman/NGEC; ``news``: real-length articles of 600-900 tokens, the seed article of
../shared/fixtures followed by one of the bundled sample articles) it measures
  * the ceiling: bare ``nlp.pipe`` in 1 process and in N processes (N = CPU count), and ``enrich_articles``;
  * for every (partitions, workers) pair: backlog throughput end to end (first to last article searchable)
    and to the enriched topic, its ratio to the ceiling for that many processes, and each worker's peak RSS;
  * latency at half the saturated rate (with the first pair of each set, or --latency-workers): from
    publishing an article to its events on the events topic (what a subscriber sees), and to its being
    found by a search, as p50/p95/p99.
Uses the configured services, else starts the local stack. Everything it creates is deleted afterwards.

    .venv/bin/python benchmarks/pipeline_throughput.py                       # the whole matrix (~20 min)
    .venv/bin/python benchmarks/pipeline_throughput.py --articles 60 --workers 1 --partitions 4 \\
        --sets synthetic --latency-seconds 20                                # a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from pipeline.ids import article_id
from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.kafka import client_options, ensure_topics
from pipeline.records import RawArticle
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
STORIES = SHARED / "data" / "events" / "polecat_synthetic_stories.csv"
SEED = SHARED / "fixtures" / "seed-article-korea-2025.txt"
SAMPLES = ROOT / "pipeline" / "samples" / "articles"
LOGS = ROOT / ".pipeline" / "logs"


# ---------------------------------------------------------------------------------------------------------
# Stories.


def synthetic_texts(count: int) -> list[tuple[str, str]]:
    with STORIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(rows[n % len(rows)]["title"], rows[n % len(rows)]["text"]) for n in range(count)]


def news_texts(count: int) -> list[tuple[str, str]]:
    """Real-length news: the seed article (~560 tokens) followed by one sample article (~280 tokens)."""
    from pipeline.collect.extract import Extracted, extract_article

    seed = SEED.read_text(encoding="utf-8")
    samples = []
    for page in sorted(SAMPLES.glob("*.html")):
        extracted = extract_article(page.read_text(encoding="utf-8"), url=f"https://samples.example/{page.name}")
        if not isinstance(extracted, Extracted):
            raise SystemExit(f"{page}: {extracted.detail}")
        samples.append((extracted.title or page.stem, extracted.text))
    return [(samples[n % len(samples)][0], f"{seed}\n\n{samples[n % len(samples)][1]}") for n in range(count)]


STORY_SETS = {"synthetic": synthetic_texts, "news": news_texts}


def as_articles(texts: list[tuple[str, str]], run: str, tag: str = "") -> list[RawArticle]:
    articles = []
    for n, (title, text) in enumerate(texts):
        url = f"https://benchmark.example/{run}/{tag}{n}"
        articles.append(RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=title, text=text))
    return articles


# ---------------------------------------------------------------------------------------------------------
# The ceiling.


@dataclass
class Ceiling:
    tokens_mean: float
    pipe_1_docs_per_s: float
    pipe_n_docs_per_s: float
    processes: int
    enrich_articles_per_s: float

    def for_workers(self, workers: int) -> float:
        """What ``workers`` enricher processes could reach at best: bare spaCy with as many processes."""
        return self.pipe_1_docs_per_s if workers == 1 else self.pipe_n_docs_per_s


def measure_ceiling(texts: list[tuple[str, str]], settings: Settings) -> Ceiling:
    from pipeline.enrich.core import enrich_articles
    from pipeline.enrich.nlp import load_nlp

    nlp = load_nlp(settings)
    docs = [text for _, text in texts]
    list(nlp.pipe(docs[:8]))  # warm-up: first calls allocate

    def rate(n_process: int) -> float:
        began = time.perf_counter()
        for _ in nlp.pipe(docs, batch_size=32, n_process=n_process):
            pass
        return len(docs) / (time.perf_counter() - began)

    processes = os.cpu_count() or 1
    one = rate(1)
    many = rate(processes) if processes > 1 else one
    articles = as_articles(texts, "ceiling")
    began = time.perf_counter()
    for start in range(0, len(articles), settings.enrich_batch_size):
        enrich_articles(articles[start : start + settings.enrich_batch_size], nlp)
    enrich_rate = len(articles) / (time.perf_counter() - began)
    tokens = statistics.mean(len(nlp.make_doc(doc)) for doc in docs)
    return Ceiling(round(tokens, 0), round(one, 1), round(many, 1), processes, round(enrich_rate, 1))


# ---------------------------------------------------------------------------------------------------------
# The pipeline.


@dataclass
class Latency:
    rate_per_s: float
    articles: int
    events_topic_s: dict[str, float] = field(default_factory=dict)  # p50, p95, p99
    searchable_s: dict[str, float] = field(default_factory=dict)


@dataclass
class IndexerAlone:
    """One indexer replaying the run's enriched topics into fresh indices: its own ceiling."""

    articles_per_s: float
    documents_per_s: float  # articles and event reports


@dataclass
class Sizes:
    """Bytes per article, for the disk plan (docs/scaling.md)."""

    raw_message: float
    enriched_message: float
    events_messages: float  # all of one article's event messages
    es_articles_store: float  # primary store of the articles index, per article
    es_events_store: float  # primary store of the events index, per article


@dataclass
class PipelineRun:
    story_set: str
    partitions: int
    workers: int
    articles: int
    events: int
    startup_to_first_indexed_s: float
    backlog_articles_per_s: float  # first to last article searchable
    enriched_topic_articles_per_s: float  # first to last enriched article on its topic
    ceiling_articles_per_s: float
    ratio_to_ceiling: float
    worker_peak_rss_mb: list[float]
    indexer_peak_rss_mb: float
    indexer_alone: IndexerAlone | None = None
    sizes: Sizes | None = None
    latency: Latency | None = None


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": round(statistics.median(ordered), 3), "p95": at(0.95), "p99": at(0.99)}


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return round(int(match.group(1)) / 1024, 0) if match else 0.0


def private_env(run: str, partitions: int) -> dict[str, str]:
    return {
        "PIPELINE_TOPIC_RAW": f"bench-{run}.articles.raw",
        "PIPELINE_TOPIC_ENRICHED": f"bench-{run}.articles.enriched",
        "PIPELINE_TOPIC_EVENTS": f"bench-{run}.events.enriched",
        "PIPELINE_TOPIC_DEAD_LETTER": f"bench-{run}.deadletter",
        "PIPELINE_TOPIC_PARTITIONS": str(partitions),
        "PIPELINE_ENRICHER_GROUP": f"bench-{run}-enricher",
        "PIPELINE_INDEXER_GROUP": f"bench-{run}-indexer",
        "PIPELINE_INDEX_ARTICLES": f"bench-{run}-articles",
        "PIPELINE_INDEX_EVENTS": f"bench-{run}-events",
        "PIPELINE_LOG_LEVEL": "WARNING",
        # A worker starved of CPU by its siblings (4 workers on 2 cores) is slow, not stalled: no watchdog exit.
        "PIPELINE_ENRICH_STALL_SECONDS": "3600",
    }


@contextlib.contextmanager
def stages(env: dict[str, str], run: str, workers: int) -> Iterator[tuple[list[subprocess.Popen[bytes]], Any]]:
    """``workers`` enricher processes and one indexer process; stopped on exit."""
    LOGS.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env}

    def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", *argv],
            env=full_env,
            cwd=ROOT,
            stdout=(LOGS / f"bench-{run}-{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )

    enrichers = [start(f"enricher-{n}", "enrich", "--loglevel", "warning") for n in range(workers)]
    indexer = start("indexer", "index")
    try:
        yield enrichers, indexer
    finally:
        for proc in [*enrichers, indexer]:
            proc.terminate()
        for proc in [*enrichers, indexer]:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def searchable(es: Elasticsearch, index: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        response = es.search(index=index, query={"ids": {"values": chunk}}, size=len(chunk), source=False)
        found |= {hit["_id"] for hit in response["hits"]["hits"]}
    return found


class TopicWatch(threading.Thread):
    """Reads a topic from the start and records each record's broker timestamp by a key taken from its value."""

    def __init__(self, settings: Settings, topic: str, key_of: Any) -> None:
        super().__init__(daemon=True)
        self.settings, self.topic, self.key_of = settings, topic, key_of
        self.first_seen: dict[str, float] = {}  # key -> earliest record timestamp (s since epoch)
        self.count = 0
        self.value_bytes = 0  # uncompressed, as the pipeline serialises them
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(
            self.topic, **client_options(self.settings), auto_offset_reset="earliest", enable_auto_commit=False
        )
        try:
            while not self.stopping.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        self.count += 1
                        self.value_bytes += len(record.value)
                        key = self.key_of(record.value)
                        stamp = record.timestamp / 1000
                        self.first_seen[key] = min(stamp, self.first_seen.get(key, stamp))
        finally:
            consumer.close()


def _article_of_event(value: bytes) -> str:
    return str(json.loads(value)["article_id"])


def _article_of_enriched(value: bytes) -> str:
    return str(json.loads(value)["article_id"])


def run_pipeline(
    story_set: str,
    texts: list[tuple[str, str]],
    ceiling: Ceiling,
    *,
    partitions: int,
    workers: int,
    latency_seconds: float,
    timeout: float,
    log: Any,
) -> PipelineRun:
    run = uuid.uuid4().hex[:8]
    env = private_env(run, partitions)
    os.environ.update(env)
    settings = Settings()
    ensure_topics(settings)
    es = make_client(settings)
    ensure_indices(es, settings)
    articles = as_articles(texts, run)
    producer = KafkaProducer(**client_options(settings), acks="all", key_serializer=str.encode, linger_ms=5)
    enriched = TopicWatch(settings, settings.topic_enriched, _article_of_enriched)
    events = TopicWatch(settings, settings.topic_events, _article_of_event)
    enriched.start()
    events.start()
    try:
        for article in articles:  # the backlog, before any worker starts
            producer.send(settings.topic_raw, key=article.article_id, value=article.to_json_bytes())
        producer.flush()
        ids = [a.article_id for a in articles]
        with stages(env, run, workers) as (enrichers, indexer):
            started = time.perf_counter()
            first_at: float | None = None
            first_done = 0
            while (done := len(searchable(es, settings.index_articles, ids))) < len(ids):
                if first_at is None and done:
                    first_at, first_done = time.perf_counter(), done
                if time.perf_counter() - started > timeout:
                    raise SystemExit(f"only {done}/{len(ids)} indexed after {timeout:.0f}s (logs in {LOGS})")
                if any(p.poll() is not None for p in [*enrichers, indexer]):
                    raise SystemExit(f"a stage exited (logs in {LOGS})")
                time.sleep(0.2)
            finished = time.perf_counter()
            if first_at is None:  # everything became searchable between two looks
                first_at, first_done = started, 0
            backlog_rate = (len(ids) - first_done) / max(finished - first_at, 1e-9)
            stamps = sorted(enriched.first_seen[i] for i in ids if i in enriched.first_seen)
            topic_rate = (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1e-9) if len(stamps) > 1 else 0.0
            worker_rss = [peak_rss_mb(p.pid) for p in enrichers]
            indexer_rss = peak_rss_mb(indexer.pid)
            latency = None
            if latency_seconds > 0:
                latency = measure_latency(
                    settings, es, producer, events, texts, run, rate=backlog_rate / 2, seconds=latency_seconds
                )
            es.indices.refresh(index=[settings.index_articles, settings.index_events])
            event_count = int(es.count(index=settings.index_events)["count"])
            store = {  # by alias: the indices behind them are versioned (news-articles-v1)
                alias: es.indices.stats(index=alias, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"]
                for alias in (settings.index_articles, settings.index_events)
            }
            sizes = Sizes(
                raw_message=round(sum(len(a.to_json_bytes()) for a in articles) / len(articles)),
                enriched_message=round(enriched.value_bytes / max(enriched.count, 1)),
                events_messages=round(events.value_bytes / max(enriched.count, 1)),
                es_articles_store=round(store.get(settings.index_articles, 0) / max(len(ids) + _live(latency), 1)),
                es_events_store=round(store.get(settings.index_events, 0) / max(len(ids) + _live(latency), 1)),
            )
        indexer_alone = measure_indexer_alone(
            env,
            run,
            settings,
            es,
            articles=len(ids) + _live(latency),
            event_docs=event_count,
            reports=events.count,
            timeout=timeout,
        )
        ceiling_rate = ceiling.for_workers(workers)
        result = PipelineRun(
            story_set=story_set,
            partitions=partitions,
            workers=workers,
            articles=len(ids),
            events=event_count,
            startup_to_first_indexed_s=round(first_at - started, 1),
            backlog_articles_per_s=round(backlog_rate, 1),
            enriched_topic_articles_per_s=round(topic_rate, 1),
            ceiling_articles_per_s=ceiling_rate,
            ratio_to_ceiling=round(backlog_rate / ceiling_rate, 2),
            worker_peak_rss_mb=worker_rss,
            indexer_peak_rss_mb=indexer_rss,
            indexer_alone=indexer_alone,
            sizes=sizes,
            latency=latency,
        )
        log(f"  {story_set} p={partitions} w={workers}: {result.backlog_articles_per_s}/s, {result.ratio_to_ceiling}x")
        log("  " + json.dumps(asdict(result)))  # kept even if a later run fails
        return result
    finally:
        enriched.stopping.set()
        events.stopping.set()
        producer.close()
        delete_indices(es, settings)
        admin = KafkaAdminClient(**client_options(settings))
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"bench-{run}.")])
        admin.close()


def _live(latency: Latency | None) -> int:
    return latency.articles if latency else 0


def measure_indexer_alone(
    env: dict[str, str],
    run: str,
    settings: Settings,
    es: Elasticsearch,
    *,
    articles: int,
    event_docs: int,
    reports: int,
    timeout: float,
) -> IndexerAlone:
    """A second indexer (new group, new indices) over the topics the run filled: only indexing is timed."""
    replay = {
        **env,
        "PIPELINE_INDEXER_GROUP": f"bench-{run}-replay",
        "PIPELINE_INDEX_ARTICLES": f"bench-{run}-replay-articles",
        "PIPELINE_INDEX_EVENTS": f"bench-{run}-replay-events",
    }
    replay_settings = settings.model_copy(
        update={"index_articles": replay["PIPELINE_INDEX_ARTICLES"], "index_events": replay["PIPELINE_INDEX_EVENTS"]}
    )
    ensure_indices(es, replay_settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "index"],
        env={**os.environ, **replay},
        cwd=ROOT,
        stdout=(LOGS / f"bench-{run}-replay-indexer.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        began = time.perf_counter()
        first: tuple[float, int] | None = None  # from the first document on: the process start is not indexing
        while True:
            indices = [replay_settings.index_articles, replay_settings.index_events]
            es.indices.refresh(index=indices)
            done = [int(es.count(index=index)["count"]) for index in indices]
            if first is None and done[0]:
                first = (time.perf_counter(), done[0])
            if done[0] >= articles and done[1] >= event_docs:
                break
            if time.perf_counter() - began > timeout or proc.poll() is not None:
                raise SystemExit(f"the replay indexer did not finish (logs in {LOGS})")
            time.sleep(0.1)
        assert first is not None
        seconds = max(time.perf_counter() - first[0], 1e-9)
        share = (articles - first[1]) / articles  # the part of the work timed
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        delete_indices(es, replay_settings)
    return IndexerAlone(round(articles * share / seconds, 1), round((articles + reports) * share / seconds, 1))


def measure_latency(
    settings: Settings,
    es: Elasticsearch,
    producer: KafkaProducer,
    events: TopicWatch,
    texts: list[tuple[str, str]],
    run: str,
    *,
    rate: float,
    seconds: float,
) -> Latency:
    """Publish fresh copies of the stories at ``rate``/s for ``seconds``; time each to events and to search."""
    count = max(5, int(rate * seconds))
    live = as_articles([texts[n % len(texts)] for n in range(count)], run, tag="live-")
    sent_at: dict[str, float] = {}
    found_at: dict[str, float] = {}
    pending: list[str] = []
    began = time.time()
    for n, article in enumerate(live):
        while time.time() < began + n / rate:
            _poll_searchable(es, settings, pending, found_at)
            time.sleep(0.02)
        metadata = producer.send(settings.topic_raw, key=article.article_id, value=article.to_json_bytes()).get(30)
        sent_at[article.article_id] = metadata.timestamp / 1000  # the broker's clock, like the events' stamps
        pending.append(article.article_id)
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        _poll_searchable(es, settings, pending, found_at)
        time.sleep(0.02)
    time.sleep(1.0)  # the last events reach the watcher
    to_events = [events.first_seen[i] - sent_at[i] for i in sent_at if i in events.first_seen]
    to_search = [found_at[i] - sent_at[i] for i in sent_at if i in found_at]
    return Latency(
        rate_per_s=round(rate, 1),
        articles=len(live),
        events_topic_s=percentiles(to_events),
        searchable_s=percentiles(to_search),
    )


def _poll_searchable(es: Elasticsearch, settings: Settings, pending: list[str], found_at: dict[str, float]) -> None:
    if not pending:
        return
    now = time.time()
    for found in searchable(es, settings.index_articles, pending):
        found_at[found] = now
        pending.remove(found)


# ---------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=240, help="stories per set and run")
    parser.add_argument("--sets", default="synthetic,news", help="story sets: synthetic, news")
    parser.add_argument("--workers", default="1,2,4", help="enricher worker processes, comma-separated")
    parser.add_argument("--partitions", default="4,8", help="raw-topic partitions, comma-separated")
    parser.add_argument("--latency-seconds", type=float, default=40.0, help="0: no latency phase")
    parser.add_argument(
        "--latency-workers", default="1,2", help="worker counts whose runs (first partition count) measure latency"
    )
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    base = Settings()
    if not base.services_configured:
        from pipeline.devstack.stack import ensure_up

        os.environ.update(ensure_up(base).env())
    worker_counts = [int(w) for w in args.workers.split(",")]
    partition_counts = [int(p) for p in args.partitions.split(",")]
    latency_workers = {int(w) for w in args.latency_workers.split(",") if w}
    results: dict[str, Any] = {"cpus": os.cpu_count(), "articles": args.articles, "sets": {}}
    for story_set in args.sets.split(","):
        texts = STORY_SETS[story_set](args.articles)
        log(f"{story_set}: measuring the spaCy ceiling on {len(texts)} stories")
        ceiling = measure_ceiling(texts, Settings())
        log(f"  {ceiling}")
        log("  " + json.dumps({"ceiling": asdict(ceiling)}))
        runs = []
        for partitions in partition_counts:
            for workers in worker_counts:
                with_latency = partitions == partition_counts[0] and workers in latency_workers
                runs.append(
                    run_pipeline(
                        story_set,
                        texts,
                        ceiling,
                        partitions=partitions,
                        workers=workers,
                        latency_seconds=args.latency_seconds if with_latency else 0,
                        timeout=args.timeout,
                        log=log,
                    )
                )
        results["sets"][story_set] = {"ceiling": asdict(ceiling), "runs": [asdict(r) for r in runs]}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)


def print_table(results: dict[str, Any]) -> None:
    print(f"{results['cpus']} CPUs, {results['articles']} stories per run")
    for story_set, body in results["sets"].items():
        c = body["ceiling"]
        print(
            f"\n{story_set} (mean {c['tokens_mean']:.0f} tokens): spaCy nlp.pipe {c['pipe_1_docs_per_s']}/s in "
            f"1 process, {c['pipe_n_docs_per_s']}/s in {c['processes']}; enrich_articles {c['enrich_articles_per_s']}/s"
        )
        print(
            "  partitions workers  e2e/s  enriched-topic/s  ceiling/s  ratio  worker RSS MB  "
            "events p50/p95/p99 s  search p50/p95/p99 s"
        )
        for r in body["runs"]:
            lat = r["latency"]
            ev = "/".join(str(v) for v in lat["events_topic_s"].values()) if lat else "-"
            se = "/".join(str(v) for v in lat["searchable_s"].values()) if lat else "-"
            at = f" @{lat['rate_per_s']}/s" if lat else ""
            print(
                f"  {r['partitions']:>10} {r['workers']:>7} {r['backlog_articles_per_s']:>6} "
                f"{r['enriched_topic_articles_per_s']:>17} {r['ceiling_articles_per_s']:>10} "
                f"{r['ratio_to_ceiling']:>6}  "
                f"{','.join(str(int(m)) for m in r['worker_peak_rss_mb']):>13}  {ev + at:>20}  {se:>20}"
            )


if __name__ == "__main__":
    main()
