"""The indexer: enriched articles and events from Kafka into Elasticsearch.

At-least-once: offsets are committed only after a batch is written (or dead-lettered), and writes are
idempotent, so a crash or a replay never loses nor duplicates a document.

Riding out Elasticsearch: a batch is written on a worker thread while the consumer thread pauses every
assigned partition and keeps polling. Polling paused partitions fetches nothing but keeps this member in the
group, however long Elasticsearch stays away (frozen, restarting, write-blocked, overloaded): the group never
drops it, so no offset commit is refused afterwards and no other member takes the partitions over. We chose
this over "commit only while a member" because it keeps the batch in hand (no re-read after a rejoin) and
needs no rebalance at all. When the batch is through, the offsets are committed and the partitions resumed.

Only a document Elasticsearch refuses for itself (e.g. a mapping error, 400) is dead-lettered; whatever
passes (connection failures, 429, 5xx, write blocks) holds the batch with a capped backoff. A whole request
refused for good (bad credentials, no permission, a missing index) stops the indexer with a message, since
retrying cannot help and an operator must act.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from typing import Any

import structlog
from elasticsearch import ApiError, TransportError
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from pipeline.deadletter import dead_letter, describe
from pipeline.errors import START_HINT_ES, ServiceUnavailable, redact_url
from pipeline.health import touch
from pipeline.index.es import BULK_REQUEST_TIMEOUT_SECONDS, ensure_indices, make_client
from pipeline.index.sink import (
    TRANSIENT_STATUSES,
    ElasticsearchSink,
    ElasticsearchUnavailable,
    RequestRefused,
    SinkReport,
    is_write_block,
)
from pipeline.kafka import consumer_options, ensure_topics, make_producer, send_dead_letter
from pipeline.metrics import DEAD_LETTERS, DOCUMENTS_INDEXED, LAST_PROGRESS, start_metrics_server
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
    last_poll_at: float = field(default_factory=time.monotonic)  # the liveness signal (see pipeline.health)
    holding_since: float | None = None  # monotonic time the current batch began to wait for Elasticsearch


@dataclass
class ParsedBatch:
    """One poll's records sorted by what they are; each document keeps the records it came from."""

    articles: dict[str, list[tuple[ConsumerRecord, EnrichedArticle]]] = field(default_factory=dict)
    events: dict[str, list[tuple[ConsumerRecord, Event]]] = field(default_factory=dict)
    letters: list[DeadLetter] = field(default_factory=list)


def _unreadable(record: ConsumerRecord, reason: str, settings: Settings, error: Exception | None = None) -> DeadLetter:
    key = record.key.decode("utf-8", "backslashreplace") if isinstance(record.key, bytes) else record.key
    return dead_letter(
        "index",
        reason.splitlines()[0][:500],
        error=error,
        error_type=None if error else "Unreadable",
        key=key,
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        payload=record.value,
        max_message_bytes=settings.kafka_max_message_bytes,
    )


def newest_revision(reports: list[tuple[ConsumerRecord, EnrichedArticle]]) -> EnrichedArticle:
    """The article to index from one batch's records of it: the highest revision, not the last offset.

    A replay or a re-sent dead letter can put revision 2 after revision 3 on the partition; between records of
    one revision (a re-enrichment) the later offset wins. Across batches Elasticsearch's external version
    (the revision, ``external_gte``) keeps an older revision from replacing a newer one."""
    return max(reports, key=lambda report: (report[1].revision, report[0].offset))[1]


def parse_batch(records: list[ConsumerRecord], settings: Settings) -> ParsedBatch:
    """Validate every record; what cannot be read becomes a dead letter with the reason."""
    batch = ParsedBatch()
    articles: defaultdict[str, list[tuple[ConsumerRecord, EnrichedArticle]]] = defaultdict(list)
    events: defaultdict[str, list[tuple[ConsumerRecord, Event]]] = defaultdict(list)
    for record in records:
        try:
            if record.key is not None:
                record.key.decode("utf-8")
        except UnicodeDecodeError as exc:
            batch.letters.append(_unreadable(record, f"message key is not UTF-8: {exc}", settings, exc))
            continue
        if not record.value:
            batch.letters.append(_unreadable(record, f"empty message on {record.topic}", settings))
            continue
        if len(record.value) > settings.kafka_max_message_bytes:
            reason = f"message of {len(record.value)} bytes exceeds {settings.kafka_max_message_bytes}"
            batch.letters.append(_unreadable(record, reason, settings))
            continue
        try:
            if record.topic == settings.topic_enriched:
                article = EnrichedArticle.model_validate_json(record.value)
                articles[article.article_id].append((record, article))
            else:
                event = Event.model_validate_json(record.value)
                events[event.event_id].append((record, event))
        except (ValidationError, ValueError) as exc:
            reason = f"not a valid {record.topic} message: {describe(exc)}"
            batch.letters.append(_unreadable(record, reason, settings, exc))
    batch.articles, batch.events = dict(articles), dict(events)
    return batch


