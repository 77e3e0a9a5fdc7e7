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
from dataclasses import dataclass
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from pipeline.errors import MissingResource, ServiceUnavailable
from pipeline.kafka import client_options, make_producer
from pipeline.publish.changes import EventState, apply_report
from pipeline.publish.subscriptions import events_end_offsets, subscription_topic, unassigned_consumer
from pipeline.query.filters import EventFilter
from pipeline.records import Event, EventChange, Subscription
from pipeline.settings import Settings

log = structlog.get_logger(__name__)

# The materialiser's table of event states (its changelog topic is named after it).
EVENT_STATES_TABLE = "event-states"
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


@dataclass(frozen=True)
class KnownStates:
    """Event states kept where retention does not reach: the materialiser's table, or its compacted changelog
    topic (``state_changelog_topic``). Every report of the partition below ``covered`` is folded into them."""

    lookup: Callable[[bytes], EventState | None]
    covered: int


NO_STATES = KnownStates(lambda _key: None, 0)


def state_changelog_topic(settings: Settings) -> str:
    """Where the materialiser's table of event states is kept (Faust's changelog of the ``event-states`` table,
    compacted: one record per event, so it outlives ``events.enriched``'s retention)."""
    return f"{settings.subscriptions_group}-{EVENT_STATES_TABLE}-changelog"


def changelog_states(settings: Settings, partition: int) -> KnownStates:
    """The event states of one partition as the materialiser last kept them, read from its changelog topic,
    and how far that partition was folded in (the materialiser group's committed offset)."""
    states: dict[bytes, EventState] = {}
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-states")
    try:
        tp = TopicPartition(state_changelog_topic(settings), partition)
        if partition not in (consumer.partitions_for_topic(tp.topic) or set()):
            return NO_STATES
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        while consumer.position(tp) < end:
            for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for record in records:
                    if record.key is None:
                        continue
                    if record.value is None:
                        states.pop(record.key, None)  # a tombstone: the event was forgotten
                    else:
                        states[record.key] = EventState.from_json(json.loads(record.value))
    finally:
        consumer.close()
    return KnownStates(states.get, committed_offsets(settings).get(partition, 0))


def committed_offsets(settings: Settings) -> dict[int, int]:
    """Where the materialiser's group resumes in each events.enriched partition (all before is folded in)."""
    admin = KafkaAdminClient(client_id="pipeline-subscriptions-offsets", **client_options(settings))
    try:
        offsets = admin.list_consumer_group_offsets(settings.subscriptions_group)
    finally:
        admin.close()
    return {tp.partition: max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == settings.topic_events}


def log_start(settings: Settings, partition: int) -> int:
    """The first offset events.enriched still holds in ``partition`` (above 0 once retention trimmed it)."""
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-offsets")
    try:
        tp = TopicPartition(settings.topic_events, partition)
        return int(consumer.beginning_offsets([tp])[tp])
    finally:
        consumer.close()


def replay_changes(
    settings: Settings,
    partition: int,
    start: int,
    upto: int,
    on_change: Callable[[EventChange], None],
    known: KnownStates = NO_STATES,
) -> None:
    """Derive the changes of ``events.enriched`` partition ``partition`` from ``start`` to below ``upto``,
    from the states ``known`` holds (whatever came before ``start``) and what the replay folds in: the same
    changes the live materialiser produced (or will)."""
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-replay")
    learnt: dict[bytes, EventState] = {}  # only the events reported in the replayed range
    try:
        tp = TopicPartition(settings.topic_events, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        while consumer.position(tp) < upto:
            for records in consumer.poll(timeout_ms=1000, max_records=2000).values():
                for record in records:
                    if record.offset >= upto:
                        return
                    report = read_report(record.value)
                    if report is None or record.key is None:
                        continue
                    previous = learnt.get(record.key) or known.lookup(record.key)
                    state, change = apply_report(previous, report, partition, record.offset)
                    if state is not None:
                        learnt[record.key] = state
                    if change is not None:
                        on_change(change)
    finally:
        consumer.close()


class HistoryTrimmed(MissingResource):
    """Retention trimmed reports the subscription state never saw: changes derived now would be wrong."""


class CatchUpFailed(ServiceUnavailable):
    """Kafka did not acknowledge every change of a catch-up: the partition is not caught up."""


def catch_up(
    settings: Settings,
    matcher: SubscriptionMatcher,
    partition: int,
    upto: int,
    producer: KafkaProducer,
    known: KnownStates,
    *,
    attempts: int = CATCH_UP_ATTEMPTS,
) -> int:
    """Write to a subscription topic's partition every matching change below ``upto`` that it lacks, derived
    from the ``known`` event states and a replay of the partition from where they end (or where the topic's
    changes end, if earlier). Returns how many were written; raises CatchUpFailed unless Kafka acknowledged
    every one, HistoryTrimmed when retention took reports the states never saw."""
    name = matcher.subscription.name
    topic = subscription_topic(settings, name)
    after = max(last_materialised_offset(settings, topic, partition), matcher.first_offset(partition) - 1)
    if upto <= after + 1:
        return 0
    start = _replay_start(settings, matcher, partition, after, known)
    missing: list[EventChange] = []

    def collect(change: EventChange) -> None:
        if change.source_offset > after and matcher.wants(change):
            missing.append(change)

    replay_changes(settings, partition, start, upto, collect, known)
    written = _send_in_order(producer, topic, partition, missing, name=name, attempts=attempts)
    log.info("subscription caught up", subscription=name, partition=partition, upto=upto, written=written)
    return written


def _replay_start(
    settings: Settings, matcher: SubscriptionMatcher, partition: int, after: int, known: KnownStates
) -> int:
    """Where a catch-up's replay starts: after the subscription's last change, or earlier where the known
    states end, so that every report in between is folded in. Never before what retention left."""
    start = min(after + 1, known.covered)
    first = log_start(settings, partition)
    if start >= first:
        return start
    topic = f"{settings.topic_events} partition {partition}"
    if known.covered < first:
        raise HistoryTrimmed(
            f"subscription {matcher.subscription.name!r}: {topic} starts at offset {first} (retention), but the "
            f"subscription state covers only the offsets below {known.covered}: the reports in between are gone, "
            "so the creates and counts derived now would be wrong",
            hint=(
                "keep `pipeline subscriptions run` running (its state outlives retention), or add the subscription "
                "with --no-backfill to start from new events"
            ),
        )
    if after + 1 < first and not (after == -1 and matcher.subscription.backfill):
        # A backfill covers "the events still retained" by definition; a subscription that fell behind
        # retention has lost changes, and says so.
        log.error(
            "subscription changes lost to retention: its topic continues from the retained events",
            subscription=matcher.subscription.name,
            partition=partition,
            missing_offsets=f"{after + 1}-{first - 1}",
        )
    return first


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
        return sum(
            catch_up(settings, matcher, int(p), end, producer, changelog_states(settings, int(p)))
            for p, end in ends.items()
        )
    finally:
        producer.close()
