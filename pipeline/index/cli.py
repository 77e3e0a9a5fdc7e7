"""Commands of the index stage: ``setup``, ``index``, ``search``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from pipeline.settings import get_settings

console = Console()


def _parse_day(value: str | None) -> date | None:
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None


def setup_services(kibana_objects: Path | None = None) -> None:
    """Topics, index templates and indices, and (when PIPELINE_KIBANA_URL is set) Kibana saved objects."""
    from pipeline.index.es import ensure_indices, make_client, wait_until_ready
    from pipeline.kafka import ensure_topics

    settings = get_settings()
    created = ensure_topics(settings)
    console.print(f"Kafka {settings.kafka}: topics ready ({', '.join(created) or 'all existed'})")
    client = make_client(settings)
    wait_until_ready(client)
    ensure_indices(client, settings)
    console.print(f"Elasticsearch {settings.elasticsearch}: templates and indices ready")
    if settings.kibana_url:
        from pipeline.index.kibana import default_saved_objects_path, import_saved_objects

        path = kibana_objects or default_saved_objects_path()
        count = import_saved_objects(
            settings.kibana_url,
            path,
            api_key=settings.elasticsearch_api_key.get_secret_value() if settings.elasticsearch_api_key else None,
            verify=settings.kibana_ca_certs or True,
            wait_seconds=120,
        )
        console.print(f"Kibana {settings.kibana_url}: {count} saved objects imported")


def print_search(
    text: str | None,
    *,
    entity: str | None = None,
    event_type: str | None = None,
    country: str | None = None,
    since: date | None = None,
    until: date | None = None,
    events: bool = False,
    size: int = 10,
) -> int:
    """Run a search and print the hits; returns the total number of hits."""
    from pipeline.index.es import make_client
    from pipeline.index.search import (
        ARTICLE_HIGHLIGHT,
        EVENT_SORT,
        SearchFilters,
        article_lines,
        article_query,
        event_lines,
        event_query,
    )

    settings = get_settings()
    client = make_client(settings)
    filters = SearchFilters(text, entity, event_type, country, since, until)
    if events:
        response = client.search(index=settings.index_events, query=event_query(filters), sort=EVENT_SORT, size=size)
    else:
        response = client.search(
            index=settings.index_articles,
            query=article_query(filters),
            highlight=ARTICLE_HIGHLIGHT,
            size=size,
        )
    total = int(response["hits"]["total"]["value"])
    hits: list[dict[str, Any]] = response["hits"]["hits"]
    kind = "events" if events else "articles"
    console.rule(f"{total} {kind} for {text or '*'!r}" + (f" (showing {len(hits)})" if total > len(hits) else ""))
    for number, hit in enumerate(hits, 1):
        lines = event_lines(hit["_source"]) if events else article_lines(hit)
        console.print(f"{number:>2}. " + "\n".join(lines), highlight=False)
    return total


def register(app: typer.Typer) -> None:
    @app.command("setup")
    def setup_command(
        kibana_objects: Path = typer.Option(None, help="Kibana saved objects (.ndjson) to import"),
    ) -> None:
        """Create the Kafka topics, Elasticsearch templates/indices and Kibana saved objects (idempotent)."""
        setup_services(kibana_objects)

    @app.command("index")
    def index_command(
        idle_exit: float = typer.Option(0, help="Stop after this many idle seconds (0: run until stopped)"),
    ) -> None:
        """Run the indexer: articles.enriched + events.enriched -> Elasticsearch (idempotent bulk writes)."""
        from pipeline.index.indexer import Indexer

        # A permanent refusal (pipeline.index.sink.RequestRefused) leaves through pipeline.cli's error handler.
        indexer = Indexer(get_settings())
        try:
            indexer.run(
                on_batch=lambda s: console.log(
                    f"indexed {s.articles} articles, {s.events} events, dead-lettered {s.dead_lettered}"
                ),
                idle_exit_seconds=idle_exit,
            )
        except KeyboardInterrupt:
            indexer.stop()

    @app.command("search")
    def search_command(
        text: str = typer.Argument(None, help="Full-text query (title and body; event evidence with --events)"),
        entity: str = typer.Option(None, "--entity", "-e", help="Canonical entity name, e.g. 'Antony Blinken'"),
        event_type: str = typer.Option(None, "--type", "-t", help="PLOVER event type, e.g. CONSULT"),
        country: str = typer.Option(None, "--country", "-c", help="Country name or ISO code, e.g. KOR"),
        since: str = typer.Option(None, "--since", help="From date (YYYY-MM-DD)"),
        until: str = typer.Option(None, "--until", help="To date (YYYY-MM-DD)"),
        events: bool = typer.Option(False, "--events", help="Search events instead of articles"),
        size: int = typer.Option(10, "--size", "-n", help="How many results"),
    ) -> None:
        """Search indexed articles (or events) with full text and filters."""
        print_search(
            text,
            entity=entity,
            event_type=event_type,
            country=country,
            since=_parse_day(since),
            until=_parse_day(until),
            events=events,
            size=size,
        )
