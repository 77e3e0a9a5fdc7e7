"""The enricher as a Faust app: raw articles in, enriched articles and events out. Only moves data.

All the work is ``pipeline.enrich.core.enrich_articles`` (a plain function); this module batches the
stream (``pipeline.enrich.batching``: what has arrived, no waiting window), runs that function off the event
loop (spaCy is CPU-bound and would starve Kafka heartbeats), publishes the results keyed by article id /
event id, and dead-letters what cannot be processed.
Workers in one consumer group (``PIPELINE_ENRICHER_GROUP``) share the raw topic's partitions.

Run: ``pipeline enrich`` (or ``faust -A pipeline.enrich.worker:app worker``); see ``worker_cli``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NoReturn

import faust
import structlog
from pydantic import ValidationError

from pipeline.deadletter import dead_letter, describe
from pipeline.enrich.batching import available_batches
from pipeline.enrich.parse_process import ParseProcess
from pipeline.enrich.reloading import ReloadingModel
from pipeline.enrich.stall import StallWatch
from pipeline.errors import EXIT_SOFTWARE
from pipeline.health import touch
from pipeline.kafka import faust_app
from pipeline.metrics import (
    ARTICLES_ENRICHED,
    ARTICLES_NOT_EXTRACTED,
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
    app: faust.App = faust_app(settings, settings.enricher_group)  # compressing as PIPELINE_KAFKA_COMPRESSION says
    return app


settings = get_settings()
app = create_app(settings)
progress = StallWatch(settings, settings.enrich_stall_seconds)
STALL_CHECK_SECONDS = 10.0

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


def _load_nlp() -> Any:
    from pipeline.enrich.nlp import forget_other_language_pipelines, load_nlp

    forget_other_language_pipelines()  # a reload: French loads afresh at its next article too
    nlp = load_nlp(settings)
    log.info("spaCy model loaded", model=nlp.meta.get("name"), version=nlp.meta.get("version"))
    return nlp


# The worker's pipeline: with a parse process, it runs only the news NER on the child's docs and parses titles.
_model = ReloadingModel(_load_nlp, settings.enrich_model_reload_articles)
_parser: ParseProcess | None = None
# One thread finishes (or, without a parse process, enriches) the batches, in order; spaCy's pipeline is not
# shared between threads.
_enrich_thread = ThreadPoolExecutor(1, thread_name_prefix="enrich")


def _start_parser() -> None:
    """Load the pipeline before the first batch: in a parse process (its child), or in this process."""
    global _parser
    if not settings.enrich_parse_process or _parser is not None:
        _model.get()
        return
    _parser = ParseProcess(settings.enrich_model_reload_articles)
    child = _parser.start()  # the child loads its pipeline while this process loads its own
    _model.get()
    log.info("parse process ready", pid=child.result())


def _enrich_batch(articles: list[RawArticle]) -> list[Any]:
    """``enrich_articles`` with the worker's pipeline (run off the event loop: parsing, or loading, is slow)."""
    from pipeline.enrich.core import enrich_articles

    results = enrich_articles(articles, _model.get())
    _model.seen(len(articles))
    return results


def _submit_parse(articles: list[RawArticle]) -> tuple[Any, Future[Any]]:
    """Prepare the batch and hand its parse to the parse process (returns at once, the parse runs there)."""
    from pipeline.enrich.core import prepare_batch

    assert _parser is not None
    prepared = prepare_batch(articles, str(_model.get().lang))
    return prepared, _parser.submit(prepared.request.texts)


def _finish_parsed(prepared: Any, wire: Any) -> list[Any]:
    """Finish the child's parse (``parse_process.finish_parse``) and enrich the batch from it."""
    from pipeline.enrich.core import finish_batch
    from pipeline.enrich.parse_process import finish_parse

    results = finish_batch(prepared, finish_parse(wire, _model.get(), prepared.request.titles))
    _model.seen(len(prepared.articles))
    return results


def exit_worker(reason: str) -> NoReturn:
    """Stop the whole process with EX_SOFTWARE so a supervisor restarts it. Never a hang: Faust would restart
    a failed agent on its old batching generator (which waits forever) and may wait forever on a stop too, so
    the exit does not go through Faust. Offsets of unfinished batches are uncommitted and are read again."""
    log.critical("the enricher cannot go on; exiting so that a supervisor restarts it", reason=reason[:500])
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_SOFTWARE)


