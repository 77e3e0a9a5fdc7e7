"""Expected failures against the real services are messages too: a missing index, a dead Elasticsearch
behind a live broker (the wait is announced, then given up)."""

from __future__ import annotations

import uuid

from pipeline.errors import EXIT_NOT_FOUND, EXIT_UNAVAILABLE
from tests.unit.test_cli_errors import assert_message, run_pipeline


def test_searching_a_missing_index_says_to_run_setup(es_url: str) -> None:
    missing = f"it-missing-{uuid.uuid4().hex[:8]}"
    result = run_pipeline(
        "search", "missile", env={"PIPELINE_ELASTICSEARCH_URL": es_url, "PIPELINE_INDEX_ARTICLES": missing}
    )
    assert_message(result, exit_code=EXIT_NOT_FOUND, says=f"index '{missing}' does not exist", where=es_url)
    assert "pipeline setup" in result.stderr


def test_index_waits_for_elasticsearch_out_loud_then_gives_up(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    result = run_pipeline(
        "index",
        "--idle-exit",
        "1",
        env={
            "PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PIPELINE_INDEXER_GROUP": f"it-cli-{suffix}",
            "PIPELINE_SERVICE_WAIT_SECONDS": "3",
        },
    )
    assert_message(result, exit_code=EXIT_UNAVAILABLE, says="Elasticsearch not ready after 3s", where="127.0.0.1:1")
    assert "waiting up to 3s for Elasticsearch at http://127.0.0.1:1" in result.stderr
