"""``pipeline demo``: the main job. The whole pipeline on the bundled sample feed, nothing configured.

1. Kafka and Elasticsearch: the configured ones, else the local stack (``pipeline devstack``) is started.
2. Topics, index templates and indices are set up.
3. The bundled sample feed and article pages are served on 127.0.0.1 (``PIPELINE_DEMO_PORT``).
4. The collector polls the feed once and publishes the articles to ``articles.raw``.
5. An enricher worker (Faust, a subprocess) and the indexer (a thread) run until both have caught up.
6. A summary (articles, entities, events per type) and sample searches are printed.

The services stay up afterwards so the results can be explored (``pipeline search``, Kibana under compose);
``./run down`` stops the local stack. The demo records the local stack as its own (``devstack.holder``): once
the demo has exited, ``./run test`` takes it over, injects its faults into it and stops it when done; ``./run up``
afterwards makes it the user's, which ``./run test`` only reuses.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.errors import PipelineError, ServiceTimeout, ServiceUnavailable
from pipeline.redact import redact_url
from pipeline.settings import Settings, get_settings

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
console = Console()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the demo's own progress is the log
        return


@contextmanager
def serve_samples(port: int) -> Iterator[str]:
    """Serve ``pipeline/samples`` on 127.0.0.1:port for as long as the block runs."""
    handler = functools.partial(_QuietHandler, directory=str(SAMPLES_DIR))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:  # the port is taken (another demo?) or not ours to use: a message, not a traceback
        raise ServiceUnavailable(
            f"the demo cannot serve its sample feed on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint=f"another demo may be running (`ss -ltnp 'sport = :{port}'`); or set PIPELINE_DEMO_PORT=<a free port>",
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="sample-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def enricher_process(settings: Settings, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One Faust enricher worker in a subprocess (Faust owns its event loop and signals)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PIPELINE_KAFKA_BOOTSTRAP=settings.kafka, PIPELINE_ELASTICSEARCH_URL=settings.elasticsearch)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _count(lag: int | None) -> str:
    return "?" if lag is None else str(lag)


def _wait_caught_up(settings: Settings, enricher: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    from pipeline.kafka import LagProbe

    deadline = time.monotonic() + timeout
    probe = LagProbe(settings)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)
    with progress as bar, contextlib.closing(probe):
        task = bar.add_task("enriching and indexing")
        while True:
            if enricher.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise PipelineError(
                    f"the enricher exited with {enricher.returncode}; the end of its log:\n{tail}", where=str(log_path)
                )
            enrich_lag = probe.lag(settings.enricher_group, [settings.topic_raw])
            index_lag = probe.lag(settings.indexer_group, [settings.topic_enriched, settings.topic_events])
            bar.update(
                task,
                description=f"enriching and indexing: {_count(enrich_lag)} to enrich, {_count(index_lag)} to index",
            )
            if enrich_lag == 0 and index_lag == 0:
                return
            if time.monotonic() > deadline:
                raise ServiceTimeout(
                    f"the pipeline did not catch up within {timeout:.0f}s",
                    where=str(log_path),
                    hint="a slow or busy machine: allow more time with `pipeline demo --max-wait 600`",
                )
            time.sleep(1.0)


def print_summary(settings: Settings) -> None:
    from pipeline.index.es import make_client

    client = make_client(settings)
    client.indices.refresh(index=[settings.index_articles, settings.index_events])
    articles = client.search(
        index=settings.index_articles,
        size=0,
        aggs={
            "labels": {"terms": {"field": "entities.label", "size": 10}},
            "distinct": {"cardinality": {"field": "entities.name"}},
            "entities": {"terms": {"field": "entities.name", "size": 12}},
        },
    )
    events = client.search(
        index=settings.index_events, size=0, aggs={"types": {"terms": {"field": "event_type", "size": 16}}}
    )
    summary = Table(title="What the pipeline found", show_header=False)
    summary.add_row("articles indexed", str(articles["hits"]["total"]["value"]))
    summary.add_row("events indexed", str(events["hits"]["total"]["value"]))
    summary.add_row("distinct entities", str(articles["aggregations"]["distinct"]["value"]))
    summary.add_row(
        "articles per entity type",
        ", ".join(f"{b['key']} {b['doc_count']}" for b in articles["aggregations"]["labels"]["buckets"]),
    )
    summary.add_row(
        "entities in most articles",
        ", ".join(f"{b['key']} ({b['doc_count']})" for b in articles["aggregations"]["entities"]["buckets"]),
    )
    summary.add_row(
        "events per type",
        ", ".join(f"{b['key']} {b['doc_count']}" for b in events["aggregations"]["types"]["buckets"]),
    )
    console.print(summary)


def run_demo(query: str, timeout: float) -> None:
    from pipeline.index.cli import print_search, setup_services

    settings = get_settings()
    local_stack = not settings.services_configured
    if local_stack:
        from pipeline.devstack.holder import Holder
        from pipeline.devstack.stack import ensure_up

        console.rule("Local services")
        # As the demo's: kept for the user's searches, and `./run test` may take it over once the demo has exited.
        info = ensure_up(settings, console=console, claimant=Holder.tool("demo", os.getpid()))
        os.environ.update(info.env())  # addresses, and the replication a cluster allows
        get_settings.cache_clear()
        settings = get_settings()
    console.rule("Set-up")
    setup_services()

    log_path = settings.data_dir / "logs" / "enricher.log"
    with serve_samples(settings.demo_port) as base_url:
        # The sample server is ours and local: allow its address and skip the politeness delay.
        os.environ["PIPELINE_ALLOW_PRIVATE_HOSTS"] = '["127.0.0.1"]'
        os.environ.setdefault("PIPELINE_PER_HOST_MIN_INTERVAL_SECONDS", "0")
        get_settings.cache_clear()
        settings = get_settings()
        console.rule("Collect")
        from pipeline.collect.collector import collect_once

        # Each demo collects the samples afresh: a collector state kept from an earlier run would publish
        # nothing after `./run down` wiped the stack. Re-publishing is harmless (same ids, idempotent writes).
        with tempfile.TemporaryDirectory(prefix="pipeline-demo-") as state_dir:
            fresh = settings.model_copy(update={"state_path": Path(state_dir) / "collector.sqlite3"})
            report = collect_once(fresh, [f"{base_url}/feed.xml"])
        console.print(report.table())

    console.rule("Enrich and index")
    from pipeline.index.indexer import Indexer

    indexer = Indexer(settings)
    indexer_thread = threading.Thread(target=indexer.run, name="indexer", daemon=True)
    with enricher_process(settings, log_path) as enricher:
        indexer_thread.start()
        try:
            _wait_caught_up(settings, enricher, log_path, timeout)
        finally:
            indexer.stop()
            indexer_thread.join(timeout=30)

    console.rule("Results")
    print_summary(settings)
    print_search(query, size=5)
    print_search(None, events=True, size=8)
    console.print(
        f"Elasticsearch: {redact_url(settings.elasticsearch)} "
        f"(indices {settings.index_articles}, {settings.index_events})\n"
        f"Kafka: {settings.kafka} (subscribe: pipeline subscribe --from-beginning)\n"
        "Kibana: with docker compose at http://localhost:5601 (dashboard 'News events')\n"
        f"Try: pipeline search {query!r} --type CONSULT · pipeline search --events --country KOR\n"
        "A topic of your own: pipeline subscriptions add korea --country KOR --min-confidence 0.6 "
        "(docs/subscribers.md)"
    )
    if local_stack:
        console.print(
            "The local stack stays up for your searches: ./run down stops it "
            "(./run test takes it over and stops it when done; ./run up keeps it for you)"
        )


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        query: str = typer.Option("missile", help="The sample search to print at the end"),
        max_wait: float = typer.Option(
            300, "--max-wait", min=1, help="Seconds to wait in all for enrichment and indexing"
        ),
    ) -> None:
        """The main job: run the whole pipeline on the bundled sample feed and print what it found."""
        run_demo(query, max_wait)
