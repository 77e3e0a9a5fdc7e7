"""The collector against the real Kafka broker: exactly the articles it should publish, once.

Pages and feeds are the SAMPLE files of tests/unit/collect, served on 127.0.0.1; topics are unique per run.
"""

from __future__ import annotations

import contextlib
import random
import string
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from pipeline.collect.collector import collect_once
from pipeline.records import DeadLetter, RawArticle
from pipeline.settings import Settings
from tests.collect_samples import sample
from tests.httpserver import Route, SampleServer
from tests.integration.stages import read_topic, wait_for

pytestmark = pytest.mark.integration


def feed(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        "<pubDate>Thu, 12 Mar 2026 07:30:00 GMT</pubDate></item>"
        for title, link, guid in items
    )
    return f'<rss version="2.0"><channel><title>Sample (tests)</title>{entries}</channel></rss>'.encode()


ITEMS = [
    ("Bridge", "/news/bridge", "g1"),
    ("Council", "/news/council", "g2"),
    ("Copy", "/wire/copy", "g3"),  # syndicated copy of the bridge story: not published
    ("Gone", "/news/gone", "g4"),  # 404: dead-lettered
]


@pytest.fixture
def site() -> Iterator[SampleServer]:
    server = SampleServer().start()
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    server.routes["/feed.xml"] = Route(feed(ITEMS), content_type="application/rss+xml", etag='"v1"')
    server.routes["/news/bridge"] = Route(sample("bridge.html"))
    server.routes["/news/council"] = Route(sample("council-ld.html"))
    server.routes["/wire/copy"] = Route(sample("wire-copy.html"))
    yield server
    server.stop()


@pytest.fixture
def run_settings(settings: Settings, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:10]
    configured = settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "topic_raw": f"it-collect-{suffix}.articles.raw",
            "topic_dead_letter": f"it-collect-{suffix}.deadletter",
            "topic_partitions": 2,
            "state_path": tmp_path / "collector.sqlite3",
            "allow_private_hosts": ["127.0.0.1"],
            "per_host_min_interval_seconds": 0.0,
            "fetch_retries": 0,
            "min_text_chars": 100,
        }
    )
    yield configured
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-collect-cleanup")
    try:
        with contextlib.suppress(Exception):  # clean-up only; a leftover test topic harms nothing
            admin.delete_topics([configured.topic_raw, configured.topic_dead_letter])
    finally:
        admin.close()


def read_all(settings: Settings, topic: str, expected: int, timeout: float = 30.0) -> list[tuple[str, bytes]]:
    """Every message on the topic, once at least ``expected`` are there (read up to the end offsets, so no
    spell of silence is waited out)."""
    messages: list[tuple[str, bytes]] = []

    def arrived() -> bool:
        messages[:] = [(record.key.decode(), record.value) for record in read_topic(settings, topic)]
        return len(messages) >= expected

    wait_for(arrived, f"{expected} message(s) on {topic}", timeout=timeout)
    return messages


def topic_size(settings: Settings, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def test_collector_publishes_exactly_the_new_articles(site: SampleServer, run_settings: Settings) -> None:
    report = collect_once(run_settings, [site.url("/feed.xml")])
    assert (report.new, report.duplicate, report.rejected) == (2, 1, 1)

    raw = read_all(run_settings, run_settings.topic_raw, expected=2)
    articles = {key: RawArticle.model_validate_json(value) for key, value in raw}
    assert len(raw) == 2 and set(articles) == set(report.published)
    assert all(a.article_id == key and a.revision == 1 for key, a in articles.items())
    assert sorted(a.title for a in articles.values()) == [
        "Harbour bridge in Eastmere reopens after repairs",
        "Northvale council approves budget with new money for schools",
    ]
    dead = [DeadLetter.model_validate_json(v) for _, v in read_all(run_settings, run_settings.topic_dead_letter, 1)]
    assert len(dead) == 1 and dead[0].stage == "collect" and dead[0].reason.startswith("http_error")

    # Running again publishes nothing: the feed answers 304 and every item is settled.
    again = collect_once(run_settings, [site.url("/feed.xml")])
    assert again.not_modified == 1 and again.published == []
    assert topic_size(run_settings, run_settings.topic_raw) == 2
    assert topic_size(run_settings, run_settings.topic_dead_letter) == 1

    # The bridge story is corrected and the feed says so: one new revision under the same key.
    site.routes["/news/bridge"] = Route(sample("bridge.html").replace(b"for 2031.", b"for 2031. Corrected."))
    changed = [("Bridge (updated)", "/news/bridge", "g1"), *ITEMS[1:]]
    site.routes["/feed.xml"] = Route(feed(changed), content_type="application/rss+xml", etag='"v2"')
    third = collect_once(run_settings, [site.url("/feed.xml")])
    assert third.updated == 1 and third.new == 0
    raw = read_all(run_settings, run_settings.topic_raw, expected=3)
    revisions = [RawArticle.model_validate_json(v) for _, v in raw]
    assert len(raw) == 3
    (latest,) = [a for a in revisions if a.revision == 2]
    bridge_id = next(a.article_id for a in revisions if a.title.startswith("Harbour") and a.revision == 1)
    assert latest.article_id == bridge_id and "Corrected." in latest.text


def random_path(size: int, seed: int = 21) -> str:
    """A path that compresses poorly (random letters and digits), so gzip does not shrink it under the limit."""
    rng = random.Random(seed)
    return "/news/" + "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def test_an_item_with_a_600_kb_link_is_dead_lettered_and_the_run_goes_on(
    site: SampleServer, run_settings: Settings
) -> None:
    # Issue 21 (3): the letter was keyed by the whole link and carried it again in its payload; the broker
    # refused it (MESSAGE_TOO_LARGE), the run aborted, and every restart hit the same item.
    items = [ITEMS[0], ("Hostile", random_path(600_000), "g-huge"), ITEMS[1]]
    site.routes["/feed.xml"] = Route(feed(items), content_type="application/rss+xml")
    report = collect_once(run_settings, [site.url("/feed.xml")])
    assert (report.new, report.rejected, report.dead_letters_dropped) == (2, 1, 0)
    assert len(read_all(run_settings, run_settings.topic_raw, expected=2)) == 2
    (value,) = [v for _, v in read_all(run_settings, run_settings.topic_dead_letter, expected=1)]
    letter = DeadLetter.model_validate_json(value)
    assert letter.reason.startswith("bad_url") and letter.key is not None and len(letter.key) <= 1_024
    assert len(value) < 64_000


def test_a_dead_letter_the_broker_refuses_is_logged_counted_and_skipped(
    site: SampleServer, run_settings: Settings, kafka_bootstrap: str
) -> None:
    # A dead-letter topic that takes only tiny messages: any letter with a payload is refused for good.
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-collect-small-dlq")
    try:
        admin.create_topics(
            [NewTopic(run_settings.topic_dead_letter, 1, 1, topic_configs={"max.message.bytes": "300"})]
        )
    finally:
        admin.close()
    title = random_path(900, seed=5)  # a 404 page, and a title that makes its letter larger than 300 bytes
    site.routes["/feed.xml"] = Route(feed([ITEMS[0], (title, "/news/gone", "g4")]), content_type="application/rss+xml")
    report = collect_once(run_settings, [site.url("/feed.xml")])
    assert (report.new, report.rejected, report.dead_letters_dropped) == (1, 1, 1)
    assert len(read_all(run_settings, run_settings.topic_raw, expected=1)) == 1
    assert topic_size(run_settings, run_settings.topic_dead_letter) == 0
