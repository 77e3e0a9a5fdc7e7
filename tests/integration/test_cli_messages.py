"""Expected failures against the real services are messages too: a missing index, a dead Elasticsearch
behind a live broker (the wait is announced, then given up)."""

from __future__ import annotations

import uuid

from kafka import KafkaAdminClient

from pipeline.errors import EXIT_NOT_FOUND, EXIT_UNAVAILABLE
from tests.cli_runs import assert_message, run_pipeline


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


def test_index_waits_for_elasticsearch_out_loud_then_gives_up(kafka_bootstrap: str) -> None:
    result = run_pipeline(
        "index",
        "--idle-exit",
        "1",
        env={
            "PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PIPELINE_INDEXER_GROUP": f"it-cli-{uuid.uuid4().hex[:8]}",
            "PIPELINE_SERVICE_WAIT_SECONDS": "3",
        },
    )
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="Elasticsearch not ready after 3s", where="127.0.0.1:1")
    assert "waiting up to 3s for Elasticsearch at http://127.0.0.1:1" in result.stderr
