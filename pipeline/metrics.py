"""Prometheus metrics shared by the stages. Exposed over HTTP when ``PIPELINE_METRICS_PORT`` is set."""

from __future__ import annotations

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from pipeline.settings import Settings

FEEDS_POLLED = Counter(
    "pipeline_feeds_polled_total", "Feed polls by outcome (ok, not_modified, failed, ...)", ["status"]
)
ITEMS_COLLECTED = Counter(
    "pipeline_items_collected_total", "Feed items by outcome (new, updated, duplicate, rejected, ...)", ["outcome"]
)
ARTICLES_PUBLISHED = Counter("pipeline_articles_published_total", "Articles the collector sent to articles.raw")
LAST_PROGRESS = Gauge(
    "pipeline_last_progress_timestamp_seconds", "Unix time a stage last finished a unit of work", ["stage"]
)
ARTICLES_ENRICHED = Counter("pipeline_articles_enriched_total", "Articles enriched")
ARTICLES_NOT_EXTRACTED = Counter(
    "pipeline_articles_not_extracted_total",
    "Enriched articles whose entities or events were not extracted, by what and the article's language",
    ["what", "language"],
)
EVENTS_CODED = Counter("pipeline_events_coded_total", "Events coded", ["event_type"])
DOCUMENTS_INDEXED = Counter("pipeline_documents_indexed_total", "Documents written to Elasticsearch", ["kind"])
DEAD_LETTERS = Counter("pipeline_dead_letters_total", "Messages or items dead-lettered", ["stage"])
ENRICH_BATCH_SECONDS = Histogram(
    "pipeline_enrich_batch_seconds",
    "Time to enrich one batch",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)


def start_metrics_server(settings: Settings) -> bool:
    """Serve /metrics on the configured port; returns whether it was started.

    A port already taken (say, a second stage started with the same PIPELINE_METRICS_PORT) costs the
    metrics, not the stage: it is logged and the stage runs on.
    """
    if not settings.metrics_port:
        return False
    try:
        start_http_server(settings.metrics_port, addr="0.0.0.0")  # scraped from other containers
    except OSError as exc:
        structlog.get_logger(__name__).warning(
            "metrics not served: the port is taken", port=settings.metrics_port, error=str(exc)
        )
        return False
    return True
