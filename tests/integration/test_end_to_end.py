"""The whole path against the real broker and node: raw article -> Faust enricher -> topics -> indexer -> ES.

Two enricher workers (subprocesses, one consumer group) and the indexer (a thread) run on topics and indices
private to this module, so the test never disturbs other data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaProducer

from pipeline.ids import article_id
from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.index.indexer import Indexer
from pipeline.kafka import LagProbe, ensure_topics, make_producer
from pipeline.records import DeadLetter, EnrichedArticle, Event, RawArticle
from pipeline.settings import Settings
from tests.integration.stages import batch_codecs
from tests.integration.stages import read_topic as read_to_end
from tests.shared_data import SEED_ARTICLE, require_shared

pytestmark = pytest.mark.integration

PUBLISHED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def raw_article(url: str, text: str, title: str) -> RawArticle:
    return RawArticle(
        article_id=article_id(url),
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        published_at=PUBLISHED,
        language="en",
        site_name="e2e",
        content_hash=str(hash(text)),
    )


# The enricher workers of this module and their log files, so that a wait that fails can say what they were
# doing (a timeout alone once left a CI failure with nothing to go on).
_WORKERS: list[tuple[subprocess.Popen[bytes], Path]] = []


def workers_report() -> str:
    lines = []
    for n, (worker, log) in enumerate(_WORKERS):
        state = "running" if worker.poll() is None else f"exited with {worker.returncode}"
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        lines.append(f"--- enricher {n} (pid {worker.pid}, {state}), log tail ---\n{text[-3000:]}")
    return "\n".join(lines)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if _WORKERS and all(worker.poll() is not None for worker, _ in _WORKERS):
            raise AssertionError(f"every enricher worker exited while waiting for {what}\n{workers_report()}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{workers_report()}")


@pytest.fixture(scope="module")
def e2e(kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:8]
    state = tmp_path_factory.mktemp("e2e")
    env = {
        "PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PIPELINE_ELASTICSEARCH_URL": es_url,
        "PIPELINE_TOPIC_RAW": f"e2e-{suffix}.articles.raw",
        "PIPELINE_TOPIC_ENRICHED": f"e2e-{suffix}.articles.enriched",
        "PIPELINE_TOPIC_EVENTS": f"e2e-{suffix}.events.enriched",
        "PIPELINE_TOPIC_DEAD_LETTER": f"e2e-{suffix}.deadletter",
        "PIPELINE_TOPIC_PARTITIONS": "2",
        "PIPELINE_ENRICHER_GROUP": f"e2e-{suffix}-enricher",
        "PIPELINE_INDEXER_GROUP": f"e2e-{suffix}-indexer",
        "PIPELINE_INDEX_ARTICLES": f"e2e-{suffix}-articles",
        "PIPELINE_INDEX_EVENTS": f"e2e-{suffix}-events",
        "PIPELINE_STATE_PATH": str(state / "collector.sqlite3"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        settings = Settings()
        ensure_topics(settings)
        client = make_client(settings)
        ensure_indices(client, settings)
        logs = [state / f"enricher-{n}.log" for n in range(2)]
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
            )
            for log in logs
        ]
        _WORKERS[:] = list(zip(workers, logs, strict=True))
        indexer = Indexer(settings)
        thread = threading.Thread(target=indexer.run, daemon=True)
        thread.start()
        try:
            yield settings
        finally:
            indexer.stop()
            thread.join(timeout=30)
            for worker in workers:
                worker.terminate()
            for n, worker in enumerate(workers):
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                log = (state / f"enricher-{n}.log").read_text(errors="replace")
                print(f"--- enricher {n} log (tail) ---\n{log[-2000:]}")
            _WORKERS.clear()
            delete_indices(client, settings)


@pytest.fixture(scope="module")
def producer(e2e: Settings) -> Iterator[KafkaProducer]:
    p = make_producer(e2e, "e2e-collector")  # the collector's producer, compressing as the settings say
    yield p
    p.close()


@pytest.fixture(scope="module")
def es(e2e: Settings) -> Elasticsearch:
    return make_client(e2e)


def publish(producer: KafkaProducer, settings: Settings, article: RawArticle) -> None:
    producer.send(settings.topic_raw, key=article.article_id, value=article.to_json_bytes()).get(timeout=30)


def indexed(es: Elasticsearch, index: str, doc_id: str) -> dict | None:
    found = es.options(ignore_status=404).get(index=index, id=doc_id)
    return found["_source"] if found.get("found") else None


@pytest.fixture(scope="module")
def lag(e2e: Settings) -> Iterator[LagProbe]:
    probe = LagProbe(e2e)  # one admin and one consumer connection for the module, not two per poll
    yield probe
    probe.close()


def drained(probe: LagProbe, settings: Settings) -> bool:
    return (
        probe.lag(settings.enricher_group, [settings.topic_raw]) == 0
        and probe.lag(settings.indexer_group, [settings.topic_enriched, settings.topic_events]) == 0
    )


def count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def read_topic(settings: Settings, topic: str) -> list[bytes]:
    return [record.value for record in read_to_end(settings, topic)]


@pytest.fixture(scope="module")
def seed(e2e: Settings, producer: KafkaProducer, es: Elasticsearch) -> EnrichedArticle:
    article = raw_article(
        "https://e2e.example/korea/blinken-visit",
        require_shared(SEED_ARTICLE, "the seed article").read_text(encoding="utf-8"),
        "North Korea fires missile during Blinken visit",
    )
    publish(producer, e2e, article)
    wait_for(
        lambda: indexed(es, e2e.index_articles, article.article_id) is not None,
        "the seed article indexed",
        timeout=240,
    )
    source = indexed(es, e2e.index_articles, article.article_id)
    assert source is not None
    source.pop("indexed_at", None)
    return EnrichedArticle.model_validate(source)


def test_seed_article_entities_are_indexed_canonically(seed: EnrichedArticle) -> None:
    by_name = {entity.name: entity for entity in seed.entities}
    assert by_name["Antony Blinken"].label == "PERSON"
    for person in ("Yoon Suk Yeol", "Donald Trump", "Kim Jong Un"):
        assert by_name[person].label == "PERSON", person
    for country, code in (
        ("North Korea", "PRK"),
        ("South Korea", "KOR"),
        ("Russia", "RUS"),
        ("Japan", "JPN"),
    ):
        assert by_name[country].country_code == code, country
    assert "UN Security Council" in by_name
    assert "Blinken" not in by_name  # merged into Antony Blinken, not a separate (GPE) entity
    assert seed.lineage.model_name and seed.lineage.taxonomy_version


def test_events_are_published_and_indexed(
    e2e: Settings, seed: EnrichedArticle, es: Elasticsearch, lag: LagProbe
) -> None:
    assert seed.event_ids, "the seed article should yield events"
    wait_for(lambda: drained(lag, e2e), "enricher and indexer to catch up")
    on_topic = [Event.model_validate_json(value) for value in read_topic(e2e, e2e.topic_events)]
    assert {event.event_id for event in on_topic} >= set(seed.event_ids)
    wait_for(lambda: count(es, e2e.index_events) >= len(set(seed.event_ids)), "events indexed")
    stored = indexed(es, e2e.index_events, seed.event_ids[0])
    assert stored is not None and seed.article_id in stored["article_ids"]


def test_every_stage_reads_what_the_others_compress_with_the_configured_codec(
    e2e: Settings, seed: EnrichedArticle, lag: LagProbe
) -> None:
    """PIPELINE_KAFKA_COMPRESSION (zstd by default) in both clients: the collector's kafka-python producer wrote
    the raw topic, the enricher's Faust (aiokafka) producer the enriched and events topics, in zstd batches only;
    the enricher read the first (the seed was enriched), the indexer the others (it was indexed), and
    ``pipeline subscribe`` reads the events (``test_subscribe_prints_published_events``)."""
    assert e2e.kafka_compression == "zstd"
    wait_for(lambda: drained(lag, e2e), "enricher and indexer to catch up")
    for topic in (e2e.topic_raw, e2e.topic_enriched, e2e.topic_events):
        assert batch_codecs(e2e, topic) == {"zstd"}, topic


def test_two_workers_share_the_partitions(e2e: Settings, seed: EnrichedArticle) -> None:
    admin = KafkaAdminClient(bootstrap_servers=e2e.kafka)
    try:

        def members() -> int:
            (group,) = admin.describe_consumer_groups([e2e.enricher_group])
            return len(group.members)

        wait_for(lambda: members() == 2, "both enricher workers in the consumer group", timeout=60)
    finally:
        admin.close()


def test_replay_and_second_report_keep_counts_and_merge_sources(
    e2e: Settings, producer: KafkaProducer, es: Elasticsearch, seed: EnrichedArticle, lag: LagProbe
) -> None:
    wait_for(lambda: drained(lag, e2e), "a quiet pipeline")
    articles_before, events_before = count(es, e2e.index_articles), count(es, e2e.index_events)

    replay = RawArticle.model_validate(seed.model_dump(include=set(RawArticle.model_fields)))
    publish(producer, e2e, replay)
    wait_for(lambda: drained(lag, e2e), "the replay to be processed")
    assert (count(es, e2e.index_articles), count(es, e2e.index_events)) == (articles_before, events_before)

    # Another outlet reports the same story: same events (same ids), one more article, both as sources.
    other = raw_article("https://other.example/asia/missile", seed.text, "Missile launch as Blinken visits Seoul")
    publish(producer, e2e, other)
    wait_for(lambda: indexed(es, e2e.index_articles, other.article_id) is not None, "the second report indexed")
    wait_for(lambda: drained(lag, e2e), "the second report's events")
    assert count(es, e2e.index_events) == events_before
    merged = indexed(es, e2e.index_events, seed.event_ids[0])
    assert merged is not None and {seed.article_id, other.article_id} <= set(merged["article_ids"])


def test_malformed_message_is_dead_lettered_and_the_next_one_processed(
    e2e: Settings, producer: KafkaProducer, es: Elasticsearch, seed: EnrichedArticle
) -> None:
    producer.send(e2e.topic_raw, key="broken", value=b'{"article_id": "broken", "text": 42').get(timeout=30)
    good = raw_article(
        "https://e2e.example/after-broken",
        "Protesters marched in Tokyo on Sunday against a new defence budget, police said.",
        "Tokyo protest",
    )
    publish(producer, e2e, good)
    wait_for(lambda: indexed(es, e2e.index_articles, good.article_id) is not None, "the good message indexed")
    letters = [DeadLetter.model_validate_json(value) for value in read_topic(e2e, e2e.topic_dead_letter)]
    broken = [letter for letter in letters if letter.key == "broken"]
    assert broken, f"no dead letter for the malformed message; got {[json.loads(x.model_dump_json()) for x in letters]}"
    assert broken[0].stage == "enrich" and broken[0].reason and broken[0].payload


def test_subscribe_prints_published_events(e2e: Settings, seed: EnrichedArticle, lag: LagProbe) -> None:
    wait_for(lambda: drained(lag, e2e), "events on the topic")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "subscribe",
            "--from-beginning",
            "--json",
            "--limit",
            "3",
            "--idle-exit",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=True,
    )
    printed = [Event.model_validate_json(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 3 and all(event.event_id.startswith("evt_") for event in printed)


def test_search_command_finds_the_seed_article(e2e: Settings, seed: EnrichedArticle) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "search", "missile", "--entity", "Antony Blinken", "--country", "PRK"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="200"),
        check=True,
    )
    assert "North Korea fires missile during Blinken visit" in done.stdout


def test_indexer_dead_letters_what_it_cannot_read_and_keeps_indexing(
    e2e: Settings, producer: KafkaProducer, es: Elasticsearch, seed: EnrichedArticle
) -> None:
    producer.send(e2e.topic_enriched, key="not-an-article", value=b"\x00\xffbinary").get(timeout=30)
    after = raw_article(
        "https://e2e.example/after-binary", "Officials in Nairobi signed a water-sharing agreement on Friday.", "Deal"
    )
    publish(producer, e2e, after)
    wait_for(lambda: indexed(es, e2e.index_articles, after.article_id) is not None, "the next article indexed")
    letters = [DeadLetter.model_validate_json(value) for value in read_topic(e2e, e2e.topic_dead_letter)]
    refused = [letter for letter in letters if letter.key == "not-an-article"]
    assert refused and refused[0].stage == "index" and refused[0].source_topic == e2e.topic_enriched
