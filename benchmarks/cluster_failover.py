"""Failover on the local cluster: SIGKILL a node mid-run, start it again later, count what arrived.

Runs the whole pipeline (an enricher worker and an indexer, as subprocesses) on private topics and indices of a
3-broker, 2-node devstack cluster (`pipeline devstack up --brokers 3 --es-nodes 2`, started if needed), publishes
synthetic stories at a steady rate, and in the middle of it
  * kafka-leader: SIGKILLs the broker leading most of the run's partitions, restarts it after --down-seconds;
  * es-node:      SIGKILLs an Elasticsearch node (the data node, see docs/scaling.md), restarts it likewise.
Then it waits until the pipeline is idle and checks, against an offline enrichment of the same stories, that
every expected article and event is indexed exactly once and that nothing was dead-lettered.

    .venv/bin/python benchmarks/cluster_failover.py                      # both scenarios
    .venv/bin/python benchmarks/cluster_failover.py --scenario es-node --articles 60 --json

The cluster lives in PIPELINE_DEVSTACK_DIR (default .devstack-cluster) on ports from
PIPELINE_DEVSTACK_CLUSTER_PORT_BASE (default 39100); it is left running (`pipeline devstack down` stops it).
Exit status 0 only when every scenario lost nothing.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer

from pipeline.ids import article_id
from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.kafka import client_options, consumer_options, ensure_topics, make_producer
from pipeline.records import RawArticle
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT.parent / "shared" / "data" / "events" / "polecat_synthetic_stories.csv"
LOGS = ROOT / ".pipeline" / "logs"


@dataclass
class ScenarioResult:
    scenario: str
    killed: str
    articles_expected: int
    articles_indexed: int
    events_expected: int
    events_indexed: int
    missing_articles: int
    missing_events: int
    unexpected_events: int
    repeated_reports: int  # an article listed twice in one event document
    dead_letters: int
    down_seconds: float
    catch_up_seconds: float  # from the restart until everything was indexed
    total_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.missing_articles + self.missing_events + self.dead_letters

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.unexpected_events == 0 and self.repeated_reports == 0


# ---------------------------------------------------------------------------------------------------------
# The cluster.


def cluster_settings(base: Settings | None = None) -> Settings:
    """The settings of the failover cluster (its own devstack dir and port base unless configured)."""
    base = base or Settings()
    update: dict[str, Any] = {"devstack_brokers": 3, "devstack_es_nodes": 2}
    if "PIPELINE_DEVSTACK_DIR" not in os.environ:
        update["devstack_dir"] = Path(".devstack-cluster")
    return base.model_copy(update=update)


def ensure_cluster(stack: Settings) -> dict[str, str]:
    """Start (or heal) the cluster; the environment that points the pipeline at it."""
    from pipeline.devstack.stack import ensure_up

    return ensure_up(stack).env()


# ---------------------------------------------------------------------------------------------------------
# One run of the pipeline on private names.


def load_articles(count: int, run: str) -> list[RawArticle]:
    with STORIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    if len(rows) < count:
        raise SystemExit(f"{STORIES} has only {len(rows)} stories")
    articles = []
    for n, row in enumerate(rows):
        url = f"https://failover.example/{run}/{n}"
        articles.append(
            RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=row["title"], text=row["text"])
        )
    return articles


def expected_events(articles: list[RawArticle], settings: Settings) -> set[str]:
    """What the enricher must produce: the same pure function, run here."""
    from pipeline.enrich.core import EnrichmentResult, enrich_articles
    from pipeline.enrich.nlp import load_nlp

    results = enrich_articles(articles, load_nlp(settings))
    failed = [r for r in results if not isinstance(r, EnrichmentResult)]
    if failed:
        raise SystemExit(f"{len(failed)} stories fail enrichment offline; pick others")
    return {event.event_id for r in results if isinstance(r, EnrichmentResult) for event in r.events}


def settings_from_env(env: dict[str, str], **overrides: Any) -> Settings:
    """Settings from ``PIPELINE_*`` variables given as a dict (validated like the environment)."""
    values: dict[str, Any] = {key.removeprefix("PIPELINE_").lower(): value for key, value in env.items()}
    return Settings.model_validate({**values, **overrides})


def private_env(cluster_env: dict[str, str], run: str, partitions: int) -> dict[str, str]:
    return {
        **cluster_env,
        "PIPELINE_TOPIC_RAW": f"failover-{run}.articles.raw",
        "PIPELINE_TOPIC_ENRICHED": f"failover-{run}.articles.enriched",
        "PIPELINE_TOPIC_EVENTS": f"failover-{run}.events.enriched",
        "PIPELINE_TOPIC_DEAD_LETTER": f"failover-{run}.deadletter",
        "PIPELINE_TOPIC_PARTITIONS": str(partitions),
        "PIPELINE_ENRICHER_GROUP": f"failover-{run}-enricher",
        "PIPELINE_INDEXER_GROUP": f"failover-{run}-indexer",
        "PIPELINE_INDEX_ARTICLES": f"failover-{run}-articles",
        "PIPELINE_INDEX_EVENTS": f"failover-{run}-events",
        "PIPELINE_STATE_PATH": str(ROOT / ".pipeline" / f"failover-{run}" / "collector.sqlite3"),
        "PIPELINE_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def pipeline_stages(env: dict[str, str], run: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """An enricher worker and an indexer as their own processes, as in production; stopped on exit."""
    LOGS.mkdir(parents=True, exist_ok=True)
    Path(env["PIPELINE_STATE_PATH"]).parent.mkdir(parents=True, exist_ok=True)  # Faust's data dir goes there
    full_env = {**os.environ, **env}
    stages = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", *argv],
            env=full_env,
            cwd=ROOT,
            stdout=(LOGS / f"failover-{run}-{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for name, argv in (("enricher", ["enrich", "--loglevel", "warning"]), ("indexer", ["index"]))
    ]
    try:
        yield stages
    finally:
        for stage in stages:
            stage.terminate()
        for stage in stages:
            try:
                stage.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stage.kill()
                stage.wait()


class Publisher(threading.Thread):
    """Publishes the articles at ``rate`` per second with the pipeline's own producer (acks=all, idempotent)."""

    def __init__(self, settings: Settings, articles: list[RawArticle], rate: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.articles, self.rate = settings, articles, rate
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = make_producer(self.settings, client_id="failover-publisher")
        try:
            began = time.monotonic()
            futures = []
            for n, article in enumerate(self.articles):
                time.sleep(max(0.0, began + n / self.rate - time.monotonic()))
                futures.append(
                    producer.send(self.settings.topic_raw, key=article.article_id, value=article.to_json_bytes())
                )
                self.sent = n + 1
            for future in futures:
                future.get(timeout=120)  # raises if a send was not acknowledged: the test would be void
        except BaseException as exc:
            self.error = exc
        finally:
            producer.close(timeout=30)


def indexed_ids(es: Elasticsearch, index: str) -> list[str]:
    if not es.indices.exists(index=index):
        return []
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"match_all": {}}, size=10_000, source=False)["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def repeated_reports(es: Elasticsearch, index: str) -> int:
    if not es.indices.exists(index=index):
        return 0
    hits = es.search(index=index, query={"match_all": {}}, size=10_000, source_includes=["article_ids"])["hits"]
    repeats = 0
    for hit in hits["hits"]:
        ids = hit["_source"].get("article_ids") or []
        repeats += len(ids) - len(set(ids))
    return repeats


def dead_letter_count(settings: Settings) -> int:
    consumer = KafkaConsumer(
        settings.topic_dead_letter,
        **consumer_options(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        return sum(1 for _ in consumer)
    finally:
        consumer.close()


def cleanup(settings: Settings, es: Elasticsearch, run: str) -> None:
    with contextlib.suppress(Exception):
        delete_indices(es, settings)
    with contextlib.suppress(Exception):
        admin = KafkaAdminClient(**client_options(settings))
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"failover-{run}.")])
        admin.close()


