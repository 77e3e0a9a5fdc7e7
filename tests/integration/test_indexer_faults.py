"""The indexer under Elasticsearch faults and poison messages, against the real services.

Freezing Elasticsearch needs a stack this run owns (see pipeline.devstack.faults); the other tests only use
indices and topics of their own, so they run on any stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from pipeline.devstack.faults import StackFaults, fault_injection_allowed
from pipeline.index.es import ensure_indices
from pipeline.index.sink import RequestRefused
from pipeline.kafka import ensure_topics
from pipeline.settings import Settings
from tests.factories import sample_event
from tests.integration.stages import (
    article,
    committed_lag,
    count,
    dead_letters,
    group_members,
    private_indices,
    private_settings,
    producer,
    publish_articles,
    running_indexer,
    settings_env,
    wait_for,
)
from tests.prerequisites import prerequisite_missing

pytestmark = pytest.mark.integration


@pytest.fixture()
def isolated(settings: Settings, kafka_bootstrap: str, es_url: str) -> Iterator[tuple[Settings, Elasticsearch]]:
    private = private_settings(settings, "ixf", indexer_max_poll_interval_ms=10_000, indexer_retry_max_seconds=2.0)
    ensure_topics(private)
    with private_indices(private) as es:
        yield private, es


@pytest.fixture()
def faults(settings: Settings) -> StackFaults:
    why_not = fault_injection_allowed(settings)
    if why_not:
        prerequisite_missing(f"no fault injection: {why_not}")
    return StackFaults(settings)


@pytest.mark.stack_killing  # freezes the stack's Elasticsearch: runs last (tests/conftest.py)
def test_a_frozen_elasticsearch_outlasting_the_poll_interval_neither_crashes_nor_ejects_the_indexer(
    isolated: tuple[Settings, Elasticsearch], faults: StackFaults, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, es = isolated
    # The same 10 s for a consumer built without the setting (the indexer before the fix ignored it), so the
    # failure the issue saw after 300 s shows here within seconds.
    monkeypatch.setitem(KafkaConsumer.DEFAULT_CONFIG, "max_poll_interval_ms", settings.indexer_max_poll_interval_ms)
    with running_indexer(settings) as runner:
        publish_articles(settings, [article(0)])
        wait_for(lambda: count(es, settings.index_articles) == 1, "the first article indexed")
        faults.freeze_elasticsearch()
        try:
            publish_articles(settings, [article(n) for n in range(1, 6)])
            # Not ejecting is shown only by time passing: watched until max.poll.interval.ms (10 s) and a
            # heartbeat (3 s) are well past, and failed as soon as the indexer dies or leaves its group.
            watch_until = time.monotonic() + settings.indexer_max_poll_interval_ms / 1000 + 6
            while time.monotonic() < watch_until:
                assert runner.alive(), f"the indexer died: {runner.error!r}"
                assert group_members(settings, settings.indexer_group) == 1, "the indexer was put out of its group"
                time.sleep(0.5)
        finally:
            faults.thaw_elasticsearch()
        wait_for(lambda: count(es, settings.index_articles) == 6, "the held articles indexed after the thaw")
        wait_for(lambda: committed_lag(settings) == 0, "the offsets committed")
        assert runner.alive() and runner.error is None
    assert dead_letters(settings) == []


def test_a_write_block_holds_the_batch_and_nothing_is_dead_lettered(isolated: tuple[Settings, Elasticsearch]) -> None:
    settings, es = isolated
    ensure_indices(es, settings)
    es.indices.put_settings(index=settings.index_articles, settings={"index.blocks.write": True})
    with running_indexer(settings) as runner:
        publish_articles(settings, [article(n, "blocked") for n in range(3)])

        def held_through_attempts() -> bool:
            """Held through several refused attempts (backoffs 0.5, 1, 2 s); fails at once if it is not."""
            assert runner.alive(), f"the indexer died: {runner.error!r}"
            assert dead_letters(settings) == [], "the blocked batch was dead-lettered"
            assert committed_lag(settings) in (3, None), "offsets moved on while the batch was refused"
            return runner.article_writes >= 4

        wait_for(held_through_attempts, "four attempts at the blocked batch", timeout=60)
        assert count(es, settings.index_articles) == 0
        assert committed_lag(settings) == 3, "offsets moved on while the batch was refused"
        es.indices.put_settings(index=settings.index_articles, settings={"index.blocks.write": False})
        wait_for(lambda: count(es, settings.index_articles) == 3, "the articles indexed once the block is lifted")
        assert runner.error is None
    assert dead_letters(settings) == []


def test_poison_messages_are_dead_lettered_with_reasons_and_the_next_one_indexed(
    isolated: tuple[Settings, Elasticsearch],
) -> None:
    settings, es = isolated
    good = article(1, "after-poison")
    wrong_version = article(2, "v9").model_dump(mode="json") | {"schema_version": "9.0"}
    p = producer(settings)
    poison = [
        (b"\xff\xfe-not-utf8", good.to_json_bytes()),
        (b"invalid-json", b'{"article_id": "x", '),
        (b"wrong-version", json.dumps(wrong_version).encode()),
        (b"empty", b""),
    ]
    for key, value in poison:
        p.send(settings.topic_enriched, key=key, value=value)
    p.send(settings.topic_enriched, key=good.article_id.encode(), value=good.to_json_bytes())
    p.flush(timeout=30)
    p.close()
    with running_indexer(settings) as runner:
        wait_for(lambda: count(es, settings.index_articles) == 1, "the good article indexed")
        wait_for(lambda: len(dead_letters(settings)) == 4, "four dead letters")
        assert runner.error is None
    letters = {letter.key: letter for letter in dead_letters(settings)}
    assert "not UTF-8" in letters["\\xff\\xfe-not-utf8"].reason
    assert "not a valid" in letters["invalid-json"].reason
    assert "schema_version" in letters["wrong-version"].reason
    assert "empty message" in letters["empty"].reason
    assert letters["\\xff\\xfe-not-utf8"].original_payload() == good.to_json_bytes()
    assert letters["wrong-version"].original_payload() == poison[2][1]


def test_every_report_of_a_refused_event_is_dead_lettered(isolated: tuple[Settings, Elasticsearch]) -> None:
    settings, es = isolated
    # An events index whose strict mapping knows none of the fields: Elasticsearch refuses each event (400).
    strict = {"dynamic": "strict", "properties": {"x": {"type": "keyword"}}}
    es.indices.create(index=settings.index_events, mappings=strict)
    first = sample_event()
    second = first.model_copy(update={"article_id": "art_second", "article_ids": ["art_second"]})
    p = producer(settings)
    for event in (first, second):
        p.send(settings.topic_events, key=event.event_id.encode(), value=event.to_json_bytes())
    p.flush(timeout=30)
    p.close()
    with running_indexer(settings):
        wait_for(lambda: len(dead_letters(settings)) == 2, "a dead letter for each report")
    letters = dead_letters(settings)
    assert {letter.key for letter in letters} == {first.event_id}
    assert {letter.original_payload() for letter in letters} == {first.to_json_bytes(), second.to_json_bytes()}
    assert all("strict_dynamic_mapping" in letter.reason for letter in letters)


def test_a_closed_index_stops_the_indexer_with_a_message_instead_of_retrying_forever(
    isolated: tuple[Settings, Elasticsearch],
) -> None:
    settings, es = isolated
    ensure_indices(es, settings)
    es.indices.close(index=settings.index_articles)
    publish_articles(settings, [article(1, "closed")])
    with running_indexer(settings) as runner:
        wait_for(lambda: not runner.alive(), "the indexer to stop", timeout=60)
    assert isinstance(runner.error, RequestRefused) and "index_closed_exception" in str(runner.error)
    assert committed_lag(settings) == 1 and dead_letters(settings) == []
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "index"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**settings_env(settings), "COLUMNS": "200"},
    )
    assert done.returncode == 66, done.stdout + done.stderr  # EX_NOINPUT: the index is not there to write to
    assert "index_closed_exception" in done.stderr and "Traceback" not in done.stdout + done.stderr


def test_an_older_revision_after_a_newer_one_never_wins_in_one_batch_or_a_later_one(
    isolated: tuple[Settings, Elasticsearch],
) -> None:
    """Issue 21 item 8: a replay that puts revision 2 after revision 3 must leave revision 3 indexed."""
    settings, es = isolated
    newest = article(1, "revisions").model_copy(update={"revision": 3, "title": "Revision 3"})
    older = newest.model_copy(update={"revision": 2, "title": "Revision 2"})
    publish_articles(settings, [newest, older])  # one partition (one key), offsets n and n+1: one poll

    def indexed_title() -> str:
        es.indices.refresh(index=settings.index_articles)
        return str(es.get(index=settings.index_articles, id=newest.article_id)["_source"]["title"])

    with running_indexer(settings) as runner:
        wait_for(lambda: count(es, settings.index_articles) == 1 and committed_lag(settings) == 0, "the batch")
        assert runner.indexer.stats.batches == 1, "both revisions were meant to arrive in one poll"
        assert indexed_title() == "Revision 3"
        publish_articles(settings, [older])  # the older revision again, alone in a later batch
        wait_for(lambda: committed_lag(settings) == 0, "the later batch committed")
        assert indexed_title() == "Revision 3"
        assert runner.indexer.stats.stale == 1 and runner.error is None
    assert dead_letters(settings) == []
