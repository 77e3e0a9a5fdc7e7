"""Named subscriptions, materialised: what happens between the stored subscription and its topic.

Plain code: ``events.enriched`` partition replays (backfill and catch-up) and the choice of what goes to
``events.sub.<name>``. The Faust app that runs it live is ``pipeline.publish.materialiser``.

Where a subscription's topic has got to needs no bookkeeping of its own: a change is written to the
partition of ``events.sub.<name>`` with the number of the ``events.enriched`` partition it derives from,
and carries that source offset. The last record of a derived partition therefore says how far that
partition was materialised; whatever came after it either did not match or was not written yet, and a
catch-up replays it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import structlog
from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from pipeline.errors import ServiceUnavailable
from pipeline.kafka import make_producer
from pipeline.publish.changes import EventState, apply_report
from pipeline.publish.subscriptions import events_end_offsets, subscription_topic, unassigned_consumer
from pipeline.query.filters import EventFilter
from pipeline.records import Event, EventChange, Subscription
from pipeline.settings import Settings

log = structlog.get_logger(__name__)

# Rounds of sending a catch-up's changes while Kafka refuses some for a reason that passes (then CatchUpFailed).
CATCH_UP_ATTEMPTS = 4


class SubscriptionMatcher:
    """Which changes a subscription wants: its filter, and no change older than its start without backfill."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self._filter = EventFilter.model_validate(subscription.filter)

    def wants(self, change: EventChange) -> bool:
        if change.source_offset < self.first_offset(change.source_partition):
            return False
        return bool(self._filter.matches(change.event.model_dump(mode="json")))

    def first_offset(self, partition: int) -> int:
        if self.subscription.backfill:
            return 0
        return int(self.subscription.live_from.get(str(partition), 0))


def change_bytes(change: EventChange) -> bytes:
    return change.to_json_bytes()


def last_materialised_offset(settings: Settings, topic: str, partition: int) -> int:
    """The source offset of the last change in a partition of a subscription topic (-1: none yet)."""
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-tail")
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        begin = consumer.beginning_offsets([tp])[tp]
        if end <= begin:
            return -1
        consumer.seek(tp, end - 1)
        while True:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if record.offset == end - 1:
                        return int(json.loads(record.value)["source_offset"])
    finally:
        consumer.close()


def replay_changes(settings: Settings, partition: int, upto: int, on_change: Callable[[EventChange], None]) -> None:
    """Derive the changes of ``events.enriched`` partition ``partition`` below offset ``upto`` from its
    start, with a fresh state: the same changes the live materialiser produced (or will)."""
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-replay")
    states: dict[bytes, EventState] = {}
    try:
        tp = TopicPartition(settings.topic_events, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        while consumer.position(tp) < upto:
            for records in consumer.poll(timeout_ms=1000, max_records=2000).values():
                for record in records:
                    if record.offset >= upto:
                        return
                    report = read_report(record.value)
                    if report is None or record.key is None:
                        continue
                    state, change = apply_report(states.get(record.key), report, partition, record.offset)
                    if state is not None:
                        states[record.key] = state
                    if change is not None:
                        on_change(change)
    finally:
        consumer.close()


class CatchUpFailed(ServiceUnavailable):
    """Kafka did not acknowledge every change of a catch-up: the partition is not caught up."""


def catch_up(
    settings: Settings,
    matcher: SubscriptionMatcher,
    partition: int,
    upto: int,
    producer: KafkaProducer,
    *,
    attempts: int = CATCH_UP_ATTEMPTS,
) -> int:
    """Write to a subscription topic's partition every matching change below ``upto`` that it lacks.
    Returns how many were written; raises CatchUpFailed unless Kafka acknowledged every one."""
    name = matcher.subscription.name
    topic = subscription_topic(settings, name)
    after = max(last_materialised_offset(settings, topic, partition), matcher.first_offset(partition) - 1)
    if upto <= after + 1:
        return 0
    missing: list[EventChange] = []

    def collect(change: EventChange) -> None:
        if change.source_offset > after and matcher.wants(change):
            missing.append(change)

    replay_changes(settings, partition, upto, collect)
    written = _send_in_order(producer, topic, partition, missing, name=name, attempts=attempts)
    log.info("subscription caught up", subscription=name, partition=partition, upto=upto, written=written)
    return written


def _send_in_order(
    producer: KafkaProducer, topic: str, partition: int, changes: list[EventChange], *, name: str, attempts: int
) -> int:
    """Send ``changes`` to one partition and check every acknowledgement (kafka-python's ``flush`` does not
    raise for a failed record). From the first refused change on, everything is sent again, a later change
    that went through included: the partition's last change says how far it is materialised, so it must not
    stand past a gap. A refusal that cannot pass (e.g. a change over the topic's size limit) is not retried."""
    pending = changes
    for attempt in range(1, attempts + 1):
        sent = [
            (change, producer.send(topic, key=change.event_id, value=change_bytes(change), partition=partition))
            for change in pending
        ]
        producer.flush()
        refused: tuple[int, Exception] | None = None
        for index, (_, future) in enumerate(sent):
            try:
                future.get(timeout=0)
            except KafkaError as exc:
                refused = (index, exc)
                break
        if refused is None:
            return len(changes)
        index, error = refused
        pending = [change for change, _ in sent[index:]]
        if not getattr(error, "retriable", False) or attempt == attempts:
            raise CatchUpFailed(
                f"subscription {name!r}: Kafka did not take {len(pending)} of {len(changes)} changes for "
                f"partition {partition} of {topic} ({type(error).__name__}: {str(error)[:200]})",
                hint=(
                    "the subscription is stored, and `pipeline subscriptions run` completes its topic once Kafka "
                    "takes them (check the broker, and the topic's max.message.bytes); nothing is skipped meanwhile"
                ),
            )
        log.warning(
            "subscription changes not acknowledged; sending again",
            subscription=name,
            partition=partition,
            pending=len(pending),
            error=str(error)[:200],
        )
        time.sleep(0.5 * 2**attempt)
    return len(changes)


def read_report(value: bytes | None) -> dict[str, Any] | None:
    """An event report from events.enriched as a dict, or None when it is not one (logged)."""
    if value is None:
        return None
    try:
        return Event.model_validate_json(value).model_dump(mode="json")
    except ValueError as exc:
        log.warning("skipping an unreadable event report", error=str(exc).splitlines()[0][:300])
        return None


def backfill_subscription(settings: Settings, subscription: Subscription) -> int:
    """Fill a new subscription's topic from the events retained now, without waiting for the materialiser
    (which continues from there: it catches up from the last change written). Returns the changes written."""
    matcher = SubscriptionMatcher(subscription)
    ends = events_end_offsets(settings)
    producer = make_producer(settings, "pipeline-subscriptions-backfill")
    try:
        return sum(catch_up(settings, matcher, int(partition), end, producer) for partition, end in ends.items())
    finally:
        producer.close()
