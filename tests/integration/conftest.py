"""Fixtures for tests that talk to the real Kafka broker and Elasticsearch node.

The services come from the settings (PIPELINE_KAFKA_BOOTSTRAP / PIPELINE_ELASTICSEARCH_URL, which
``./run test`` exports after starting the devstack; unset means the devstack's default ports). Nothing is
started or faked here: an unreachable service fails the tests that need it, loudly, instead of skipping.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from pipeline.settings import Settings

_HOW_TO_START = (
    "Integration tests need the real services. Use `./run test` (starts and stops them), or start them "
    "with `./run up` (= `pipeline devstack up`) before running pytest, or point "
    "PIPELINE_KAFKA_BOOTSTRAP / PIPELINE_ELASTICSEARCH_URL at running ones."
)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings with both service addresses filled in explicitly, so code under test never guesses."""
    configured = Settings()
    return configured.model_copy(
        update={"kafka_bootstrap": configured.kafka, "elasticsearch_url": configured.elasticsearch}
    )


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: Settings) -> str:
    bootstrap = settings.kafka_bootstrap
    # kafka-python logs each refused connection; the failure message below says it once, clearly.
    kafka_logger = logging.getLogger("kafka")
    kafka_logger.setLevel(logging.CRITICAL)
    problem = ""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="it-reachability",
            request_timeout_ms=10_000,
            api_version_auto_timeout_ms=5_000,
        )
        try:
            if not admin.describe_cluster().get("brokers"):
                problem = "it answers but reports no brokers"
        finally:
            admin.close()
    except Exception as exc:
        problem = f"unreachable: {exc!r}"
    finally:
        kafka_logger.setLevel(logging.NOTSET)
    # Failing outside the except block keeps the report to this one message, without a chained traceback.
    if problem:
        pytest.fail(f"Kafka at {bootstrap}: {problem}. {_HOW_TO_START}", pytrace=False)
    return bootstrap


@pytest.fixture(scope="session")
def es_url(settings: Settings) -> str:
    url = settings.elasticsearch_url
    problem = ""
    try:
        # Cluster health, not `GET /`: the devstack's integ-test-zip build has no rest-root endpoint.
        response = httpx.get(
            f"{url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "10s"}, timeout=15
        )
        response.raise_for_status()
        status = response.json().get("status")
        if status not in ("yellow", "green"):
            problem = f"cluster health is {status!r}"
    except (httpx.HTTPError, ValueError) as exc:
        problem = f"unreachable: {exc!r}"
    if problem:
        pytest.fail(f"Elasticsearch at {url}: {problem}. {_HOW_TO_START}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def es_client(es_url: str) -> Elasticsearch:
    return Elasticsearch(es_url, request_timeout=30)
