"""Subscription catch-up and backfill against the real broker when Kafka does not take every change.

Topics are private to each test (uuid suffix); the materialiser's partition bookkeeping is driven directly
(``Materialiser.ensure_caught_up``), without a Faust worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.kafka import client_options, ensure_topics, make_producer
from pipeline.publish import materialiser
from pipeline.publish.materialise import (
    CatchUpFailed,
    HistoryTrimmed,
    SubscriptionMatcher,
    backfill_subscription,
    committed_offsets,
    state_changelog_topic,
)
from pipeline.publish.subscriptions import add_subscription, subscription_topic
from pipeline.records import ArticleRef, Event, Subscription
from pipeline.settings import Settings
from tests.factories import sample_event
from tests.integration.stages import read_topic

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@contextlib.contextmanager
def running_worker(settings: Settings, log: IO[str]) -> Iterator[subprocess.Popen[str]]:
    """`pipeline subscriptions run` (the Faust materialiser) on ``settings``' topics, stopped afterwards."""
    env = {**os.environ, **settings.as_env(), "PIPELINE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "pipeline", "subscriptions", "run", "--loglevel", "warning"]
    worker = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


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
    return [json.loads(record.value) for record in read_topic(settings, topic)]


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


def trim(settings: Settings, partition: int, before: int) -> None:
    """What retention does: the partition's first offset moves up to ``before``."""
    admin = KafkaAdminClient(client_id="it-subint-trim", **client_options(settings))
    try:
        admin.delete_records({TopicPartition(settings.topic_events, partition): before})
    finally:
        admin.close()


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    return [(c["change"], c["article_count"], c["new_article_ids"]) for c in changes]


def test_a_backfill_after_retention_without_any_kept_state_is_refused_with_a_message(private: Settings) -> None:
    """Issue 21 item 13: once events.enriched is trimmed, a replay from its start took a later report for a
    create with a count of 1."""
    publish(private, reports(3))
    trim(private, 0, 2)  # the first two reports are gone; no materialiser ever kept their state
    subscription = add_subscription(private, Subscription(name="late", filter={}, backfill=True))
    with pytest.raises(HistoryTrimmed, match="starts at offset 2") as refused:
        backfill_subscription(private, subscription)
    assert "--no-backfill" in (refused.value.hint or "")
    assert changes_on(private, subscription_topic(private, "late")) == [], "wrong changes were written"


def test_subscription_state_outlives_retention_for_the_worker_and_for_a_backfill(
    private: Settings, tmp_path: Path
) -> None:
    """Issue 21 item 13: the materialiser's table (compacted changelog) knows the trimmed reports, so both the
    running worker's catch-up and `add`'s backfill give the retained report its true count."""
    publish(private, reports(3))
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log, running_worker(private, log):
        wait_for(lambda: committed_offsets(private).get(0) == 3, "the materialiser to fold in the three reports")
        trim(private, 0, 2)
        add_subscription(private, Subscription(name="live", filter={}, backfill=True))  # no CLI backfill
        live = subscription_topic(private, "live")
        wait_for(lambda: len(changes_on(private, live)) >= 1, "the worker to catch the new subscription up")
    assert summary(changes_on(private, live)) == [("update", 3, ["art_2"])], log_path.read_text()[-3000:]

    later = add_subscription(private, Subscription(name="later", filter={}, backfill=True))
    assert backfill_subscription(private, later) == 1
    assert summary(changes_on(private, subscription_topic(private, "later"))) == [("update", 3, ["art_2"])]


def live_states(settings: Settings) -> int:
    """Events the materialiser's table holds, as its changelog says (the last record per key, not a tombstone)."""
    latest: dict[bytes, bytes | None] = {}
    for record in read_topic(settings, state_changelog_topic(settings)):
        latest[record.key] = record.value
    return sum(value is not None for value in latest.values())


def test_the_workers_event_table_stays_within_its_time_to_live(private: Settings, tmp_path: Path) -> None:
    """Issue 21 item 7: the subscription worker's table held every event it ever saw. 40 events an hour apart
    (Kafka timestamps) with a 5-hour time-to-live leave the events of the last 5 hours, not 40."""
    ttl_hours, count = 5, 40
    private = private.model_copy(update={"subscriptions_event_ttl_hours": float(ttl_hours)})
    start_ms = int(time.time() * 1000) - count * 3_600_000
    producer = make_producer(private, "it-subint")
    try:
        for n in range(count):
            event = reports(1)[0].model_copy(update={"event_id": f"evt_ttl_{n:02d}"})
            producer.send(
                private.topic_events,
                key=event.event_id,
                value=event.to_json_bytes(),
                timestamp_ms=start_ms + n * 3_600_000,
            ).get(timeout=30)
    finally:
        producer.close()
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log, running_worker(private, log):
        wait_for(lambda: committed_offsets(private).get(0) == count, "the materialiser to fold in every event")
    held = live_states(private)
    assert held <= ttl_hours + 1, f"the table holds {held} of {count} events: {log_path.read_text()[-2000:]}"
    assert held >= ttl_hours  # the recent ones are kept