# ---------------------------------------------------------------------------------------------------------
# Faults.


def partition_leader(settings: Settings) -> int:
    """The broker leading most partitions of this run's topics (on ties, the lowest id)."""
    admin = KafkaAdminClient(**client_options(settings))
    try:
        topics = [settings.topic_raw, settings.topic_enriched, settings.topic_events]
        leaders = collections.Counter(
            partition["leader"] for topic in admin.describe_topics(topics) for partition in topic["partitions"]
        )
    finally:
        admin.close()
    return min(leaders, key=lambda broker: (-leaders[broker], broker))


def es_data_node(stack: Settings) -> int:
    """The node that is not the elected master (with two nodes, the data-only one): losing it is survivable."""
    from pipeline.devstack.elasticsearch import master_eligible
    from pipeline.devstack.layout import Layout

    layout = Layout.from_settings(stack)
    masters = {node.number for node in master_eligible(layout)}
    return max(node.number for node in layout.es if node.number not in masters or len(masters) == len(layout.es))


Fault = Callable[[Settings, Settings], str]  # (cluster settings, run settings) -> what was killed


def kill_kafka_leader(stack: Settings, settings: Settings) -> str:
    from pipeline.devstack.stack import kill_node

    broker = partition_leader(settings)
    kill_node(stack, "kafka", broker)
    return f"kafka node {broker} (leader of most partitions)"


def kill_es_node(stack: Settings, settings: Settings) -> str:
    from pipeline.devstack.stack import kill_node

    number = es_data_node(stack)
    kill_node(stack, "elasticsearch", number)
    return f"elasticsearch node {number}"


SCENARIOS: dict[str, Fault] = {"kafka-leader": kill_kafka_leader, "es-node": kill_es_node}


