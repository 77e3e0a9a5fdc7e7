"""Expected failures against the real services are messages too: a missing index, a dead Elasticsearch
behind a live broker (the wait is announced, then given up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from kafka import KafkaAdminClient

from pipeline.errors import EXIT_NOT_FOUND, EXIT_UNAVAILABLE
from tests.unit.test_cli_errors import assert_message, run_pipeline


def test_searching_a_missing_index_says_to_run_setup(es_url: str) -> None:
    missing = f"it-missing-{uuid.uuid4().hex[:8]}"
    result = run_pipeline(
        "search", "missile", env={"PIPELINE_ELASTICSEARCH_URL": es_url, "PIPELINE_INDEX_ARTICLES": missing}
    )
    assert_message(result, exit_code=EXIT_NOT_FOUND, says=f"index '{missing}' does not exist", where=es_url)
    assert "pipeline setup" in result.stderr


def test_setup_waits_for_elasticsearch_out_loud_then_gives_up(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = {f"PIPELINE_TOPIC_{name}": f"it-cli-{suffix}-{name.lower()}" for name in ("RAW", "ENRICHED", "EVENTS")}
    topics["PIPELINE_TOPIC_DEAD_LETTER"] = f"it-cli-{suffix}-dead"
    try:
        result = run_pipeline(
            "setup",
            env={"PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "PIPELINE_SERVICE_WAIT_SECONDS": "3", **topics},
        )
    finally:
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-cli-messages")
        try:
            created = set(topics.values()) & set(admin.list_topics())
            if created:
                admin.delete_topics(sorted(created))
        finally:
            admin.close()
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="Elasticsearch not ready after 3s", where="127.0.0.1:1")
    assert "waiting up to 3s for Elasticsearch at http://127.0.0.1:1" in result.stderr


def test_the_indexer_says_what_it_waits_for(kafka_bootstrap: str) -> None:
    """A long-running stage rides out an outage (it waits as long as it takes), but not in silence."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    environment.update(
        PIPELINE_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PIPELINE_ELASTICSEARCH_URL="http://127.0.0.1:1",
        PIPELINE_INDEXER_GROUP=f"it-cli-{uuid.uuid4().hex[:8]}",
    )
    indexer = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "index"], stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        assert indexer.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "waiting for Elasticsearch" not in line:
            line = indexer.stderr.readline()
        assert "waiting for Elasticsearch" in line and "http://127.0.0.1:1" in line, line
    finally:
        indexer.send_signal(signal.SIGINT)
        try:
            indexer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            indexer.kill()
            indexer.wait()
