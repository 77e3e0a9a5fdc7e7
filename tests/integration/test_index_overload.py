"""Backpressure from a real overloaded Elasticsearch node: per-item 429s are held, never dead-lettered.

A dedicated two-node cluster (tests/integration/es_node.py): node 1 is the master the indexer talks to, node 2
a data node with ``indexing_pressure.memory.limit: 1b``, and every shard is allocated to node 2. Node 1
coordinates each bulk request and node 2 rejects every primary write, so the bulk answers 200 with each item
``429 es_rejected_execution_exception: rejected execution of primary operation``: the per-item backpressure of
a busy data node. (Sent to node 2 directly, the whole request is refused with 429 instead, at coordination.)
The overload is lifted as an operator would drain the busy node: its shards are moved to node 1, which writes
them without the limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from pipeline.kafka import ensure_topics
from pipeline.records import Event
from pipeline.settings import Settings
from tests.factories import sample_event
from tests.integration.es_node import DedicatedCluster, dedicated_es_cluster
from tests.integration.stages import (
    article,
    committed_lag,
    count,
    dead_letters,
    private_indices,
    private_settings,
    publish_articles,
    publish_events,
    running_indexer,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# More attempts at the batch than the code before the fix ever made: it retried the batch's articles in place 6
# times (backoffs of at most 0.5·2^n s, ≤ 31.5 s), then its events, and then dead-lettered both. Waiting for the
# attempts, not for a time that outlasts them, takes about 12 s at the test's 2 s backoff cap instead of 42 s.
ATTEMPTS_BEYOND_THE_OLD_BUDGET = 8


@pytest.fixture(scope="module")
def overloaded_cluster(settings: Settings, kafka_bootstrap: str, es_url: str) -> Iterator[DedicatedCluster]:
    with dedicated_es_cluster(settings, "overload", [{}, {"indexing_pressure.memory.limit": "1b"}]) as cluster:
        yield cluster


def allocate_shards_to(es: Elasticsearch, cluster: DedicatedCluster, node: int) -> None:
    """Every shard, present and future, on node ``node`` only (0-based), by excluding the others."""
    others = ",".join(name for j, name in enumerate(cluster.names) if j != node)
    es.cluster.put_settings(persistent={"cluster.routing.allocation.exclude._name": others})


def primary_rejections(es: Elasticsearch, node_name: str) -> int:
    """Primary writes the node refused for indexing pressure (its 429s), since it started."""
    stats = es.nodes.stats(node_id=node_name, metric="indexing_pressure")
    (node,) = stats["nodes"].values()
    return int(node["indexing_pressure"]["memory"]["total"]["primary_rejections"])


def reports(n_events: int) -> list[Event]:
    """A report of each of ``n_events`` events, and a second report of the first one (merged when indexed)."""
    base = sample_event()
    events = [
        base.model_copy(update={"event_id": f"evt_overload_{n}", "article_id": f"art_overload_{n}",
                                "article_ids": [f"art_overload_{n}"]})
        for n in range(n_events)
    ]  # fmt: skip
    second = events[0].model_copy(update={"article_id": "art_overload_x", "article_ids": ["art_overload_x"]})
    return [*events, second]


def test_per_item_429s_from_an_overloaded_node_are_held_until_it_recovers_and_nothing_is_dead_lettered(
    settings: Settings, overloaded_cluster: DedicatedCluster
) -> None:
    cluster = overloaded_cluster
    private = private_settings(settings, "429", elasticsearch_url=cluster.urls[0], indexer_retry_max_seconds=2.0)
    ensure_topics(private)
    articles = [article(n, "overload") for n in range(8)]
    events = reports(3)
    with private_indices(private) as es:
        allocate_shards_to(es, cluster, 1)
        rejected_before = primary_rejections(es, cluster.names[1])
        publish_articles(private, articles)
        publish_events(private, events)
        with running_indexer(private) as runner:
            wait_for(
                lambda: primary_rejections(es, cluster.names[1]) > rejected_before,
                "the overloaded node to reject the indexer's writes (429)",
            )
            held_since = time.monotonic()

            def held_without_loss() -> bool:
                letters = dead_letters(private)
                held = time.monotonic() - held_since
                assert letters == [], f"{len(letters)} document(s) dead-lettered after {held:.0f}s: {letters[0].reason}"
                assert runner.alive(), f"the indexer stopped: {runner.error!r}"
                return runner.article_writes >= ATTEMPTS_BEYOND_THE_OLD_BUDGET

            wait_for(held_without_loss, f"{ATTEMPTS_BEYOND_THE_OLD_BUDGET} attempts at the held batch", timeout=180)
            assert committed_lag(private) == len(articles) + len(events), "offsets moved on while the batch was held"
            assert count(es, private.index_articles) == 0 and count(es, private.index_events) == 0
            assert primary_rejections(es, cluster.names[1]) > rejected_before + 3, "the indexer stopped retrying"

            allocate_shards_to(es, cluster, 0)  # the busy node drained: its shards move to node 1
            wait_for(
                lambda: count(es, private.index_articles) == len(articles) and count(es, private.index_events) == 3,
                "every article and event indexed once the overload is gone",
            )
            wait_for(lambda: committed_lag(private) == 0, "the batch's offsets committed")
            assert runner.alive() and runner.error is None, f"the indexer stopped: {runner.error!r}"
        indexed = {hit["_id"] for hit in es.search(index=private.index_articles, size=100)["hits"]["hits"]}
        assert indexed == {a.article_id for a in articles}
        merged = es.get(index=private.index_events, id="evt_overload_0")["_source"]
        assert merged["article_ids"] == ["art_overload_0", "art_overload_x"]
    assert dead_letters(private) == []
