"""The pipeline on a real cluster: replicated topics and indices, and failover without loss (issue 13)."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from benchmarks.cluster_failover import SCENARIOS, run_scenario, settings_from_env
from pipeline.index.es import delete_indices, ensure_indices, make_client
from pipeline.kafka import client_options, ensure_topics
from pipeline.settings import Settings

pytestmark = pytest.mark.cluster


def test_topics_and_indices_are_replicated(cluster_env: dict[str, str]) -> None:
    run = uuid.uuid4().hex[:8]
    settings = settings_from_env(
        cluster_env,
        topic_raw=f"cluster-{run}.raw",
        index_articles=f"cluster-{run}-articles",
        index_events=f"cluster-{run}-events",
    )
    assert (settings.topic_replication, settings.topic_min_insync_replicas, settings.index_replicas) == (3, 2, 1)
    ensure_topics(settings, [settings.topic_raw])
    admin = KafkaAdminClient(**client_options(settings))
    es = make_client(settings)
    try:
        deadline = time.monotonic() + 30
        while not (partitions := admin.describe_topics([settings.topic_raw])[0]["partitions"]):
            assert time.monotonic() < deadline, "the new topic's partitions never showed up in the metadata"
            time.sleep(0.5)  # a just-created topic reaches every broker's metadata a moment later
        assert {len(p["replicas"]) for p in partitions} == {3}
        config = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic_raw)])
        entries = {entry[0]: entry[1] for entry in config[0].resources[0][4]}
        assert entries["min.insync.replicas"] == "2"

        ensure_indices(es, settings)
        for alias in (settings.index_articles, settings.index_events):
            (index_settings,) = es.indices.get_settings(index=alias).values()
            assert index_settings["settings"]["index"]["number_of_replicas"] == "1"
        health = es.cluster.health(index=settings.index_articles, wait_for_status="green", timeout="60s")
        assert health["status"] == "green", "the replica is allocated on the other node"
    finally:
        admin.delete_topics([settings.topic_raw])
        admin.close()
        delete_indices(es, settings)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_failover_loses_nothing(scenario: str, stack: Settings, cluster_env: dict[str, str]) -> None:
    result = run_scenario(
        scenario,
        SCENARIOS[scenario],
        stack=stack,
        articles_count=60,
        rate=3.0,
        kill_after=5.0,
        down_seconds=15.0,
        partitions=4,
        timeout=600.0,
    )
    print(result)
    assert result.lost == 0, result
    assert result.ok, result
