"""Commands of the index stage: ``setup``, ``index``, ``search``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.index.search import DEFAULT_COUNT_BUCKETS, CountBy, SearchError, SortOrder
from pipeline.query.filters import EventFilter
from pipeline.query.formats import FormatError, Hit, OutputFormat, counted
from pipeline.query.options import format_option, with_event_filter
from pipeline.redact import redact_url
from pipeline.settings import get_settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

console = Console()


def setup_services(kibana_objects: Path | None = None, *, upgrade_mappings: bool = False) -> None:
    """Topics, index templates and indices, and (when PIPELINE_KIBANA_URL is set) Kibana saved objects.
    ``upgrade_mappings`` adds fields a newer contract brought to the existing indices."""
    from pipeline.index.es import ensure_indices, make_client, wait_until_ready
    from pipeline.kafka import ensure_topics

    settings = get_settings()
    created = ensure_topics(settings)
    console.print(f"Kafka {settings.kafka}: topics ready ({', '.join(created) or 'all existed'})")
    client = make_client(settings)
    wait_until_ready(client)
    ensure_indices(client, settings, upgrade_mappings=upgrade_mappings)
    console.print(f"Elasticsearch {redact_url(settings.elasticsearch)}: templates and indices ready")
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
        console.print(f"Kibana {redact_url(settings.kibana_url)}: {count} saved objects imported")


def print_search(
    text: str | None,
    *,
    event_filter: EventFilter | None = None,
    events: bool = False,
    sort: SortOrder = SortOrder.newest,
    page: int = 1,
    size: int = 10,
    output: OutputFormat = OutputFormat.table,
) -> int:
    """Run a search and write one page of hits in a format; returns the total number of hits."""
    from pipeline.index.es import make_client
    from pipeline.index.search import SearchRequest, page_of
    from pipeline.query.formats import open_writer

    settings = get_settings()
    client = make_client(settings)
    request = SearchRequest(text, event_filter or EventFilter(), events, sort, page, size)
    first = (page - 1) * size + 1
    writer = open_writer(output, request.kind, first_number=first)
    index = settings.index_events if events else settings.index_articles
    found = page_of(client.search(index=index, **request.body()).body)
    if events:
        _add_article_urls(client, settings.index_articles, found.hits)
    shown = f"{first}-{first + len(found.hits) - 1}" if found.hits else "none"
    summary = f"{counted(found.total, request.kind)} for {text or '*'!r}" + (
        f", {event_filter.describe()}" if event_filter and not event_filter.is_empty else ""
    )
    summary += f" · {sort.label} · showing {shown}"
    _say(output, summary)
    for hit in found.hits:
        writer.write(hit)
    writer.close()
    if writer.skipped:
        _say(output, f"{counted(writer.skipped, request.kind)} without coordinates left out of the GeoJSON")
    if found.total > first + len(found.hits) - 1 and found.hits:
        _say(output, f"more: --page {page + 1}")
    return found.total


def print_counts(
    text: str | None,
    count_by: CountBy,
    *,
    event_filter: EventFilter | None = None,
    events: bool = False,
    buckets: int = DEFAULT_COUNT_BUCKETS,
    output: OutputFormat = OutputFormat.table,
) -> list[tuple[str, int]]:
    """Count the matching documents by type, country, entity or period, and write the rows."""
    from pipeline.index.es import make_client
    from pipeline.index.search import SearchRequest, candidate_values, counts_of

    settings = get_settings()
    client = make_client(settings)
    request = SearchRequest(text, event_filter or EventFilter(), events)
    index = settings.index_events if events else settings.index_articles
    response: dict[str, Any] = client.search(index=index, **request.count_body(count_by, buckets)).body
    total = int(response["hits"]["total"]["value"])
    if len(request.count_fields(count_by)) > 1:
        candidates = candidate_values(response)
        response = {"aggregations": {"counts": {"buckets": {}}}}
        if candidates:
            response = client.search(index=index, **request.exact_count_body(count_by, candidates)).body
    rows = counts_of(response, buckets)
    _say(output, f"{counted(total, request.kind)} for {text or '*'!r} by {count_by.value}")
    write_counts(rows, count_by.value, output)
    if request.count_fields(count_by) == [request.time_field] and (undated := total - sum(c for _, c in rows)):
        # Events without a date still match --since/--until by their article's time, but have no day to count on.
        _say(output, f"{counted(undated, 'undated ' + request.kind)} not in the histogram")
    return rows


def write_counts(rows: list[tuple[str, int]], label: str, output: OutputFormat) -> None:
    if output is OutputFormat.table:
        table = Table(label, "count", "", box=None)
        widest = max((count for _, count in rows), default=0)
        for key, count in rows:
            table.add_row(key, str(count), "█" * max(1 if count else 0, round(30 * count / widest)) if widest else "")
        console.print(table)
        return
    if output is OutputFormat.geojson:
        raise typer.BadParameter("counts have no coordinates; use table, jsonl, json or csv", param_hint="'--format'")
    records = [{label: key, "count": count} for key, count in rows]
    if output is OutputFormat.jsonl:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    elif output is OutputFormat.json:
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([label, "count"])
        writer.writerows(rows)
    sys.stdout.flush()


def _say(output: OutputFormat, message: str) -> None:
    """Notes for people: above a table, or on stderr so a program reading stdout gets only the data."""
    if output is OutputFormat.table:
        console.rule(message)
    else:
        Console(stderr=True).print(message, style="dim", highlight=False)


def _add_article_urls(client: Elasticsearch, articles_index: str, hits: list[Hit]) -> None:
    """Events indexed before they carried their articles' URLs: look the URLs up in the articles index."""
    from elasticsearch import NotFoundError

    wanted = sorted({a for hit in hits if not hit.record.get("articles") for a in hit.record.get("article_ids") or []})
    if not wanted:
        return
    try:
        response = client.mget(index=articles_index, ids=wanted, source_includes=["url"])
    except NotFoundError:
        return
    urls = {doc["_id"]: doc["_source"]["url"] for doc in response["docs"] if doc.get("found")}
    for hit in hits:
        hit.urls = [urls[a] for a in hit.record.get("article_ids") or [] if a in urls]