@dataclass
class _InFlight:
    records: list[ConsumerRecord]
    future: Future[bool]


class _PauseWhileWriting(ConsumerRebalanceListener):
    """Partitions assigned while a batch is being written are paused too, so poll() fetches nothing."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            log.info("partitions revoked", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        consumer = self.indexer.consumer
        if consumer is not None and self.indexer.in_flight is not None and assigned:
            consumer.pause(*assigned)


class Indexer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = make_client(settings, request_timeout=BULK_REQUEST_TIMEOUT_SECONDS)
        self.sink = ElasticsearchSink(self.client, settings.index_articles, settings.index_events)
        self.producer = make_producer(settings, client_id="pipeline-indexer")
        self.stats = IndexerStats()
        self.consumer: KafkaConsumer | None = None
        self.in_flight: _InFlight | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _consumer(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            **consumer_options(self.settings),
            group_id=self.settings.indexer_group,
            client_id="pipeline-indexer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            max_poll_interval_ms=self.settings.indexer_max_poll_interval_ms,
        )
        consumer.subscribe(
            [self.settings.topic_enriched, self.settings.topic_events], listener=_PauseWhileWriting(self)
        )
        return consumer

    def _backoff(self, attempt: int) -> float:
        return float(min(self.settings.indexer_retry_max_seconds, 0.5 * 2**attempt))

    def _deliver(self, letters: list[DeadLetter]) -> bool:
        """Send dead letters and wait until Kafka has acknowledged every one (retrying while it is away)."""
        attempt = 0
        while letters:
            futures = [(letter, send_dead_letter(self.producer, self.settings, letter)) for letter in letters]
            unacknowledged: list[DeadLetter] = []
            for letter, future in futures:
                try:
                    future.get(timeout=60)
                except KafkaError as exc:
                    log.error("dead letter not acknowledged by Kafka, will resend", key=letter.key, error=str(exc))
                    unacknowledged.append(letter)
            for letter in letters:
                if letter not in unacknowledged:
                    self.stats.dead_lettered += 1
                    DEAD_LETTERS.labels("index").inc()
            letters = unacknowledged
            if letters and self._stop.wait(self._backoff(attempt)):
                return False
            attempt += 1
        return True

    def _hold(self, attempt: int, reason: str, documents: int) -> bool:
        """Wait before the next attempt at a batch Elasticsearch did not take; False when stopped meanwhile."""
        delay = self._backoff(attempt)
        if self.stats.holding_since is None:
            self.stats.holding_since = time.monotonic()
        log.warning(
            "Elasticsearch is not taking writes; holding the batch (offsets stay uncommitted) and retrying",
            reason=reason[:300],
            documents=documents,
            waiting_seconds=round(time.monotonic() - self.stats.holding_since),
            retry_in=round(delay, 1),
        )
        return not self._stop.wait(delay)

    def _refusals(self, report: SinkReport, sources: dict[str, list[tuple[ConsumerRecord, Any]]]) -> list[DeadLetter]:
        """A dead letter for every record behind a refused document (all reports of a merged event)."""
        return [
            dead_letter(
                "index",
                f"Elasticsearch refused the document ({failure.status}): {failure.reason}",
                error_type="DocumentRefused",
                key=failure.doc_id,
                source_topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                payload=record.value,
                max_message_bytes=self.settings.kafka_max_message_bytes,
            )
            for failure in report.failures
            for record, _ in sources.get(failure.doc_id, [])
        ]

    def process(self, records: list[ConsumerRecord]) -> bool:
        """Write one batch. True once every record is indexed or its dead letter acknowledged; False when
        stopped before that (the caller must then not commit). Raises RequestRefused on a permanent refusal."""
        batch = parse_batch(records, self.settings)
        if not self._deliver(batch.letters):
            return False
        articles, events = batch.articles, batch.events
        attempt = 0
        while articles or events:
            if self._stop.is_set():
                return False
            try:
                article_report = self.sink.write_articles([newest_revision(docs) for docs in articles.values()])
                event_report = self.sink.write_events([doc for docs in events.values() for _, doc in docs])
            except ElasticsearchUnavailable as exc:
                if not self._hold(attempt, str(exc), len(articles) + len(events)):
                    return False
                attempt += 1
                continue
            letters = self._refusals(article_report, articles) + self._refusals(event_report, events)
            if not self._deliver(letters):
                return False
            DOCUMENTS_INDEXED.labels("article").inc(article_report.written)
            DOCUMENTS_INDEXED.labels("event").inc(event_report.written)
            self.stats.articles += article_report.written
            self.stats.events += event_report.written
            self.stats.stale += article_report.stale
            held = article_report.held + event_report.held
            articles = {f.doc_id: articles[f.doc_id] for f in article_report.held}
            events = {f.doc_id: events[f.doc_id] for f in event_report.held}
            if held:
                if not self._hold(attempt, f"{held[0].status} {held[0].reason}", len(held)):
                    return False
                attempt += 1
        if self.stats.holding_since is not None:
            held_seconds = round(time.monotonic() - self.stats.holding_since)
            log.info("Elasticsearch takes writes again", held_seconds=held_seconds)
            self.stats.holding_since = None
        self.stats.batches += 1
        LAST_PROGRESS.labels("index").set_to_current_time()
        self.stats.last_batch_at = time.monotonic()
        return True

    def _wait_for_elasticsearch(self) -> bool:
        """Templates and indices in place before the first poll; False when stopped.

        The start-up wait is bounded (PIPELINE_SERVICE_WAIT_SECONDS) and announced, so a mistyped URL is a
        message and a non-zero exit, not a silent hang; a supervisor restarts the indexer. Once running,
        outages of any length are ridden out by ``process``.
        """
        url = redact_url(self.settings.elasticsearch)
        wait = self.settings.service_wait_seconds
        deadline = time.monotonic() + wait
        attempt = 0
        while not self._stop.is_set():
            touch(self.settings, "index")  # waiting, not stalled
            try:
                ensure_indices(self.client, self.settings)
                if attempt:
                    log.info("Elasticsearch is ready", url=url)
                return True
            except ApiError as exc:
                status, error = int(exc.status_code or 0), exc.body.get("error") if isinstance(exc.body, dict) else None
                if status not in TRANSIENT_STATUSES and not is_write_block(status, error):
                    raise RequestRefused(status, str(exc)) from exc
                last_error = str(exc)
            except TransportError as exc:
                last_error = str(exc)
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    f"Elasticsearch not ready after {wait:g}s: {last_error}".splitlines()[0][:300],
                    where=url,
                    hint=START_HINT_ES + " (PIPELINE_SERVICE_WAIT_SECONDS sets how long to wait)",
                )
            if not attempt:
                announcement = f"waiting up to {wait:g}s for Elasticsearch at {url} to become ready"
                log.warning(announcement, error=last_error[:300])
            self._stop.wait(min(self._backoff(attempt), max(deadline - time.monotonic(), 0.1)))
            attempt += 1
        return False

    def _commit(self, consumer: KafkaConsumer, records: list[ConsumerRecord]) -> None:
        """Commit past ``records`` on the partitions still ours; a refused commit only means a re-read."""
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        owned = consumer.assignment()
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in owned and (tp not in offsets or offsets[tp].offset <= record.offset):
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except KafkaError as exc:
            # The batch is in Elasticsearch; whoever reads it again rewrites the same documents.
            log.warning("offsets not committed; the batch will be read again (writes are idempotent)", error=str(exc))

    def _keep_paused(self, consumer: KafkaConsumer, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Records fetched while a batch is in flight (a partition assigned mid-poll) are put back."""
        for tp, batch in polled.items():
            consumer.seek(tp, min(record.offset for record in batch))
            consumer.pause(tp)

    def run(self, on_batch: Callable[[IndexerStats], None] | None = None, idle_exit_seconds: float = 0) -> None:
        """Consume until stopped (or, with ``idle_exit_seconds``, until nothing arrived for that long)."""
        start_metrics_server(self.settings)
        if not self._wait_for_elasticsearch():
            return
        ensure_topics(self.settings)
        consumer = self.consumer = self._consumer()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-writer")
        log.info("indexer started", topics=[self.settings.topic_enriched, self.settings.topic_events])
        try:
            while not self._stop.is_set():
                if self.in_flight is None:
                    polled = consumer.poll(timeout_ms=1000, max_records=500)
                    self.stats.last_poll_at = time.monotonic()
                    touch(self.settings, "index")
                    records = [r for batch in polled.values() for r in batch]
                    if records:
                        consumer.pause(*consumer.assignment())
                        self.in_flight = _InFlight(records, writer.submit(self.process, records))
                    elif idle_exit_seconds and time.monotonic() - self.stats.last_batch_at > idle_exit_seconds:
                        break
                    continue
                # Wait on the batch itself (so it is committed and the next one polled as soon as it is written),
                # then poll: paused, the poll fetches nothing, it only keeps the membership alive.
                wait_for_futures([self.in_flight.future], timeout=0.2)
                self._keep_paused(consumer, consumer.poll(timeout_ms=10))
                self.stats.last_poll_at = time.monotonic()
                touch(self.settings, "index")
                if not self.in_flight.future.done():
                    continue
                completed = self.in_flight.future.result()  # a permanent refusal raises here
                if completed:
                    self._commit(consumer, self.in_flight.records)
                consumer.resume(*consumer.paused())
                self.in_flight = None
                if completed and on_batch:
                    on_batch(self.stats)
        finally:
            self._stop.set()
            writer.shutdown(wait=True)
            consumer.close(autocommit=False)
            self.producer.flush()
            self.producer.close()
