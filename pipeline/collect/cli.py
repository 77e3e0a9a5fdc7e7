"""``pipeline collect`` and ``pipeline feeds-survey``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.collect.feedlist import (
    FeedConfig,
    FeedsFileError,
    feeds_from_sources,
    load_feeds_file,
    with_fixed_interval,
)
from pipeline.settings import Settings, get_settings

if TYPE_CHECKING:  # the collector pulls in datasketch/scipy: imported when a command runs, not for --help
    from pipeline.collect.collector import CollectReport, FeedReport
    from pipeline.collect.publisher import Publisher
    from pipeline.collect.state import StateStore

console = Console(stderr=False)
log = structlog.get_logger(__name__)


def _select_feeds(sources: list[str], feeds_file: Path | None, interval: float | None) -> list[FeedConfig]:
    feeds = feeds_from_sources(sources)
    if feeds_file is not None:
        try:
            feeds += load_feeds_file(feeds_file)
        except (OSError, FeedsFileError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--feeds") from exc
    if not feeds:
        raise typer.BadParameter("give feed URLs or paths, or --feeds FILE")
    return with_fixed_interval(feeds, interval) if interval else feeds


def record_feed_metrics(feed: FeedReport) -> None:
    from pipeline.metrics import ARTICLES_PUBLISHED, FEEDS_POLLED, ITEMS_COLLECTED, LAST_PROGRESS

    FEEDS_POLLED.labels(feed.status).inc()
    for outcome in ("new", "updated", "duplicate", "unchanged", "rejected", "retry"):
        if count := getattr(feed, outcome):
            ITEMS_COLLECTED.labels(outcome).inc(count)
    ARTICLES_PUBLISHED.inc(len(feed.published))
    LAST_PROGRESS.labels("collect").set_to_current_time()


async def _run(
    settings: Settings,
    feeds: list[FeedConfig],
    *,
    once: bool,
    publisher: Publisher,
    store: StateStore,
) -> CollectReport | None:
    from pipeline.collect.collector import Collector
    from pipeline.collect.fetch import Fetcher

    enabled = [f for f in feeds if f.enabled]
    progress = Progress(
        TextColumn("[bold]collecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )

    async with Fetcher(settings) as fetcher:
        collector = Collector(settings, publisher=publisher, store=store, fetcher=fetcher)
        with progress:
            task = progress.add_task("", total=len(enabled))

            def advance(feed: FeedReport) -> None:
                progress.update(task, advance=1, description=feed.label)
                record_feed_metrics(feed)

            if once:
                return await collector.run_once(enabled, on_feed_done=advance)

            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)

            def round_done(report: CollectReport) -> None:
                progress.reset(task, total=len(enabled))
                totals = report.totals()
                progress.console.print(
                    f"round: {totals['feeds_polled']} feeds, {totals['new']} new, {totals['updated']} updated, "
                    f"{totals['duplicate']} duplicate, {totals['rejected']} rejected"
                )

            await collector.run_forever(enabled, stop, on_round=round_done, on_feed_done=advance)
            return None


def collect_command(
    sources: list[str] = typer.Argument(None, help="Feed URLs or local feed files", show_default=False),
    feeds_file: Path | None = typer.Option(None, "--feeds", help="YAML or TOML file listing feeds"),
    once: bool = typer.Option(False, "--once", help="Poll every feed once, print a summary and exit"),
    interval: float | None = typer.Option(
        None, "--interval", min=1.0, help="Poll every feed every S seconds (turns adaptive intervals off)"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Publish nothing and keep no state: show what would be collected"
    ),
) -> None:
    """Poll RSS/Atom/JSON feeds, extract new articles and publish them to Kafka (articles.raw)."""
    from pipeline.collect.publisher import KafkaPublisher, MemoryPublisher
    from pipeline.collect.state import StateStore
    from pipeline.metrics import start_metrics_server

    settings = get_settings()
    feeds = _select_feeds(sources or [], feeds_file, interval)
    if not dry_run:
        start_metrics_server(settings)
    publisher: Publisher = MemoryPublisher() if dry_run else KafkaPublisher(settings)
    store = StateStore(":memory:" if dry_run else settings.state_path)
    try:
        report = asyncio.run(_run(settings, feeds, once=once or dry_run, publisher=publisher, store=store))
    finally:
        publisher.close()
        store.close()
    if report is not None:
        console.print(report.table())
        if dry_run and isinstance(publisher, MemoryPublisher):
            for article in publisher.articles:
                console.print(f"would publish {article.article_id} r{article.revision}: {article.title[:80]}")
        if report.failed_feeds == report.feeds_polled and report.feeds_polled:
            from pipeline.errors import EXIT_UNAVAILABLE

            raise typer.Exit(code=EXIT_UNAVAILABLE)  # not one feed could be read


def survey_command(
    directory: Path | None = typer.Argument(None, help="Directory of feed files (default: feedparser's test corpus)"),
) -> None:
    """Parse every feed file in a directory and count parsed / parsed with warnings / rejected."""
    from pipeline.collect.survey import main

    raise typer.Exit(code=main([str(directory)] if directory else []))


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_command)
    app.command("feeds-survey")(survey_command)
