"""``pipeline subscribe``: follow the enriched-event topic like any downstream service would."""

from __future__ import annotations

import uuid

import typer
from kafka import KafkaConsumer
from rich.console import Console

from pipeline.index.search import event_lines
from pipeline.kafka import client_options
from pipeline.records import Event
from pipeline.settings import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command("subscribe")
    def subscribe_command(
        event_type: list[str] = typer.Option(None, "--type", "-t", help="Only these PLOVER types (repeatable)"),
        from_beginning: bool = typer.Option(False, "--from-beginning", help="Replay the topic from the start"),
        group: str = typer.Option(None, help="Consumer group (default: a private one, no offsets kept)"),
        as_json: bool = typer.Option(False, "--json", help="Print each event as one JSON line"),
        limit: int = typer.Option(0, help="Stop after this many events (0: follow forever)"),
        timeout: float = typer.Option(0, help="Stop after this many idle seconds (0: follow forever)"),
    ) -> None:
        """Print events from events.enriched as they arrive."""
        settings = get_settings()
        wanted = {t.upper() for t in event_type or []}
        consumer = KafkaConsumer(
            settings.topic_events,
            **client_options(settings),
            group_id=group or f"pipeline-subscribe-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=group is not None,
            auto_offset_reset="earliest" if from_beginning else "latest",
            consumer_timeout_ms=int(timeout * 1000) if timeout else float("inf"),
        )
        seen = 0
        try:
            for message in consumer:
                try:
                    event = Event.model_validate_json(message.value)
                except ValueError as exc:
                    console.print(f"[red]skipping an invalid event at offset {message.offset}: {exc}[/red]")
                    continue
                if wanted and event.event_type not in wanted:
                    continue
                if as_json:
                    print(message.value.decode("utf-8"), flush=True)
                else:
                    console.print("\n".join(event_lines(event.model_dump(mode="json"))), highlight=False)
                seen += 1
                if limit and seen >= limit:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            consumer.close()
