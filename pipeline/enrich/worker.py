"""The enricher as a Faust app: raw articles in, enriched articles and events out. Only moves data.

All the work is ``pipeline.enrich.core.enrich_articles`` (a plain function); this module batches the
stream, runs that function off the event loop (spaCy is CPU-bound and would starve Kafka heartbeats),
publishes the results keyed by article id / event id, and dead-letters what cannot be processed.
Workers in one consumer group (``PIPELINE_ENRICHER_GROUP``) share the raw topic's partitions.

Run: ``pipeline enrich`` (or ``faust -A pipeline.enrich.worker:app worker``); see ``worker_cli``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import faust
import structlog
from pydantic import ValidationError

from pipeline.deadletter import dead_letter
from pipeline.kafka import faust_credentials
from pipeline.metrics import (
    ARTICLES_ENRICHED,
    DEAD_LETTERS,
    ENRICH_BATCH_SECONDS,
    EVENTS_CODED,
    LAST_PROGRESS,
    start_metrics_server,
)
from pipeline.records import DeadLetter, RawArticle
from pipeline.settings import Settings, get_settings

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> faust.App:
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates its own directory, not the parents
    return faust.App(
        settings.enricher_group,
        broker=f"kafka://{settings.kafka}",
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=str(settings.faust_data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        producer_acks=-1,
        producer_max_request_size=4_000_000,
    )


settings = get_settings()
app = create_app(settings)

_raw_bytes: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
raw_topic = app.topic(settings.topic_raw, **_raw_bytes)
enriched_topic = app.topic(settings.topic_enriched, **_raw_bytes)
events_topic = app.topic(settings.topic_events, **_raw_bytes)
dead_letter_topic = app.topic(settings.topic_dead_letter, **_raw_bytes)

_nlp: Any = None


def _load_nlp() -> Any:
    global _nlp
    if _nlp is None:
        from pipeline.enrich.nlp import load_nlp

        _nlp = load_nlp(settings)
        log.info("spaCy model loaded", model=_nlp.meta.get("name"), version=_nlp.meta.get("version"))
    return _nlp


async def _send_dead_letter(record: DeadLetter) -> None:
    log.warning("dead-lettered", stage=record.stage, key=record.key, reason=record.reason)
    DEAD_LETTERS.labels(record.stage).inc()
    await dead_letter_topic.send(key=(record.key or "").encode(), value=record.to_json_bytes())


@app.agent(raw_topic)
async def enrich(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles

    start_metrics_server(settings)
    nlp = await asyncio.get_running_loop().run_in_executor(None, _load_nlp)
    # take_events (acks after the batch is handled) exists on faust.Stream but not on the StreamT protocol.
    batches = stream.take_events(settings.enrich_batch_size, within=settings.enrich_batch_seconds)  # type: ignore[attr-defined]
    async for batch in batches:
        articles: list[RawArticle] = []
        messages: list[Any] = []  # each article's Kafka message, for dead letters
        for event in batch:
            message = event.message
            try:
                article = RawArticle.model_validate_json(event.value)
            except (ValidationError, ValueError) as exc:
                await _send_dead_letter(
                    dead_letter(
                        "enrich",
                        f"not a valid raw article: {exc}".splitlines()[0][:500],
                        error=exc,
                        key=message.key.decode("utf-8", "replace") if message.key else None,
                        source_topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        payload=event.value,
                    )
                )
                continue
            articles.append(article)
            messages.append(message)
        if not articles:
            continue
        began = time.perf_counter()
        results = await asyncio.get_running_loop().run_in_executor(None, enrich_articles, articles, nlp)
        ENRICH_BATCH_SECONDS.observe(time.perf_counter() - began)
        for article, message, result in zip(articles, messages, results, strict=True):  # results keep input order
            if isinstance(result, EnrichmentFailure):
                await _send_dead_letter(
                    dead_letter(
                        "enrich",
                        result.reason,
                        error_type=result.error_type,
                        key=result.article_id,
                        source_topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        payload=article.model_dump_json(),
                    )
                )
                continue
            ARTICLES_ENRICHED.inc()
            LAST_PROGRESS.labels("enrich").set_to_current_time()
            for coded in result.events:
                EVENTS_CODED.labels(coded.event_type).inc()
                await events_topic.send(key=coded.event_id.encode(), value=coded.to_json_bytes())
            await enriched_topic.send(key=result.article.article_id.encode(), value=result.article.to_json_bytes())
        log.info(
            "batch enriched",
            articles=len(articles),
            events=sum(len(getattr(r, "events", [])) for r in results),
        )
        yield None


def run_worker(loglevel: str = "info") -> None:
    """Start a Faust worker for this app in the current process (blocks until stopped)."""
    from faust.worker import Worker

    Worker(app, loglevel=loglevel).execute_from_commandline()
