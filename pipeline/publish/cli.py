"""``pipeline subscribe``: follow the enriched-event topic like any downstream service would.

The same filters and output formats as ``pipeline search``. An event reported by several articles arrives
once per report; a session shows each event id once. On a quiet topic it says what it is waiting for.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

import typer
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from rich.console import Console

from pipeline.errors import MissingResource
from pipeline.kafka import consumer_options
from pipeline.query.filters import EventFilter
from pipeline.query.formats import Hit, OutputFormat, RecordWriter, open_writer
from pipeline.query.options import format_option, with_event_filter
from pipeline.records import Event
from pipeline.settings import Settings, get_settings

notes = Console(stderr=True, highlight=False)  # stdout carries only the events, for programs reading it

QUIET_NOTICE_SECONDS = 30.0
SEEN_EVENTS_KEPT = 100_000


class SeenEvents:
    """The event ids shown in this session (the most recent ``capacity``), so a report repeats nothing."""

    def __init__(self, capacity: int = SEEN_EVENTS_KEPT) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


def follow_events(
    settings: Settings,
    event_filter: EventFilter,
    writer: RecordWriter,
    *,
    from_beginning: bool = False,
    group: str | None = None,
    limit: int = 0,
    idle_exit: float = 0,
    quiet_notice: float = QUIET_NOTICE_SECONDS,
    say: Callable[[str], None] = notes.print,
) -> int:
    """Write matching events from the events topic until ``limit`` events, ``idle_exit`` quiet seconds, or
    Ctrl-C; returns how many were written."""
    # Never auto-commit: it would commit whatever was polled, including the records a --limit or Ctrl-C left
    # unshown, and the next session with the group would skip them. With a group, only handled offsets are
    # committed (``HandledOffsets``).
    consumer = KafkaConsumer(
        **consumer_options(settings),
        group_id=group or f"pipeline-subscribe-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    if settings.topic_events not in consumer.topics():
        consumer.close()
        raise MissingResource(
            f"Kafka topic {settings.topic_events!r} does not exist",
            where=settings.kafka,
            hint="run `pipeline setup` to create the topics (or set PIPELINE_TOPIC_EVENTS)",
        )
    consumer.subscribe([settings.topic_events])
    seen = SeenEvents()
    handled = HandledOffsets(consumer if group is not None else None, say)
    written = 0
    say(
        f"Waiting for events on {settings.topic_events} at {settings.kafka} "
        f"({'from the beginning' if from_beginning else 'new ones'}; {event_filter.describe()}). Ctrl-C stops."
    )
    last_event = last_notice = time.monotonic()
    try:
        while not (limit and written >= limit):
            batches = consumer.poll(timeout_ms=500)
            now = time.monotonic()
            delivered = False
            for message in (m for batch in batches.values() for m in batch):
                try:
                    event = Event.model_validate_json(message.value)
                except ValueError as exc:
                    say(f"[red]skipping an invalid event (offset {message.offset}): {exc}")
                    handled.done(message)
                    continue
                record = event.model_dump(mode="json")
                if event_filter.matches(record) and seen.first_time(event.event_id):
                    writer.write(Hit(record))
                    written += 1
                    delivered = True
                handled.done(message)
                if limit and written >= limit:
                    break
            handled.commit()
            if delivered:
                last_event = last_notice = now
            elif idle_exit and now - last_event >= idle_exit:
                say(f"No matching event for {idle_exit:g} s; stopping.")
                break
            elif quiet_notice and now - last_notice >= quiet_notice:
                say(f"No matching event for {now - last_event:.0f} s; still waiting on {settings.topic_events}.")
                last_notice = now
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()
        handled.commit()
        consumer.close(autocommit=False)
    return written


class HandledOffsets:
    """With a consumer group: commits past the messages this session has handled (shown, filtered out or
    unreadable) and no further, so a --limit or Ctrl-C never skips a polled but unshown event next time."""

    def __init__(self, consumer: KafkaConsumer | None, say: Callable[[str], None]) -> None:
        self.consumer = consumer
        self.say = say
        self._pending: dict[TopicPartition, OffsetAndMetadata] = {}

    def done(self, message: ConsumerRecord) -> None:
        if self.consumer is not None:
            tp = TopicPartition(message.topic, message.partition)
            self._pending[tp] = OffsetAndMetadata(message.offset + 1, "", -1)

    def commit(self) -> None:
        if self.consumer is None or not self._pending:
            return
        try:
            self.consumer.commit(dict(self._pending))
            self._pending.clear()
        except KafkaError as exc:
            # Not fatal: the group resumes from its previous commit and shows these events again.
            self.say(f"[yellow]could not commit the group's offsets ({exc}); some events will be shown again")


def register(app: typer.Typer) -> None:
    @app.command("subscribe")
    @with_event_filter
    def subscribe_command(
        from_beginning: bool = typer.Option(False, "--from-beginning", help="Replay the topic from the start"),
        group: str = typer.Option(None, help="Consumer group (default: a private one, no offsets kept)"),
        output: OutputFormat = format_option(),
        as_json: bool = typer.Option(False, "--json", help="Same as --format jsonl", hidden=True),
        limit: int = typer.Option(0, min=0, help="Stop after this many events (0: follow forever)"),
        idle_exit: float = typer.Option(
            0, "--idle-exit", min=0, help="Stop after this many quiet seconds (0: follow forever)"
        ),
        webhook: str = typer.Option(
            None,
            "--webhook",
            help="POST each matching event to this URL instead, at least once (signed with PIPELINE_WEBHOOK_SECRET)",
        ),
        *,
        event_filter: EventFilter,
    ) -> None:
        """Print events from events.enriched as they arrive, filtered like `pipeline search --events`.

        Examples: pipeline subscribe --country Turkey --min-confidence 0.6 ·
        pipeline subscribe --type CONSULT,AGREE --from-beginning --format jsonl
        """
        if webhook:
            from pipeline.publish.subscriptions_cli import deliver_events

            deliver_events(
                get_settings(),
                event_filter,
                webhook,
                group=group,
                from_beginning=from_beginning,
                limit=limit,
                idle_exit=idle_exit,
            )
            return
        writer = open_writer(OutputFormat.jsonl if as_json else output, "event")
        follow_events(
            get_settings(),
            event_filter,
            writer,
            from_beginning=from_beginning,
            group=group,
            limit=limit,
            idle_exit=idle_exit,
        )
