"""Named subscriptions against the real broker: add one with the CLI, publish event reports, watch the
materialiser (`pipeline subscriptions run`, a subprocess) fill events.sub.NAME with creates and updates,
backfill a subscription added later, and remove one.

Topics and groups are private to this module (uuid suffix). The history the tests look at is built by
module-scoped fixtures, so each test passes alone and in any order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from pipeline.kafka import ensure_topics, make_producer
from pipeline.publish.subscriptions import load_subscriptions, subscription_topic
from pipeline.records import Actor, ArticleRef, Event, Location
from pipeline.settings import Settings
from tests.factories import sample_event

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(kafka_bootstrap: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PIPELINE_TOPIC_EVENTS": f"subs-{suffix}.events.enriched",
        "PIPELINE_TOPIC_SUBSCRIPTIONS": f"subs-{suffix}.subscriptions",
        "PIPELINE_TOPIC_SUBSCRIPTION_PREFIX": f"subs-{suffix}.events.sub.",
        "PIPELINE_SUBSCRIPTIONS_GROUP": f"subs-{suffix}-materialiser",
        "PIPELINE_TOPIC_PARTITIONS": "2",
        "PIPELINE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def settings_for(env: dict[str, str]) -> Settings:
    return Settings(**{k[len("PIPELINE_") :].lower(): v for k, v in env.items() if k.startswith("PIPELINE_")})


def pipeline_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


class Worker:
    """`pipeline subscriptions run` as a subprocess that a test can kill and start again."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log = env, log_path.open("w")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "pipeline", "subscriptions", "run", "--loglevel", "warning"]
        self.process = subprocess.Popen(command, env=self.env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def materialiser(
    env: dict[str, str], settings_for: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    ensure_topics(settings_for, [settings_for.topic_events])
    worker = Worker(env, tmp_path_factory.mktemp("materialiser") / "worker.log")
    worker.start()
    yield worker
    worker.stop()
    worker.log.close()


def report(event: Event, article: str) -> Event:
    ref = ArticleRef(article_id=article, url=f"https://n.example/{article}", title=f"Report {article}")
    return event.model_copy(update={"article_id": article, "article_ids": [article], "articles": [ref]})


def publish(settings: Settings, *events: Event) -> None:
    producer = make_producer(settings, "it-subscriptions")
    for event in events:
        producer.send(settings.topic_events, key=event.event_id, value=event.to_json_bytes())
    producer.flush()
    producer.close()


def read_changes(
    settings: Settings,
    name: str,
    expected: int,
    timeout: float = 120.0,
    until: Callable[[list[dict[str, Any]]], bool] = lambda changes: True,
) -> list[dict[str, Any]]:
    """Everything on the subscription topic once it holds ``expected`` changes and ``until`` holds for them
    (and a moment more)."""
    consumer = KafkaConsumer(
        subscription_topic(settings, name),
        bootstrap_servers=settings.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    changes: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    settled = None
    try:
        while time.monotonic() < deadline:
            changes += [json.loads(message.value) for message in consumer]
            if len(changes) >= expected and until(changes):
                settled = settled or time.monotonic()
                if time.monotonic() - settled > 3:  # anything extra would have arrived by now
                    break
    finally:
        consumer.close()
    return sorted(changes, key=lambda c: (c["event_id"], c["article_count"]))


KOREA = sample_event()  # North Korea, in Seoul (KOR), confidence 0.8
ELSEWHERE = sample_event().model_copy(
    update={
        "event_id": "evt_elsewhere",
        "source": Actor(name="United States", country_code="USA", label="GPE"),
        "location": Location(place="Washington", country_code="USA"),
    }
)
WEAK = sample_event().model_copy(update={"event_id": "evt_weak", "confidence": 0.3})


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, str, int, list[str]]]:
    return [(c["event_id"], c["change"], c["article_count"], c["new_article_ids"]) for c in changes]


# The tests share one history on the module's topics, built by the fixtures below in their order whatever the
# order the tests run in (or which of them runs alone): each test asserts on what its fixture recorded.


@dataclass(frozen=True)
class NamedSubscription:
    added: subprocess.CompletedProcess[str]
    names_after_add: set[str]
    after_first_reports: list[dict[str, Any]]
    after_second_reports: list[dict[str, Any]]


@pytest.fixture(scope="module")
def korea(env: dict[str, str], settings_for: Settings, materialiser: Worker) -> NamedSubscription:
    """`korea` added, then reports published twice: three events of which one matches, then a second report of
    it and the first one re-enriched."""
    added = pipeline_cli(env, "subscriptions", "add", "korea", "--country", "KOR", "--min-confidence", "0.6")
    names = set(load_subscriptions(settings_for))
    publish(settings_for, report(KOREA, "a1"), report(ELSEWHERE, "a9"), report(WEAK, "a8"))
    first = read_changes(settings_for, "korea", 1)
    publish(settings_for, report(KOREA, "a2"), report(KOREA, "a1"))
    return NamedSubscription(added, names, first, read_changes(settings_for, "korea", 2))


@pytest.fixture(scope="module")
def korea_after_a_kill(korea: NamedSubscription, settings_for: Settings, materialiser: Worker) -> list[dict[str, Any]]:
    """The changes on `korea` after the materialiser was killed, a third report published, and it started again."""
    materialiser.stop(signal.SIGKILL)
    publish(settings_for, report(KOREA, "a3"))
    materialiser.start()  # the table of known articles comes back from its changelog topic
    # A change made just before the kill may come again first (at least once): wait for the third report's.
    return read_changes(settings_for, "korea", 3, until=lambda changes: any(c["article_count"] == 3 for c in changes))


def test_a_named_subscription_fills_with_creates_and_updates(korea: NamedSubscription) -> None:
    assert korea.added.returncode == 0, korea.added.stderr
    assert "korea" in korea.names_after_add
    assert summary(korea.after_first_reports) == [(KOREA.event_id, "create", 1, ["a1"])]

    # Another article reports it: an update; the first article re-enriched: nothing.
    changes = korea.after_second_reports
    assert summary(changes) == [(KOREA.event_id, "create", 1, ["a1"]), (KOREA.event_id, "update", 2, ["a2"])]
    update = changes[1]["event"]
    assert [ref["url"] for ref in update["articles"]] == ["https://n.example/a1", "https://n.example/a2"]


def test_the_materialiser_remembers_every_event_across_a_kill(korea_after_a_kill: list[dict[str, Any]]) -> None:
    changes = korea_after_a_kill
    assert summary(changes)[-1] == (KOREA.event_id, "update", 3, ["a3"])  # not a create: state survived
    # At least once: a change made just before the kill may repeat, identical.
    distinct = {(c["event_id"], c["change"], c["article_count"]) for c in changes}
    assert distinct == {(KOREA.event_id, "create", 1), (KOREA.event_id, "update", 2), (KOREA.event_id, "update", 3)}


def test_a_later_subscription_is_backfilled_and_a_removed_one_is_gone(
    env: dict[str, str], settings_for: Settings, materialiser: Worker, korea_after_a_kill: list[dict[str, Any]]
) -> None:
    # Every report above is on the events topic, and `korea` exists, whether or not its tests ran.
    added = pipeline_cli(env, "subscriptions", "add", "everything")
    assert added.returncode == 0, added.stderr
    assert "backfilled 5 changes" in added.stdout  # by `add` itself; the running materialiser adds nothing
    changes = read_changes(settings_for, "everything", 5)
    assert summary(changes) == [
        (KOREA.event_id, "create", 1, ["a1"]),
        (KOREA.event_id, "update", 2, ["a2"]),
        (KOREA.event_id, "update", 3, ["a3"]),
        ("evt_elsewhere", "create", 1, ["a9"]),
        ("evt_weak", "create", 1, ["a8"]),
    ]

    shown = pipeline_cli(env, "subscriptions", "show", "everything")
    assert shown.returncode == 0 and "update" in shown.stdout and "5 changes" in shown.stderr, shown.stderr

    listed = pipeline_cli(env, "subscriptions", "list")
    assert "korea" in listed.stdout and "everything" in listed.stdout and "KOR" in listed.stdout

    duplicate = pipeline_cli(env, "subscriptions", "add", "korea")
    assert duplicate.returncode == 65 and "exists already" in duplicate.stderr and "Traceback" not in duplicate.stderr

    removed = pipeline_cli(env, "subscriptions", "remove", "korea")
    assert removed.returncode == 0, removed.stderr
    assert "korea" not in load_subscriptions(settings_for)
    admin = KafkaAdminClient(bootstrap_servers=settings_for.kafka)
    try:
        deadline = time.monotonic() + 30
        while subscription_topic(settings_for, "korea") in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert subscription_topic(settings_for, "korea") not in admin.list_topics()
    finally:
        admin.close()
    pipeline_cli(env, "subscriptions", "remove", "everything")
