"""Elasticsearch client, readiness and index set-up (templates from ``schemas/elasticsearch``)."""

from __future__ import annotations

import time
from typing import Any

import structlog
from elasticsearch import Elasticsearch

from pipeline.contracts import index_template
from pipeline.settings import Settings

log = structlog.get_logger(__name__)


def make_client(settings: Settings) -> Elasticsearch:
    """A client for the configured node; credentials from the URL, or PIPELINE_ELASTICSEARCH_API_KEY."""
    security: dict[str, Any] = {}
    if settings.elasticsearch_api_key:
        security["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    if settings.elasticsearch_ca_certs:
        security["ca_certs"] = settings.elasticsearch_ca_certs
    return Elasticsearch(settings.elasticsearch, request_timeout=30, retry_on_timeout=True, max_retries=3, **security)


def wait_until_ready(client: Elasticsearch, timeout_seconds: float = 60.0) -> None:
    """Readiness by cluster health (the local test distribution has no ``GET /``, so no ping())."""
    deadline = time.monotonic() + timeout_seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            health = client.cluster.health(wait_for_status="yellow", timeout="5s")
            if health["status"] in ("yellow", "green"):
                return
        except Exception as exc:  # connection refused while the node starts
            last_error = exc
        time.sleep(1.0)
    raise RuntimeError(f"Elasticsearch at {client.transport.node_pool.all()} not ready: {last_error}")


def index_names(settings: Settings) -> dict[str, str]:
    return {"articles": settings.index_articles, "events": settings.index_events}


def ensure_indices(client: Elasticsearch, settings: Settings) -> None:
    """Install the index templates and create the indices (idempotent; templates are overwritten)."""
    for kind, index in index_names(settings).items():
        template = index_template(kind)
        client.indices.put_index_template(
            name=f"pipeline-{index}",  # per index, so parallel deployments (and tests) do not clash
            index_patterns=[f"{index}*"],
            priority=template["priority"],
            template=template["template"],
            meta=template["_meta"],
        )
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
            log.info("index created", index=index)
