"""Named subscriptions, stored in Kafka itself: the compacted topic ``pipeline.subscriptions``.

Key = subscription name, value = a ``Subscription`` record; removing one writes a tombstone (null value),
which compaction eventually turns into nothing. Every process that needs the list reads the topic from its
start (it is small: one live record per name) and keeps following it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from pipeline.kafka import client_options, consumer_options, ensure_topics, make_producer
from pipeline.records import Subscription
from pipeline.settings import Settings

log = structlog.get_logger(__name__)

CONFIG_TOPIC_SETTINGS = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}


class SubscriptionError(Exception):
    """A subscription that cannot be added or removed; the message says why, for the user."""


def subscription_topic(settings: Settings, name: str) -> str:
    return f"{settings.topic_subscription_prefix}{name}"


def unassigned_consumer(settings: Settings, client_id: str) -> KafkaConsumer:
    """A consumer outside any group, for reading partitions it assigns itself."""
    return KafkaConsumer(client_id=client_id, enable_auto_commit=False, **consumer_options(settings))


def ensure_config_topic(settings: Settings) -> None:
    # One partition: the catalogue is tiny, and one partition keeps every change to it in order.
    ensure_topics(settings, [settings.topic_subscriptions], partitions=1, config=CONFIG_TOPIC_SETTINGS)


class SubscriptionCatalog:
    """The current subscriptions, read from the config topic and kept up to date by ``refresh``."""

    def __init__(self, settings: Settings) -> None:
        ensure_config_topic(settings)
        self._consumer = unassigned_consumer(settings, "pipeline-subscriptions-catalog")
        partitions = [
            TopicPartition(settings.topic_subscriptions, p)
            for p in sorted(self._consumer.partitions_for_topic(settings.topic_subscriptions) or {0})
        ]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)
        self._partitions = partitions
        self.subscriptions: dict[str, Subscription] = {}
        self.refresh(to_end=True)

    def refresh(self, *, to_end: bool = False) -> dict[str, Subscription]:
        """Apply what was written since the last call; with ``to_end``, everything written until now."""
        ends = self._consumer.end_offsets(self._partitions) if to_end else {}
        while True:
            batches = self._consumer.poll(timeout_ms=500 if to_end else 0)
            for records in batches.values():
                for record in records:
                    self._apply(record.key, record.value)
            if not to_end or all(self._consumer.position(tp) >= end for tp, end in ends.items()):
                return self.subscriptions

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        if value is None:
            self.subscriptions.pop(name, None)
            return
        try:
            self.subscriptions[name] = Subscription.model_validate_json(value)
        except ValueError as exc:
            log.warning("ignoring an unreadable subscription", name=name, error=str(exc).splitlines()[0])

    def close(self) -> None:
        self._consumer.close()


def load_subscriptions(settings: Settings) -> dict[str, Subscription]:
    catalog = SubscriptionCatalog(settings)
    try:
        return dict(catalog.subscriptions)
    finally:
        catalog.close()


def events_end_offsets(settings: Settings) -> dict[str, int]:
    """Per partition of events.enriched, the offset the next event will get."""
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-offsets")
    try:
        partitions = [
            TopicPartition(settings.topic_events, p)
            for p in sorted(consumer.partitions_for_topic(settings.topic_events) or [])
        ]
        return {str(tp.partition): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def events_partition_count(settings: Settings) -> int:
    consumer = unassigned_consumer(settings, "pipeline-subscriptions-offsets")
    try:
        return len(consumer.partitions_for_topic(settings.topic_events) or []) or settings.topic_partitions
    finally:
        consumer.close()


def add_subscription(settings: Settings, subscription: Subscription) -> Subscription:
    """Store a new subscription and create its topic (one partition per events.enriched partition)."""
    if subscription.name in load_subscriptions(settings):
        raise SubscriptionError(
            f"a subscription named {subscription.name!r} exists already; "
            f"remove it first (pipeline subscriptions remove {subscription.name})"
        )
    ensure_topics(settings, [settings.topic_events])
    topic = subscription_topic(settings, subscription.name)
    if topic in _existing_topics(settings):
        raise SubscriptionError(
            f"topic {topic} exists already (left by an earlier subscription of that name?); "
            "delete it or choose another name"
        )
    if not subscription.backfill and not subscription.live_from:
        subscription = subscription.model_copy(update={"live_from": events_end_offsets(settings)})
    # The derived topic mirrors the source's partitions: a change goes to the partition its report came
    # from, which is how the materialiser finds where it left off in each partition.
    ensure_topics(settings, [topic], partitions=events_partition_count(settings))
    _write(settings, subscription.name, subscription.to_json_bytes())
    return subscription


def replace_subscription(settings: Settings, subscription: Subscription) -> None:
    """Write a changed record for an existing subscription (its webhook). Compaction drops the old record only
    once its log segment has rolled, so a secret it held stays on the brokers' disks until then."""
    if subscription.name not in load_subscriptions(settings):
        raise SubscriptionError(f"no subscription named {subscription.name!r} (pipeline subscriptions list shows them)")
    _write(settings, subscription.name, subscription.to_json_bytes())


def remove_subscription(settings: Settings, name: str, *, keep_topic: bool = False) -> None:
    if name not in load_subscriptions(settings):
        raise SubscriptionError(f"no subscription named {name!r} (pipeline subscriptions list shows them)")
    _write(settings, name, None)
    if not keep_topic:
        admin = KafkaAdminClient(client_id="pipeline-subscriptions", **client_options(settings))
        try:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics([subscription_topic(settings, name)])
        finally:
            admin.close()


def _write(settings: Settings, name: str, value: bytes | None) -> None:
    ensure_config_topic(settings)
    producer = make_producer(settings, "pipeline-subscriptions")
    try:
        producer.send(settings.topic_subscriptions, key=name, value=value).get(timeout=30)
    finally:
        producer.close()


def _existing_topics(settings: Settings) -> set[str]:
    admin = KafkaAdminClient(client_id="pipeline-subscriptions", **client_options(settings))
    try:
        topics: Any = admin.list_topics()
        return set(topics)
    finally:
        admin.close()
