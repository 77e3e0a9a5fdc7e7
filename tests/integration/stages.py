"""Helpers for tests that run stages against the real services on topics and indices of their own."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from pipeline.index.es import delete_indices, make_client
from pipeline.index.indexer import Indexer
from pipeline.kafka import LagProbe, client_options
from pipeline.records import DeadLetter, EnrichedArticle, Event
from pipeline.settings import Settings
from tests.factories import sample_enriched


def private_settings(base: Settings, prefix: str, **overrides: Any) -> Settings:
    """``base`` with topics, groups and indices no other test uses."""
    suffix = f"{prefix}-{uuid.uuid4().hex[:8]}"
    names: dict[str, Any] = {
        "topic_raw": f"{suffix}.articles.raw",
        "topic_enriched": f"{suffix}.articles.enriched",
        "topic_events": f"{suffix}.events.enriched",
        "topic_dead_letter": f"{suffix}.deadletter",
        "topic_partitions": 2,
        "enricher_group": f"{suffix}-enricher",
        "indexer_group": f"{suffix}-indexer",
        "index_articles": f"{suffix}-articles",
        "index_events": f"{suffix}-events",
    }
    return base.model_copy(update={**names, **overrides})


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a subprocess needs to run a stage with ``settings``."""
    return {**os.environ, **settings.as_env()}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def article(n: int, prefix: str = "fault") -> EnrichedArticle:
    base = sample_enriched()
    return base.model_copy(update={"article_id": f"art_{prefix}_{n}", "url": f"https://x.example/{prefix}/{n}"})


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.kafka, acks="all")


def publish_articles(settings: Settings, articles: list[EnrichedArticle]) -> None:
    _publish(settings, settings.topic_enriched, [(a.article_id, a.to_json_bytes()) for a in articles])


def publish_events(settings: Settings, events: list[Event]) -> None:
    _publish(settings, settings.topic_events, [(e.event_id, e.to_json_bytes()) for e in events])


def _publish(settings: Settings, topic: str, keyed: list[tuple[str, bytes]]) -> None:
    p = producer(settings)
    try:
        for key, value in keyed:
            p.send(topic, key=key.encode(), value=value)
        p.flush(timeout=30)
    finally:
        p.close()


def read_topic(settings: Settings, topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record on ``topic`` now: read up to the end offsets taken at the start, not until a spell of
    silence (which cost seconds per call and could still end before a slow fetch). Empty when the topic does
    not exist."""
    consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: could not read up to the end offsets {ends} in {timeout:.0f}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
        return records
    finally:
        consumer.close()


CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}  # a record batch's attributes & 0x07


def batch_codecs(settings: Settings, topic: str) -> set[str]:
    """The codecs of the record batches on ``topic``, as a kafka-python consumer finds them reading it to the end.

    Watches (and calls through) kafka-python's batch iterator in this thread only; every record is still read
    and decompressed by the real client."""
    from kafka.record.memory_records import MemoryRecords

    seen: set[str] = set()
    reader = threading.get_ident()
    next_batch = MemoryRecords.next_batch

    def watched(self: MemoryRecords, *args: Any, **kwargs: Any) -> Any:
        batch = next_batch(self, *args, **kwargs)
        if batch is not None and threading.get_ident() == reader:
            seen.add(CODEC_NAMES.get(batch.compression_type, str(batch.compression_type)))
        return batch

    MemoryRecords.next_batch = watched
    try:
        read_topic(settings, topic)
    finally:
        MemoryRecords.next_batch = next_batch
    return seen


def dead_letters(settings: Settings) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in read_topic(settings, settings.topic_dead_letter)]


def count(es: Elasticsearch, index: str) -> int:
    """Documents in ``index``; 0 while it does not exist yet."""
    if not es.indices.exists(index=index):
        return 0
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def group_members(settings: Settings, group: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka)
    try:
        (described,) = admin.describe_consumer_groups([group])
        return len(described.members)
    finally:
        admin.close()


class IndexerThread:
    """An Indexer on a thread; ``error`` holds what it died of, ``article_writes`` how many times it has sent
    articles to Elasticsearch (each attempt at a batch counts once), so a test can wait for retries to happen
    instead of sleeping for as long as it guesses they take."""

    def __init__(self, settings: Settings) -> None:
        self.indexer = Indexer(settings)
        self.error: BaseException | None = None
        self.article_writes = 0
        sink = getattr(self.indexer, "sink", None)  # (code before a fix, under benchmarks/before_fix.sh, may lack it)
        if sink is not None:
            write_articles = sink.write_articles

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.article_writes += 1
                return write_articles(*args, **kwargs)

            sink.write_articles = counted  # the real sink, called through: counted, not replaced
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.indexer.run()
        except BaseException as exc:
            self.error = exc

    def alive(self) -> bool:
        return self.thread.is_alive()


@contextmanager
def running_indexer(settings: Settings) -> Iterator[IndexerThread]:
    runner = IndexerThread(settings)
    runner.thread.start()
    try:
        yield runner
    finally:
        runner.indexer.stop()
        runner.thread.join(timeout=150)


@contextmanager
def private_indices(settings: Settings) -> Iterator[Elasticsearch]:
    es = make_client(settings)
    try:
        yield es
    finally:
        delete_indices(es, settings)


def committed_lag(settings: Settings) -> int | None:
    """What the indexer's group has left to commit on its two topics (None when it cannot tell)."""
    probe = LagProbe(settings)
    try:
        return probe.lag(settings.indexer_group, [settings.topic_enriched, settings.topic_events])
    finally:
        probe.close()