def register(app: typer.Typer) -> None:
    @app.command("setup")
    def setup_command(
        kibana_objects: Path = typer.Option(None, help="Kibana saved objects (.ndjson) to import"),
        upgrade_mappings: bool = typer.Option(
            False,
            "--upgrade-mappings",
            help="Add the fields a newer version's templates bring to the existing indices, in place "
            "(a changed field needs `pipeline reindex`)",
        ),
    ) -> None:
        """Create the Kafka topics, Elasticsearch templates/indices and Kibana saved objects (idempotent)."""
        setup_services(kibana_objects, upgrade_mappings=upgrade_mappings)

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
    @with_event_filter
    def search_command(
        text: str = typer.Argument(None, help="Full-text query (title and body; the evidence sentence with --events)"),
        events: bool = typer.Option(False, "--events", help="Search events instead of articles"),
        sort: SortOrder = typer.Option(
            SortOrder.newest, "--sort", case_sensitive=False, help="Order (confidence: events only)"
        ),
        page: int = typer.Option(1, "--page", min=1, help="Which page of results"),
        size: int = typer.Option(
            None,
            "--size",
            "-n",
            min=1,
            max=1000,
            help=f"Results per page (default 10); with --count-by, rows (default {DEFAULT_COUNT_BUCKETS})",
            show_default=False,
        ),
        count_by: CountBy = typer.Option(
            None, "--count-by", case_sensitive=False, help="Count the matches instead of listing them"
        ),
        output: OutputFormat = format_option(),
        *,
        event_filter: EventFilter,
    ) -> None:
        """Search indexed articles (or events with --events): full text, filters, newest first, counts.

        Examples: pipeline search missile --country "South Korea" --since 7d ·
        pipeline search --events --entity blinken --format jsonl · pipeline search --events --count-by day
        """
        try:
            if count_by is not None:
                print_counts(
                    text, count_by, event_filter=event_filter, events=events,
                    buckets=size or DEFAULT_COUNT_BUCKETS, output=output,
                )  # fmt: skip
            else:
                print_search(
                    text, event_filter=event_filter, events=events, sort=sort, page=page, size=size or 10,
                    output=output,
                )  # fmt: skip
        except SearchError as exc:
            raise typer.BadParameter(exc.detail, param_hint=f"'{exc.option}'") from None
        except FormatError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--format'") from None