def run_scenario(
    name: str,
    fault: Fault,
    *,
    stack: Settings,
    articles_count: int,
    rate: float,
    kill_after: float,
    down_seconds: float,
    partitions: int,
    timeout: float,
    log: Callable[[str], None] = print,
) -> ScenarioResult:
    began = time.monotonic()
    cluster_env = ensure_cluster(stack)
    run = uuid.uuid4().hex[:8]
    env = private_env(cluster_env, run, partitions)
    settings = settings_from_env(env)
    articles = load_articles(articles_count, run)
    log(f"[{name}] run {run}: {len(articles)} stories; enriching them offline for the expected events")
    wanted_events = expected_events(articles, settings)
    wanted_articles = {a.article_id for a in articles}
    ensure_topics(settings)
    es = make_client(settings)
    ensure_indices(es, settings)
    notes: list[str] = []
    try:
        with pipeline_stages(env, run) as stages:
            # Warm up: the first story through end to end, so the fault hits a running pipeline.
            warm = Publisher(settings, articles[:1], rate)
            warm.start()
            _wait(lambda: len(indexed_ids(es, settings.index_articles)) >= 1, "the first article", 300, stages)
            log(f"[{name}] pipeline running; publishing {len(articles) - 1} more at {rate}/s")
            publisher = Publisher(settings, articles[1:], rate)
            publisher.start()
            time.sleep(kill_after)
            killed = fault(stack, settings)
            killed_at = time.monotonic()
            log(f"[{name}] SIGKILLed {killed} after {publisher.sent} of {len(articles) - 1} sent")
            time.sleep(down_seconds)
            ensure_cluster(stack)
            restarted_at = time.monotonic()
            log(f"[{name}] restarted it after {restarted_at - killed_at:.1f}s; waiting for the rest")
            publisher.join(timeout=timeout)
            if publisher.error is not None:
                notes.append(f"publisher: {publisher.error!r}")

            def complete() -> bool:
                have_articles = set(indexed_ids(es, settings.index_articles))
                have_events = set(indexed_ids(es, settings.index_events))
                return wanted_articles <= have_articles and wanted_events <= have_events

            with contextlib.suppress(TimeoutError):
                _wait(complete, "every article and event", timeout, stages)
            caught_up = time.monotonic()
            time.sleep(5)  # anything late (a duplicate, a dead letter) has time to show
            dead = [stage.args for stage in stages if stage.poll() is not None]
            if dead:
                notes.append(f"stages exited: {dead}")
        have_articles = indexed_ids(es, settings.index_articles)
        have_events = indexed_ids(es, settings.index_events)
        return ScenarioResult(
            scenario=name,
            killed=killed,
            articles_expected=len(wanted_articles),
            articles_indexed=len(have_articles),
            events_expected=len(wanted_events),
            events_indexed=len(have_events),
            missing_articles=len(wanted_articles - set(have_articles)),
            missing_events=len(wanted_events - set(have_events)),
            unexpected_events=len(set(have_events) - wanted_events),
            repeated_reports=repeated_reports(es, settings.index_events),
            dead_letters=dead_letter_count(settings),
            down_seconds=round(restarted_at - killed_at, 1),
            catch_up_seconds=round(caught_up - restarted_at, 1),
            total_seconds=round(time.monotonic() - began, 1),
            notes=notes,
        )
    finally:
        cleanup(settings, es, run)


def _wait(condition: Callable[[], bool], what: str, timeout: float, stages: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # a node may be down: ask again
            if condition():
                return
        exited = [stage.args for stage in stages if stage.poll() is not None]
        if exited:
            raise SystemExit(f"a stage exited while waiting for {what}: {exited} (logs in {LOGS})")
        time.sleep(1.0)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    parser.add_argument("--articles", type=int, default=120)
    parser.add_argument("--rate", type=float, default=4.0, help="stories published per second")
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds into publishing")
    parser.add_argument("--down-seconds", type=float, default=20.0)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    stack = cluster_settings()
    results = [
        run_scenario(
            name,
            SCENARIOS[name],
            stack=stack,
            articles_count=args.articles,
            rate=args.rate,
            kill_after=args.kill_after,
            down_seconds=args.down_seconds,
            partitions=args.partitions,
            timeout=args.timeout,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        for name in (args.scenario or list(SCENARIOS))
    ]
    if args.json:
        print(json.dumps([{**asdict(r), "lost": r.lost, "ok": r.ok} for r in results], indent=2))
    else:
        for r in results:
            print(
                f"{r.scenario:<13} killed {r.killed}; articles {r.articles_indexed}/{r.articles_expected}, "
                f"events {r.events_indexed}/{r.events_expected} (unexpected {r.unexpected_events}, repeated "
                f"reports {r.repeated_reports}), dead letters {r.dead_letters}, lost {r.lost}; down "
                f"{r.down_seconds}s, caught up {r.catch_up_seconds}s after the restart, total {r.total_seconds}s"
                + (f"; notes: {r.notes}" if r.notes else "")
            )
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
