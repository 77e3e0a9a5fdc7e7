"""Whole-request refusals from a real Elasticsearch node of the test's own: a request over the node's
``http.max_content_length`` (413) is split, and only a document too large by itself is dead-lettered;
refused credentials (401) and a role without write privileges (403) stop the indexer with a message and exit
code 77, its batch uncommitted and nothing dead-lettered.

Each test starts a dedicated node (tests/integration/es_node.py) from the devstack's distribution, so the
shared node is never reconfigured; Kafka is the configured broker.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.index.es import ensure_indices
from pipeline.index.sink import RequestRefused
from pipeline.kafka import ensure_topics
from pipeline.settings import Settings
from tests.integration.es_node import READER, WRITER, DedicatedNode, dedicated_es_node
from tests.integration.stages import (
    article,
    committed_lag,
    count,
    dead_letters,
    private_indices,
    private_settings,
    publish_articles,
    running_indexer,
    settings_env,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def small_requests_node(settings: Settings, kafka_bootstrap: str, es_url: str) -> Iterator[DedicatedNode]:
    with dedicated_es_node(settings, "small-requests", {"http.max_content_length": "32kb"}) as node:
        yield node


def test_a_bulk_request_over_the_node_limit_is_split_and_only_a_document_too_large_alone_is_dead_lettered(
    settings: Settings, small_requests_node: DedicatedNode
) -> None:
    private = private_settings(
        settings, "413", elasticsearch_url=small_requests_node.url, indexer_retry_max_seconds=2.0
    )
    ensure_topics(private)
    filler = "Ordinary reporting, a sentence at a time. " * 40  # ~1.7 kB: 40 of them exceed 32 kB together
    small = [article(n, "fits").model_copy(update={"text": filler}) for n in range(40)]
    huge = article(99, "huge").model_copy(update={"text": "x" * 60_000})  # over 32 kB by itself
    with private_indices(private) as es:
        publish_articles(private, [*small[:20], huge, *small[20:]])
        with running_indexer(private) as runner:
            wait_for(lambda: count(es, private.index_articles) == 40, "every article that fits indexed")
            wait_for(lambda: len(dead_letters(private)) == 1, "the huge article dead-lettered")
            assert runner.alive() and runner.error is None, f"the indexer stopped: {runner.error!r}"
        assert not Elasticsearch(small_requests_node.url).exists(index=private.index_articles, id=huge.article_id)
    (letter,) = dead_letters(private)
    assert letter.key == huge.article_id and "request_entity_too_large" in letter.reason
    assert letter.original_payload() == huge.to_json_bytes()


@pytest.fixture(scope="module")
def secured_node(settings: Settings, kafka_bootstrap: str, es_url: str) -> Iterator[DedicatedNode]:
    with dedicated_es_node(settings, "secured", {}, security=True) as node:
        yield node


def admin(node: DedicatedNode) -> Elasticsearch:
    assert node.auth is not None
    return Elasticsearch(node.url, basic_auth=node.auth, request_timeout=30)


def authenticates(node: DedicatedNode, user: tuple[str, str]) -> bool:
    return httpx.get(f"{node.url}/_security/_authenticate", auth=user, timeout=10).status_code == 200


def stopped_with_refusal(settings: Settings, status: int) -> None:
    """Run ``pipeline index`` as an operator would; it must stop at once with a message and exit code 77."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "index"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**settings_env(settings), "COLUMNS": "200"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 77, output  # EX_NOPERM
    assert f"refused the indexer's request ({status})" in output and "Traceback" not in output, output


def test_credentials_revoked_mid_run_stop_the_indexer_with_a_message(
    settings: Settings, secured_node: DedicatedNode
) -> None:
    es = admin(secured_node)
    private = private_settings(settings, "401", elasticsearch_url=secured_node.url_as(WRITER))
    ensure_topics(private)
    users = secured_node.config / "users"
    kept = users.read_text()
    try:
        with running_indexer(private) as runner:
            publish_articles(private, [article(1, "before")])
            wait_for(lambda: count(es, private.index_articles) == 1, "the first article indexed")
            # The user removed, as an operator revoking it would; the file realm reloads the file by itself.
            users.write_text("".join(line + "\n" for line in kept.splitlines() if not line.startswith(WRITER[0] + ":")))
            wait_for(lambda: not authenticates(secured_node, WRITER), "the node to drop the user", timeout=60)
            publish_articles(private, [article(2, "after")])
            wait_for(lambda: not runner.alive(), "the indexer to stop", timeout=90)
        assert isinstance(runner.error, RequestRefused) and runner.error.status == 401, repr(runner.error)
        assert committed_lag(private) == 1 and dead_letters(private) == [], "the refused batch must stay uncommitted"
        stopped_with_refusal(private, 401)  # and at start-up, without waiting for the node
    finally:
        users.write_text(kept)
        es.indices.delete(index=f"{private.index_articles}*,{private.index_events}*", ignore_unavailable=True)


def test_a_role_without_write_privileges_stops_the_indexer_with_a_message(
    settings: Settings, secured_node: DedicatedNode
) -> None:
    es = admin(secured_node)
    private = private_settings(settings, "403", elasticsearch_url=secured_node.url_as(READER))
    ensure_topics(private)
    ensure_indices(es, private)  # made by an administrator; the indexer's role may only read them
    try:
        publish_articles(private, [article(1, "not-permitted")])
        with running_indexer(private) as runner:
            wait_for(lambda: not runner.alive(), "the indexer to stop", timeout=90)
        assert isinstance(runner.error, RequestRefused) and runner.error.status == 403, repr(runner.error)
        assert "security_exception" in runner.error.reason
        assert count(es, private.index_articles) == 0
        assert committed_lag(private) == 1 and dead_letters(private) == [], "the refused batch must stay uncommitted"
        stopped_with_refusal(private, 403)
    finally:
        es.indices.delete(index=f"{private.index_articles}*,{private.index_events}*", ignore_unavailable=True)


def test_setup_with_refused_credentials_says_so_at_once_instead_of_waiting_for_the_node(
    settings: Settings, secured_node: DedicatedNode
) -> None:
    wrong = (READER[0], "not-the-password")
    private = private_settings(settings, "auth", elasticsearch_url=secured_node.url_as(wrong))
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "setup"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**settings_env(private), "PIPELINE_SERVICE_WAIT_SECONDS": "60", "COLUMNS": "200"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 77, output  # EX_NOPERM, not "not ready" after the 60 s wait
    assert "refused the credentials (401)" in output and "Traceback" not in output, output
    assert "not-the-password" not in output
    assert time.monotonic() - began < 45, "setup waited for a node that had answered"
