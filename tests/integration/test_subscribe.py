"""`pipeline subscribe` against the real broker: the search filters, each event once per session, formats,
and a word when the topic is quiet."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import MissingResource
from pipeline.kafka import ensure_topics, make_producer
from pipeline.publish.cli import SeenEvents, follow_events
from pipeline.query.filters import EventFilter
from pipeline.query.formats import Hit, JsonLinesWriter, OutputFormat, open_writer
from pipeline.records import Event
from pipeline.settings import Settings, get_settings
from tests.event_samples import varied_events
from tests.factories import sample_event

pytestmark = pytest.mark.integration


@pytest.fixture()
def topic_settings(settings: Settings, kafka_bootstrap: str) -> Iterator[Settings]:
    configured = settings.model_copy(
        update={"topic_events": f"it-subscribe-{uuid.uuid4().hex[:10]}.events", "topic_partitions": 2}
    )
    ensure_topics(configured, [configured.topic_events])
    yield configured
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-subscribe-cleanup")
    try:
        with contextlib.suppress(Exception):  # clean-up only
            admin.delete_topics([configured.topic_events])
    finally:
        admin.close()


def _publish(settings: Settings, events: list[Event], extra: tuple[bytes, ...] = ()) -> None:
    producer = make_producer(settings, "it-subscribe")
    for event in events:
        producer.send(settings.topic_events, key=event.event_id, value=event.to_json_bytes())
    for raw in extra:
        producer.send(settings.topic_events, key="broken", value=raw)
    producer.flush()
    producer.close()


def _reported_again(event: Event) -> Event:
    """The same event as a second article reports it (same id, another article)."""
    return event.model_copy(update={"article_id": "art_9999", "article_ids": [event.article_id, "art_9999"]})


def test_filters_and_shows_each_event_once(topic_settings: Settings) -> None:
    events = varied_events()
    _publish(topic_settings, [*events, _reported_again(events[1]), _reported_again(events[2])], (b"{not json",))
    stream = io.StringIO()
    notes: list[str] = []
    written = follow_events(
        topic_settings,
        EventFilter.parse(types="consult", countries="Turkey"),
        open_writer(OutputFormat.jsonl, "event", stream),
        from_beginning=True,
        idle_exit=3,
        say=notes.append,
    )
    received = [json.loads(line)["event_id"] for line in stream.getvalue().splitlines()]
    assert received == [events[2].event_id] and written == 1  # CONSULT in Turkey, its second report not repeated
    assert notes[0].startswith(f"Waiting for events on {topic_settings.topic_events}")
    assert "type CONSULT, country TUR" in notes[0]
    assert any("skipping an invalid event" in note for note in notes)
    assert notes[-1].startswith("No matching event for 3 s")


def test_says_it_is_still_waiting_on_a_quiet_topic(topic_settings: Settings) -> None:
    notes: list[str] = []
    follow_events(
        topic_settings,
        EventFilter(),
        open_writer(OutputFormat.json, "event", io.StringIO()),
        idle_exit=4,
        quiet_notice=1.5,
        say=notes.append,
    )
    assert any("still waiting on" in note for note in notes), notes


def test_command_with_the_search_options_and_formats(topic_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(topic_settings, varied_events())
    monkeypatch.setenv("PIPELINE_KAFKA_BOOTSTRAP", topic_settings.kafka_bootstrap)
    monkeypatch.setenv("PIPELINE_TOPIC_EVENTS", topic_settings.topic_events)
    get_settings.cache_clear()
    try:
        arguments = ["subscribe", "--from-beginning", "--idle-exit", "3", "--entity", "BLINKEN", "--format", "json"]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        received = {event["event_id"] for event in json.loads(result.stdout)}
        assert received == {varied_events()[1].event_id, varied_events()[2].event_id}
        assert "Waiting for events" in result.stderr
        limited = CliRunner().invoke(app, ["subscribe", "--from-beginning", "--limit", "2", "--format", "csv"])
        assert limited.exit_code == 0, limited.output
        assert len(limited.stdout.splitlines()) == 3  # header and two events
        bad = CliRunner().invoke(app, ["subscribe", "--type", "missile"], env={"COLUMNS": "300"})
        assert bad.exit_code == 64 and "valid: ACCUSE" in bad.output
    finally:
        get_settings.cache_clear()


def test_seen_events_forget_the_oldest_beyond_capacity() -> None:
    seen = SeenEvents(capacity=2)
    assert seen.first_time("a") and seen.first_time("b") and not seen.first_time("a")
    assert seen.first_time("c")  # "b" was the least recently seen, and is forgotten
    assert seen.first_time("b") and not seen.first_time("c")


def test_a_missing_topic_is_a_message(
    settings: Settings, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"it-subscribe-missing-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PIPELINE_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("PIPELINE_TOPIC_EVENTS", missing)
    get_settings.cache_clear()
    try:
        with pytest.raises(MissingResource, match=missing):
            follow_events(get_settings(), EventFilter(), open_writer(OutputFormat.jsonl, "event", io.StringIO()))
    finally:
        get_settings.cache_clear()


def _numbered_events(count: int) -> list[Event]:
    return [sample_event().model_copy(update={"event_id": f"evt_group_{n:02d}"}) for n in range(count)]


class _InterruptedAfter(JsonLinesWriter):
    """Shows ``shown`` events, then the user presses Ctrl-C while the next one is being shown."""

    def __init__(self, shown: int, stream: io.StringIO) -> None:
        super().__init__("event", stream)
        self.left = shown

    def write(self, hit: Hit) -> None:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        super().write(hit)


@pytest.mark.parametrize("stop", ["limit", "ctrl-c"])
def test_a_group_session_stopped_early_leaves_every_unshown_event_to_the_next_one(
    topic_settings: Settings, stop: str
) -> None:
    """Issue 21 item 10: with auto-commit, --limit or Ctrl-C committed what was polled but never shown."""
    events = _numbered_events(12)
    _publish(topic_settings, events)
    group = f"it-subscribe-group-{uuid.uuid4().hex[:8]}"
    first = io.StringIO()
    writer = open_writer(OutputFormat.jsonl, "event", first) if stop == "limit" else _InterruptedAfter(3, first)
    shown = follow_events(
        topic_settings,
        EventFilter(),
        writer,
        from_beginning=True,
        group=group,
        limit=3 if stop == "limit" else 0,
        say=lambda _: None,
    )
    first_ids = [json.loads(line)["event_id"] for line in first.getvalue().splitlines()]
    assert shown == 3 and len(first_ids) == 3
    second = io.StringIO()
    follow_events(
        topic_settings,
        EventFilter(),
        open_writer(OutputFormat.jsonl, "event", second),
        from_beginning=True,
        group=group,
        idle_exit=3,
        say=lambda _: None,
    )
    second_ids = [json.loads(line)["event_id"] for line in second.getvalue().splitlines()]
    assert sorted(first_ids + second_ids) == sorted(e.event_id for e in events), "events skipped or repeated"
