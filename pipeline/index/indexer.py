"""The indexer: enriched articles and events from Kafka into Elasticsearch.

At-least-once: offsets are committed only after a batch is written (or dead-lettered), and writes are
idempotent, so a crash or a replay never loses nor duplicates a document.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError

from pipeline.deadletter import dead_letter
from pipeline.index.es import BULK_REQUEST_TIMEOUT_SECONDS, ensure_indices, make_client, wait_until_ready
from pipeline.index.sink import ElasticsearchSink
from pipeline.kafka import client_options, ensure_topics, make_producer, send_dead_letter
from pipeline.metrics import DEAD_LETTERS, DOCUMENTS_INDEXED, start_metrics_server
from pipeline.records import DeadLetter, EnrichedArticle, Event
from pipeline.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class IndexerStats:
    articles: int = 0
    events: int = 0
    stale: int = 0
    dead_lettered: int = 0
    batches: int = 0
    last_batch_at: float = field(default_factory=time.monotonic)


def _parse(
    records: list[ConsumerRecord], settings: Settings
) -> tuple[list[EnrichedArticle], list[Event], list[tuple[ConsumerRecord, Exception]]]:
    articles: list[EnrichedArticle] = []
    events: list[Event] = []
    bad: list[tuple[ConsumerRecord, Exception]] = []
    for record in records:
        try:
            if record.topic == settings.topic_enriched:
                articles.append(EnrichedArticle.model_validate_json(record.value))
            else:
                events.append(Event.model_validate_json(record.value))
        except (ValidationError, ValueError) as exc:
            bad.append((record, exc))
    return articles, events, bad


class Indexer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = make_client(settings, request_timeout=BULK_REQUEST_TIMEOUT_SECONDS)
        self.sink = ElasticsearchSink(self.client, settings.index_articles, settings.index_events)
        self.producer = make_producer(settings, client_id="pipeline-indexer")
        self.stats = IndexerStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            self.settings.topic_enriched,
            self.settings.topic_events,
            **client_options(self.settings),
            group_id=self.settings.indexer_group,
            client_id="pipeline-indexer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            key_deserializer=lambda key: key.decode("utf-8") if key else None,
        )

    def _dead_letter(self, record: DeadLetter) -> Any:
        self.stats.dead_lettered += 1
        DEAD_LETTERS.labels("index").inc()
        return send_dead_letter(self.producer, self.settings, record)

    def process(self, records: list[ConsumerRecord]) -> None:
        """Write one batch; returns only when every record is indexed or its dead letter is acknowledged."""
        articles, events, bad = _parse(records, self.settings)
        deliveries = [
            self._dead_letter(
                dead_letter(
                    "index",
                    f"not a valid {record.topic} message: {exc}".splitlines()[0][:500],
                    error=exc,
                    key=record.key,
                    source_topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    payload=record.value,
                )
            )
            for record, exc in bad
        ]
        by_id = {r.key: r for r in records if r.key}
        while not self._stop.is_set():
            try:
                article_report = self.sink.write_articles(articles)
                event_report = self.sink.write_events(events)
                break
            except Exception as exc:  # Elasticsearch unreachable: hold the batch (and the offsets), retry
                log.error("indexing failed, will retry the batch", error=str(exc))
                self._stop.wait(5.0)
        else:
            return
        for failure in article_report.failures + event_report.failures:
            record = by_id.get(failure.doc_id)
            deliveries.append(
                self._dead_letter(
                    dead_letter(
                        "index",
                        f"Elasticsearch refused the document ({failure.status}): {failure.reason}",
                        key=failure.doc_id,
                        source_topic=record.topic if record else None,
                        partition=record.partition if record else None,
                        offset=record.offset if record else None,
                        payload=record.value if record else None,
                    )
                )
            )
        for delivery in deliveries:
            delivery.get(timeout=60)  # raises if Kafka refused it: the batch's offsets are then not committed
        DOCUMENTS_INDEXED.labels("article").inc(article_report.written)
        DOCUMENTS_INDEXED.labels("event").inc(event_report.written)
        self.stats.articles += article_report.written
        self.stats.events += event_report.written
        self.stats.stale += article_report.stale
        self.stats.batches += 1
        self.stats.last_batch_at = time.monotonic()

    def run(self, on_batch: Callable[[IndexerStats], None] | None = None, idle_exit_seconds: float = 0) -> None:
        """Consume until stopped (or, with ``idle_exit_seconds``, until nothing arrived for that long)."""
        start_metrics_server(self.settings)
        wait_until_ready(self.client)
        ensure_indices(self.client, self.settings)
        ensure_topics(self.settings)
        consumer = self._consumer()
        log.info("indexer started", topics=[self.settings.topic_enriched, self.settings.topic_events])
        try:
            while not self._stop.is_set():
                polled = consumer.poll(timeout_ms=1000, max_records=500)
                records = [r for batch in polled.values() for r in batch]
                if records:
                    self.process(records)
                    if self._stop.is_set():
                        break  # batch was interrupted: don't commit what wasn't written
                    consumer.commit()
                    if on_batch:
                        on_batch(self.stats)
                elif idle_exit_seconds and time.monotonic() - self.stats.last_batch_at > idle_exit_seconds:
                    break
        finally:
            consumer.close()
            self.producer.flush()
            self.producer.close()
