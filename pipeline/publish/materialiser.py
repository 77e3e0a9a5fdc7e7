"""The subscription materialiser as a Faust app: ``events.enriched`` in, ``events.sub.<name>`` out.

For every event report it decides, with a Faust table keyed by event id (changelogged, so it survives
restarts), whether the report is a create, an update or nothing new (``pipeline.publish.changes``), and
writes each change to the topic of every subscription whose filter matches. Before the first write to a
partition of a subscription's topic, and for a new subscription even on a quiet stream, it catches that
partition up from the retained events (``pipeline.publish.materialise.catch_up``): that is the backfill,
and also what repairs a partition after a crash or a rebalance.

Run: ``pipeline subscriptions run`` (one consumer group, ``PIPELINE_SUBSCRIPTIONS_GROUP``; start more to
share the partitions). A report the materialiser cannot read is logged and skipped: the indexer reads the
same topic and dead-letters it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import faust
import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError

from pipeline.kafka import faust_app, make_producer
from pipeline.publish.changes import EventState, apply_report
from pipeline.publish.expiry import EventExpiry
from pipeline.publish.materialise import (
    EVENT_STATES_TABLE,
    CatchUpFailed,
    HistoryTrimmed,
    KnownStates,
    SubscriptionMatcher,
    catch_up,
    change_bytes,
    committed_offsets,
    read_report,
)
from pipeline.publish.subscriptions import SubscriptionCatalog, subscription_topic
from pipeline.records import EventChange
from pipeline.settings import Settings, get_settings

log = structlog.get_logger(__name__)

CATALOG_REFRESH_SECONDS = 1.0


def create_app(settings: Settings) -> faust.App:
    # The table is rebuilt from its changelog topic on start (memory store); keys and values are raw bytes.
    app: faust.App = faust_app(
        settings, settings.subscriptions_group, table_key_serializer="raw", table_value_serializer="raw"
    )
    return app


settings = get_settings()
app = create_app(settings)
_raw_bytes: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
events_topic = app.topic(settings.topic_events, **_raw_bytes)
# event id -> EventState as JSON: the articles known to report the event and where each was first seen.
event_states = app.Table(EVENT_STATES_TABLE, key_type=bytes, value_type=bytes)


expiry = EventExpiry(int(settings.subscriptions_event_ttl_hours * 3_600_000))


def _table_state(key: bytes) -> EventState | None:
    known = event_states.get(key)
    return EventState.from_json(json.loads(known)) if known else None


class Materialiser:
    """What the agent and the idle timer share: the catalogue, and which partitions are caught up."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # one of agent and timer at a time, so writes to a partition stay in order
        self.catalog: SubscriptionCatalog | None = None
        self.matchers: dict[str, SubscriptionMatcher] = {}
        self.refreshed_at = 0.0
        self.caught_up: set[tuple[str, int]] = set()
        self.positions: dict[int, int] = {}  # next offset to process, per partition handled in this process
        self._producer: KafkaProducer | None = None

    async def run_blocking(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def refresh(self) -> dict[str, SubscriptionMatcher]:
        if self.catalog is None:
            self.catalog = await self.run_blocking(SubscriptionCatalog, settings)
        elif time.monotonic() - self.refreshed_at < CATALOG_REFRESH_SECONDS:
            return self.matchers
        current = await self.run_blocking(self.catalog.refresh)
        self.refreshed_at = time.monotonic()
        for name in set(self.matchers) - set(current):
            del self.matchers[name]
            self.caught_up = {key for key in self.caught_up if key[0] != name}
            log.info("subscription removed", subscription=name)
        for name, subscription in current.items():
            known = self.matchers.get(name)
            if known is None or known.subscription != subscription:
                self.matchers[name] = SubscriptionMatcher(subscription)
                self.caught_up = {key for key in self.caught_up if key[0] != name}
                log.info("subscription active", subscription=name, filter=subscription.filter)
        return self.matchers

    async def ensure_caught_up(self, matcher: SubscriptionMatcher, partition: int, upto: int) -> bool:
        """Whether the subscription's partition holds every change below ``upto``. Until a catch-up has
        succeeded, no live change may be written there: it would stand past the gap and hide it from the next
        catch-up, which starts after the partition's last change."""
        key = (matcher.subscription.name, partition)
        if key in self.caught_up:
            return True
        if self._producer is None:
            self._producer = await self.run_blocking(make_producer, settings, "pipeline-subscriptions-catch-up")
        try:
            # The table holds every report below ``upto`` folded in, and outlives events.enriched's retention.
            known = KnownStates(_table_state, upto)
            await self.run_blocking(catch_up, settings, matcher, partition, upto, self._producer, known)
        except (CatchUpFailed, HistoryTrimmed, KafkaError) as exc:
            log.error(
                "subscription not caught up; its changes for this partition wait for the next attempt",
                subscription=matcher.subscription.name,
                partition=partition,
                error=str(exc)[:300],
            )
            return False
        self.caught_up.add(key)
        return True

    def forget_partitions(self, partitions: set[int]) -> None:
        """Another worker may have handled these meanwhile: catch them up again before writing."""
        self.caught_up = {key for key in self.caught_up if key[1] not in partitions}
        for partition in partitions:
            self.positions.pop(partition, None)


state = Materialiser()


async def _publish(matcher: SubscriptionMatcher, change: EventChange) -> None:
    await app.producer.send_and_wait(
        subscription_topic(settings, matcher.subscription.name),
        change.event_id.encode(),
        change_bytes(change),
        change.source_partition,
        None,
        None,
    )


def _forget_expired(partition: int, seen_ms: int) -> None:
    """Delete from the table the events of ``partition`` past their time-to-live (a tombstone each on the
    changelog, in this partition's, because the current event is from it). Called in the agent: Faust writes
    a table's changelog only from there."""
    if not expiry.indexed(partition):  # first event of the partition since the start or a rebalance
        expiry.rebuild(partition, _table_index(partition))
    for key in expiry.expired(partition, seen_ms):
        event_states.pop(key, None)


def _table_index(partition: int) -> list[tuple[Any, int]]:
    """The table's events of ``partition`` with their last update, as recovered from the changelog. States kept
    before the time-to-live existed carry neither, and stay until their event is reported again."""
    index = []
    for key, value in event_states.items():
        kept = EventState.from_json(json.loads(value))
        if kept.partition == partition and kept.updated_ms is not None:
            index.append((key, kept.updated_ms))
    return index


@app.agent(events_topic)
async def materialise(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    async for event in stream.events():
        message = event.message
        async with state.lock:
            matchers = await state.refresh()
            report = read_report(event.value)
            seen_ms = int(message.timestamp * 1000)
            _forget_expired(message.partition, seen_ms)
            if report is not None and message.key is not None:
                known = event_states.get(message.key)
                previous = EventState.from_json(json.loads(known)) if known else None
                updated, change = apply_report(previous, report, message.partition, message.offset)
                if updated is not None:
                    updated = replace(updated, partition=message.partition, updated_ms=seen_ms)
                    event_states[message.key] = json.dumps(updated.to_json()).encode()
                    expiry.touch(message.partition, message.key, seen_ms)
                if change is not None:
                    for matcher in list(matchers.values()):
                        caught_up = await state.ensure_caught_up(matcher, message.partition, message.offset)
                        if caught_up and matcher.wants(change):
                            await _publish(matcher, change)
            state.positions[message.partition] = message.offset + 1
        yield None


@app.timer(interval=2.0)
async def catch_up_quiet_partitions() -> None:
    """A new subscription fills from the retained events even when no new event arrives."""
    assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == settings.topic_events}
    if not assigned:
        return
    async with state.lock:
        matchers = await state.refresh()
        pending = [
            (m, p) for m in matchers.values() for p in assigned if (m.subscription.name, p) not in state.caught_up
        ]
        if not pending:
            return
        committed = await state.run_blocking(committed_offsets, settings)
        for matcher, partition in pending:
            upto = state.positions.get(partition, committed.get(partition, 0))
            await state.ensure_caught_up(matcher, partition, upto)


@app.on_partitions_assigned.connect
async def _on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    assigned = args[0] if args else kwargs.get("assigned", set())
    state.forget_partitions({tp.partition for tp in assigned if tp.topic == settings.topic_events})
    expiry.forget()  # the table is recovered for the new assignment; it is indexed again from there


def run_worker(loglevel: str = "info") -> None:
    """Start a Faust worker for this app in the current process (blocks until stopped)."""
    from faust.worker import Worker

    Worker(app, loglevel=loglevel).execute_from_commandline()
