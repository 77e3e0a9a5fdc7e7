"""Subscription catch-up and backfill against the real broker when Kafka does not take every change.

Topics are private to each test (uuid suffix); the materialiser's partition bookkeeping is driven directly
(``Materialiser.ensure_caught_up``), without a Faust worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.kafka import client_options, ensure_topics, make_producer
from pipeline.publish import materialiser
from pipeline.publish.materialise import CatchUpFailed, SubscriptionMatcher, backfill_subscription
from pipeline.publish.subscriptions import add_subscription, subscription_topic
from pipeline.records import ArticleRef, Event, Subscription
from pipeline.settings import Settings
from tests.factories import sample_event

pytestmark = pytest.mark.integration


@pytest.fixture()
def private(settings: Settings, kafka_bootstrap: str) -> Iterator[Settings]:
    suffix = f"subint-{uuid.uuid4().hex[:8]}"
    configured = settings.model_copy(
        update={
            "topic_events": f"{suffix}.events.enriched",
            "topic_subscriptions": f"{suffix}.subscriptions",
            "topic_subscription_prefix": f"{suffix}.events.sub.",
            "subscriptions_group": f"{suffix}-materialiser",
            "topic_partitions": 1,
        }
    )
    ensure_topics(configured, [configured.topic_events])
    yield configured
    admin = KafkaAdminClient(client_id="it-subint-cleanup", **client_options(configured))
    try:
        with contextlib.suppress(Exception):  # clean-up only
            admin.delete_topics([t for t in admin.list_topics() if t.startswith(suffix)])
    finally:
        admin.close()


def reports(count: int) -> list[Event]:
    """``count`` reports of one event, each by another article: one create and ``count - 1`` updates."""
    event = sample_event()
    return [
        event.model_copy(
            update={
                "article_id": f"art_{n}",
                "article_ids": [f"art_{n}"],
                "articles": [ArticleRef(article_id=f"art_{n}", url=f"https://n.example/{n}", title=f"Report {n}")],
            }
        )
        for n in range(count)
    ]


def publish(settings: Settings, events: list[Event]) -> None:
    producer = make_producer(settings, "it-subint")
    try:
        for event in events:
            producer.send(settings.topic_events, key=event.event_id, value=event.to_json_bytes()).get(timeout=30)
    finally:
        producer.close()


def set_max_message_bytes(settings: Settings, topic: str, limit: int) -> None:
    admin = KafkaAdminClient(client_id="it-subint-config", **client_options(settings))
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})]
        )
    finally:
        admin.close()


def changes_on(settings: Settings, topic: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        topic,
        **client_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [json.loads(message.value) for message in consumer]
    finally:
        consumer.close()


def test_a_backfill_kafka_refuses_fails_loudly_and_the_partition_is_not_marked_caught_up(
    private: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21 item 9: flush() does not raise for a failed record, so a refused catch-up looked complete."""
    publish(private, reports(3))
    subscription = add_subscription(private, Subscription(name="refused", filter={}, backfill=True))
    topic = subscription_topic(private, "refused")
    set_max_message_bytes(private, topic, 64)  # every change is larger: the broker refuses each one

    with pytest.raises(CatchUpFailed, match="did not take 3 of 3 changes"):
        backfill_subscription(private, subscription)
    assert changes_on(private, topic) == []

    monkeypatch.setattr(materialiser, "settings", private)
    state = materialiser.Materialiser()
    matcher = SubscriptionMatcher(subscription)
    assert asyncio.run(state.ensure_caught_up(matcher, 0, 3)) is False
    assert ("refused", 0) not in state.caught_up, "a partition Kafka refused was marked caught up"

    set_max_message_bytes(private, topic, 1_048_588)  # the cause fixed: the next attempt fills the gap
    assert asyncio.run(state.ensure_caught_up(matcher, 0, 3)) is True
    held = changes_on(private, topic)
    assert [(c["change"], c["article_count"]) for c in held] == [("create", 1), ("update", 2), ("update", 3)]
