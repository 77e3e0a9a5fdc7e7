"""Dead letters as a tool, against the real services: dead-letter, list, show, replay, find the document indexed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from elasticsearch import Elasticsearch

from pipeline.deadletter import dead_letter
from pipeline.kafka import ensure_topics
from pipeline.records import Subscription
from pipeline.settings import Settings
from tests.factories import sample_raw
from tests.integration.stages import (
    article,
    count,
    dead_letters,
    private_indices,
    private_settings,
    producer,
    publish_articles,
    read_topic,
    running_indexer,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.integration


def pipeline_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**settings_env(settings), "COLUMNS": "250"},
    )


def test_refused_articles_are_replayed_once_the_cause_is_fixed(
    settings: Settings, kafka_bootstrap: str, es_url: str
) -> None:
    # Letters of at most 20 kB: the big article's payload is left out and comes back from its source offset.
    private = private_settings(settings, "dlr", kafka_max_message_bytes=20_000, indexer_retry_max_seconds=2.0)
    ensure_topics(private)
    small = article(1, "replay")
    big = article(2, "replay").model_copy(update={"text": os.urandom(4_000).hex()})
    with private_indices(private) as es:
        assert isinstance(es, Elasticsearch)
        # The cause: an articles index whose strict mapping refuses every article (400, dead-lettered).
        strict = {"dynamic": "strict", "properties": {"x": {"type": "keyword"}}}
        es.indices.create(index=private.index_articles, mappings=strict)
        with running_indexer(private):
            publish_articles(private, [small, big])
            wait_for(lambda: len(dead_letters(private)) == 2, "both articles dead-lettered")
            letters = {letter.key: letter for letter in dead_letters(private)}
            assert letters[small.article_id].payload is not None
            assert letters[big.article_id].payload is None and letters[big.article_id].offset is not None

            listed = pipeline_command(private, "deadletters", "list", "--stage", "index", "--reason", "strict")
            assert listed.returncode == 0, listed.stderr
            assert "2 dead letters" in listed.stdout and small.article_id in listed.stdout
            first_id = listed.stdout.split("│")[1].strip() if "│" in listed.stdout else ""
            shown = pipeline_command(private, "deadletters", "show", first_id or "0:0")
            assert shown.returncode == 0 and "strict_dynamic_mapping" in shown.stdout, shown.stderr
            assert pipeline_command(private, "deadletters", "list", "--stage", "enrich").stdout.count("art_") == 0

            # The fix: the index goes, and the template recreates it with the right mapping on the next write.
            es.indices.delete(index=private.index_articles)
            replayed = pipeline_command(private, "deadletters", "replay", "--stage", "index")
            assert replayed.returncode == 0, replayed.stdout + replayed.stderr
            assert "replayed 2, skipped 0, failed 0" in replayed.stdout
            wait_for(lambda: count(es, private.index_articles) == 2, "both replayed articles indexed")
        stored = es.get(index=private.index_articles, id=big.article_id)["_source"]
        assert stored["text"] == big.text


def test_replay_refuses_a_letter_aimed_at_another_topic_and_keeps_a_keyless_message_keyless(
    settings: Settings, kafka_bootstrap: str
) -> None:
    """Issue 21 item 12: a letter could aim a replay at pipeline.subscriptions (e.g. to add a webhook), and a
    keyless message came back with an empty key."""
    private = private_settings(settings, "dlaim").model_copy(
        update={"topic_subscriptions": f"dlaim-{uuid.uuid4().hex[:8]}.subscriptions"}
    )
    ensure_topics(private)
    ensure_topics(private, [private.topic_subscriptions], partitions=1)
    planted = Subscription(name="planted", filter={}, webhook_url="https://attacker.example/hook")
    aimed = dead_letter(
        "index", "forged", key="planted", source_topic=private.topic_subscriptions, payload=planted.to_json_bytes()
    )
    raw = sample_raw()
    keyless = dead_letter("enrich", "parse failed", key=None, source_topic=private.topic_raw, partition=0, offset=0,
                          payload=raw.to_json_bytes())  # fmt: skip
    p = producer(private)
    for letter in (aimed, keyless):
        p.send(private.topic_dead_letter, key=b"", value=letter.to_json_bytes()).get(timeout=30)
    p.close()

    replayed = pipeline_command(private, "deadletters", "replay")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed 1, skipped 1, failed 0" in replayed.stdout, replayed.stdout
    assert "is not a pipeline input" in replayed.stdout
    assert read_topic(private, private.topic_subscriptions) == [], "the letter wrote to the subscriptions topic"
    (back,) = read_topic(private, private.topic_raw)
    assert back.key is None and back.value == raw.to_json_bytes()