async def _produce(topic: faust.TopicT, key: str, value: bytes) -> Awaitable[Any]:
    """Hand a record to the producer; the returned awaitable resolves once the broker has acknowledged it."""
    return await topic.send(key=key.encode("utf-8", "surrogateescape"), value=value)


async def _send_dead_letter(record: DeadLetter) -> None:
    """Dead-letter and wait for the acknowledgement; a failure propagates (and ends the worker)."""
    log.warning("dead-lettered", stage=record.stage, key=record.key, reason=record.reason)
    await (await _produce(dead_letter_topic, record.key or "", record.to_json_bytes()))
    DEAD_LETTERS.labels(record.stage).inc()


def _source_letter(message: Any, reason: str, payload: bytes | str | None, error_type: str) -> DeadLetter:
    return dead_letter(
        "enrich",
        reason,
        error_type=error_type,
        key=message.key.decode("utf-8", "backslashreplace") if message.key else None,
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        payload=payload,
        max_message_bytes=settings.kafka_max_message_bytes,
    )


async def _confirm(outputs: list[tuple[Any, Any, list[Awaitable[Any]]]]) -> None:
    """Wait for every output of the batch; an article whose output the broker refused is dead-lettered."""
    for message, raw_value, futures in outputs:
        results = await asyncio.gather(*futures, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            reason = f"its enrichment could not be produced: {type(failures[0]).__name__}: {failures[0]}"
            await _send_dead_letter(_source_letter(message, reason, raw_value, "ProduceFailed"))


Outputs = list[tuple[Any, Any, list[Awaitable[Any]]]]  # (source message, its value, delivery futures)


class _Job:
    """One batch on its way: the messages of its valid raw articles and the work that yields their results."""

    def __init__(self, batch: list[Any], messages: list[Any], results: asyncio.Future[list[Any]] | None) -> None:
        self.batch = batch
        self.messages = messages
        self.results = results


async def _start(batch: list[Any]) -> _Job:
    """Dead-letter the batch's invalid raw articles and start the work on the rest (off the event loop)."""
    articles: list[RawArticle] = []
    messages: list[Any] = []  # each article's Kafka message, for dead letters
    for event in batch:
        try:
            if event.message.key is not None:
                event.message.key.decode("utf-8")
            articles.append(RawArticle.model_validate_json(event.value or b""))
            messages.append(event.message)
        except (ValidationError, ValueError) as exc:
            reason = f"not a valid raw article: {describe(exc)}"
            await _send_dead_letter(_source_letter(event.message, reason, event.value, type(exc).__name__))
    if not articles:
        return _Job(batch, [], None)
    return _Job(batch, messages, asyncio.ensure_future(_results(articles)))


async def _results(articles: list[RawArticle]) -> list[Any]:
    """Each article's enrichment result, in order. With a parse process the parse runs there, concurrently
    with the finishing of the batch before (``_enrich_thread``); without, all of it runs in that thread."""
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    if _parser is None:
        results = await loop.run_in_executor(_enrich_thread, _enrich_batch, articles)
    else:
        # Preparing (language identification) is the worker's; only a thread of its own keeps it from waiting
        # behind the batch being finished, which would leave the child idle.
        prepared, parsing = await loop.run_in_executor(None, _submit_parse, articles)
        try:
            wire = await asyncio.wrap_future(parsing)
        except BrokenProcessPool as exc:
            wire = await loop.run_in_executor(None, _parser.parse_after_crash, prepared.request.texts, exc)
        results = await loop.run_in_executor(_enrich_thread, _finish_parsed, prepared, wire)
    ENRICH_BATCH_SECONDS.observe(time.perf_counter() - began)
    return results


async def _publish(messages: list[Any], results: list[Any]) -> Outputs:
    """Hand every output to the producer; failures of enrichment are dead-lettered."""
    from pipeline.enrich.core import EnrichmentFailure

    outputs: Outputs = []
    for message, result in zip(messages, results, strict=True):  # results keep input order
        if isinstance(result, EnrichmentFailure):
            await _send_dead_letter(_source_letter(message, result.reason, message.value, result.error_type))
            continue
        futures = [await _produce(events_topic, coded.event_id, coded.to_json_bytes()) for coded in result.events]
        futures.append(await _produce(enriched_topic, result.article.article_id, result.article.to_json_bytes()))
        outputs.append((message, message.value, futures))
        ARTICLES_ENRICHED.inc()
        for skipped in result.article.not_extracted:
            ARTICLES_NOT_EXTRACTED.labels(skipped, result.article.language or "und").inc()
        for coded in result.events:
            EVENTS_CODED.labels(coded.event_type).inc()
    return outputs


async def _settle(stream: Any, batch: list[Any], outputs: Outputs, events: int) -> None:
    """Acknowledge the batch once the broker has confirmed every output (or its dead letter): only then may
    its offsets be committed."""
    await _confirm(outputs)
    for event in batch:
        await stream.ack(event)
    progress.batch_done()
    LAST_PROGRESS.labels("enrich").set_to_current_time()
    log.info("batch enriched", articles=len(outputs), events=events)


def _exit_on_failure(settled: asyncio.Future[None]) -> None:
    if not settled.cancelled() and settled.exception() is not None:
        error = settled.exception()
        exit_worker(f"{type(error).__name__}: {error}")


def _read_since_last_rebalance(event: Any) -> bool:
    """False once a rebalance has begun (flow stopped) or ended (a new generation) since ``event`` was read."""
    return bool(app.flow_control.is_active() and event.message.generation_id == app.consumer_generation_id)


def _forget_before_rebalance(event: Any) -> None:
    """Faust's rebalance waits until every message it handed out is acknowledged or no longer tracked; one
    dropped unprocessed is untracked (never acknowledged: its offset is not committed, it is read again)."""
    app.consumer.unacked.discard(event.message)


async def _finish(stream: Any, job: _Job, previous: asyncio.Future[None] | None) -> None:
    """Publish the batch's outputs once the batch before has settled (so outputs leave in order), then settle:
    acknowledge it once the broker has confirmed them."""
    results = await job.results if job.results is not None else []
    progress.batch_parsed()
    if previous is not None:
        await previous
    outputs = await _publish(job.messages, results)
    events = sum(len(getattr(result, "events", ())) for result in results)
    await _settle(stream, job.batch, outputs, events)


@app.agent(raw_topic)
async def enrich(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    try:
        await asyncio.get_running_loop().run_in_executor(None, _start_parser)  # loaded before the first batch
        # No batching window: each batch is what has arrived, so live articles are parsed at once and a backlog
        # still gives full batches. Two batches are in hand at most: one being parsed while the one before is
        # finished, published and settled (its outputs confirmed, then acked).
        in_hand: collections.deque[asyncio.Future[None]] = collections.deque()
        async for batch in available_batches(
            stream, settings.enrich_batch_size, _read_since_last_rebalance, _forget_before_rebalance
        ):
            progress.batch_started()
            job = await _start(batch)
            finishing = asyncio.ensure_future(_finish(stream, job, in_hand[-1] if in_hand else None))
            finishing.add_done_callback(_exit_on_failure)  # at once, not when the next batch comes
            in_hand.append(finishing)
            while len(in_hand) > 1:
                await in_hand.popleft()
            yield None
        for unfinished in in_hand:
            await unfinished
    except asyncio.CancelledError:
        raise  # the worker is stopping; an unsettled batch is unacknowledged, so it is read again
    except BaseException as exc:
        exit_worker(f"{type(exc).__name__}: {exc}")


@app.task
async def _serve_metrics() -> None:
    start_metrics_server(settings)  # once per process, not per agent start


@app.timer(interval=STALL_CHECK_SECONDS)
async def _watch_for_stalls() -> None:
    """Exit when messages wait on this worker's partitions but no batch has completed for a long time (e.g.
    Faust waiting forever for acks after a broker restart): a supervisor's restart is the way out."""
    assigned = list(app.consumer.assignment())
    loop = asyncio.get_running_loop()
    stalled = await loop.run_in_executor(None, progress.stalled, assigned)
    if stalled:
        exit_worker(stalled)
    if _parser is not None:  # a child that died while idle: its successor loads the model before the next batch
        await loop.run_in_executor(None, _parser.replace_if_dead)
    touch(settings, "enrich", every_seconds=0)


def run_worker(loglevel: str = "info") -> None:
    """Start a Faust worker for this app in the current process (blocks until stopped)."""
    from faust.worker import Worker

    # Loaded before the worker joins its consumer group: a member that joins, takes partitions and then spends
    # seconds loading (the load holding the GIL against the consumer's thread) makes each rebalance slow and
    # holds back the articles of the partitions it was given. The agent's own call then finds it loaded.
    _start_parser()
    Worker(app, loglevel=loglevel).execute_from_commandline()
