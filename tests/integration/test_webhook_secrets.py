"""Secrets in URLs against the real broker and node: never printed, listed or stored on the subscriptions topic.

A webhook URL with a token is kept where the deliverer runs and the subscription stores a reference to it;
a subscription written before that rule (the URL itself on the topic) stays readable, is shown masked, and can
be moved to a reference. `pipeline setup` names Elasticsearch without the password of its URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from pipeline.errors import EXIT_USAGE
from pipeline.kafka import consumer_options, make_producer
from pipeline.publish.changes import apply_report
from pipeline.publish.subscriptions import load_subscriptions, subscription_topic
from pipeline.settings import Settings
from tests.factories import sample_event

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-5ecr3t-0123456789"


class Receiver:
    """Answers every POST with 204 and records the path it was sent to (where the token travels)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token={TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture
def environment(kafka_bootstrap: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PIPELINE_TOPIC_EVENTS": f"secrets-{suffix}.events.enriched",
        "PIPELINE_TOPIC_SUBSCRIPTIONS": f"secrets-{suffix}.subscriptions",
        "PIPELINE_TOPIC_SUBSCRIPTION_PREFIX": f"secrets-{suffix}.events.sub.",
        "PIPELINE_TOPIC_PARTITIONS": "1",
        "PIPELINE_LOG_LEVEL": "WARNING",
        "COLUMNS": "400",  # tables and messages on one line each
    }


def _settings(env: dict[str, str]) -> Settings:
    return Settings(**{k[len("PIPELINE_") :].lower(): v for k, v in env.items() if k.startswith("PIPELINE_")})


def pipeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )


def topic_bytes(settings: Settings, topic: str) -> bytes:
    """Every key and value on ``topic``, concatenated: what anyone who may read the topic can see."""
    consumer = KafkaConsumer(**consumer_options(settings), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        seen = b""
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=1000).values():
                seen += b"".join((r.key or b"") + (r.value or b"") for r in records)
        return seen
    finally:
        consumer.close()


def fill(settings: Settings, name: str) -> None:
    """One create on the subscription's topic, as the materialiser would write it."""
    _, change = apply_report(None, sample_event().model_dump(mode="json"), 0, 0)
    assert change is not None
    producer = make_producer(settings, "it-webhook-secrets")
    producer.send(subscription_topic(settings, name), key=change.event_id, value=change.to_json_bytes()).get(30)
    producer.close()


def test_a_webhook_token_never_reaches_the_topic_the_listing_or_the_output(
    environment: dict[str, str], receiver: Receiver
) -> None:
    settings = _settings(environment)
    refused = pipeline(environment, "subscriptions", "add", "hooked", "--no-backfill", "--webhook", receiver.url)
    assert refused.returncode == EXIT_USAGE, refused.stdout + refused.stderr
    assert "--webhook-env" in refused.stderr and TOKEN not in refused.stdout + refused.stderr

    added = pipeline(environment, "subscriptions", "add", "hooked", "--no-backfill", "--webhook-env", "HOOKED_URL")
    assert added.returncode == 0, added.stderr
    listed = pipeline(environment, "subscriptions", "list")
    assert "env:HOOKED_URL" in listed.stdout
    fill(settings, "hooked")

    unset = pipeline(environment, "subscriptions", "deliver", "hooked", "--limit", "1")
    assert unset.returncode == 78 and "HOOKED_URL" in unset.stderr
    delivered = pipeline(
        environment | {"HOOKED_URL": receiver.url}, "subscriptions", "deliver", "hooked", "--limit", "1"
    )
    assert delivered.returncode == 0, delivered.stderr
    assert receiver.paths == [f"/hook?token={TOKEN}"]  # the receiver gets the URL whole
    assert "token=***" in delivered.stderr
    for output in (refused, added, listed, unset, delivered):
        assert TOKEN not in output.stdout + output.stderr
    assert TOKEN.encode() not in topic_bytes(settings, settings.topic_subscriptions)


def test_a_subscription_stored_with_its_token_stays_readable_and_can_be_moved_to_a_reference(
    environment: dict[str, str], receiver: Receiver
) -> None:
    settings = _settings(environment)
    added = pipeline(environment, "subscriptions", "add", "legacy", "--no-backfill")
    assert added.returncode == 0, added.stderr
    # What `subscriptions add --webhook URL` wrote before issue 21: the URL, token and all.
    record = load_subscriptions(settings)["legacy"].model_dump(mode="json", exclude={"webhook_url_from"})
    record["webhook_url"] = receiver.url
    producer = make_producer(settings, "it-webhook-secrets")
    producer.send(settings.topic_subscriptions, key="legacy", value=json.dumps(record).encode()).get(30)
    producer.close()
    fill(settings, "legacy")

    listed = pipeline(environment, "subscriptions", "list")
    assert "token=***" in listed.stdout and "set-webhook legacy" in listed.stderr
    delivered = pipeline(environment, "subscriptions", "deliver", "legacy", "--limit", "1")
    assert delivered.returncode == 0, delivered.stderr
    assert receiver.paths == [f"/hook?token={TOKEN}"]
    moved = pipeline(environment, "subscriptions", "set-webhook", "legacy", "--webhook-env", "LEGACY_URL")
    assert moved.returncode == 0, moved.stderr
    relisted = pipeline(environment, "subscriptions", "list")
    assert "env:LEGACY_URL" in relisted.stdout and "set-webhook" not in relisted.stderr
    for output in (listed, delivered, moved, relisted):
        assert TOKEN not in output.stdout + output.stderr


def test_setup_names_elasticsearch_without_the_password_of_its_url(
    environment: dict[str, str], settings: Settings
) -> None:
    suffix = uuid.uuid4().hex[:8]
    # The devstack's node runs without security, so it ignores the credentials; the output is what matters.
    with_password = settings.elasticsearch.replace("://", "://elastic:pa55-word@", 1)
    env = environment | {
        "PIPELINE_ELASTICSEARCH_URL": with_password,
        "PIPELINE_INDEX_ARTICLES": f"it-secrets-{suffix}-articles",
        "PIPELINE_INDEX_EVENTS": f"it-secrets-{suffix}-events",
        **{f"PIPELINE_TOPIC_{kind}": f"secrets-{suffix}.{kind.lower()}" for kind in ("RAW", "ENRICHED", "DEAD_LETTER")},
    }
    try:
        done = pipeline(env, "setup")
        assert done.returncode == 0, done.stderr
        assert "elastic:***@" in done.stdout and "pa55-word" not in done.stdout + done.stderr
    finally:
        client = Elasticsearch(settings.elasticsearch)
        client.options(ignore_status=404).indices.delete(index=f"it-secrets-{suffix}-*", expand_wildcards="all")
        for kind in ("articles", "events"):
            client.options(ignore_status=404).indices.delete_index_template(name=f"pipeline-it-secrets-{suffix}-{kind}")
        client.close()
