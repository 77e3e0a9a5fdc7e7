"""Smoke tests of the real services with each client library the pipeline uses.

They prove the stack is usable (not the pipeline's logic): each test works on its own uniquely named
topic or index and removes it afterwards, so they can run against a shared, long-lived stack.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from elasticsearch import Elasticsearch, helpers
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.protocol.broker_api_versions import BROKER_API_VERSIONS

pytestmark = pytest.mark.integration


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def admin(kafka_bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-services")
    yield client
    client.close()


@pytest.fixture()
def es_index(es_client: Elasticsearch) -> Iterator[str]:
    name = _unique("it-services")
    yield name
    es_client.indices.delete(index=name, ignore_unavailable=True)


# --- Elasticsearch ---------------------------------------------------------------------------------


def test_elasticsearch_bulk_index_and_search(es_client: Elasticsearch, es_index: str) -> None:
    # The standard analyzer: this distribution has no analysis-common module, so no "english".
    es_client.indices.create(
        index=es_index,
        mappings={"properties": {"title": {"type": "text"}, "country": {"type": "keyword"}}},
        settings={"number_of_shards": 1, "number_of_replicas": 0},
    )
    docs = [
        ("a1", "Protests in Seoul after martial law declaration", "KOR"),
        ("a2", "Ceasefire talks resume in Doha", "QAT"),
        ("a3", "Seoul court issues arrest warrant", "KOR"),
    ]
    ok, errors = helpers.bulk(
        es_client,
        ({"_index": es_index, "_id": i, "title": t, "country": c} for i, t, c in docs),
        refresh="wait_for",
    )
    assert (ok, errors) == (3, [])

    found = es_client.search(
        index=es_index,
        query={"bool": {"must": {"match": {"title": "seoul"}}, "filter": {"term": {"country": "KOR"}}}},
    )
    assert sorted(hit["_id"] for hit in found["hits"]["hits"]) == ["a1", "a3"]
    assert es_client.count(index=es_index)["count"] == 3


def test_elasticsearch_reports_version_and_product_header(es_client: Elasticsearch) -> None:
    health = es_client.cluster.health()
    # The 8.x client refuses servers without this header; assert it explicitly anyway.
    assert health.meta.headers.get("X-Elastic-Product") == "Elasticsearch"
    assert health["status"] in ("yellow", "green")

    nodes = es_client.nodes.info(node_id="_local", filter_path="nodes.*.version")
    versions = {node["version"] for node in nodes["nodes"].values()}
    assert len(versions) == 1
    assert versions.pop().startswith("8.19.")


# --- Kafka -----------------------------------------------------------------------------------------


def test_kafka_python_produces_and_consumes(kafka_bootstrap: str, admin: KafkaAdminClient) -> None:
    topic = _unique("it-kafka-python")
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    try:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
        sent = {f"key-{n}".encode(): f"value-{n}".encode() for n in range(6)}
        for key, value in sent.items():
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=30)
        producer.close()

        # Manual assignment: no group coordination, so the test does not wait for a rebalance.
        consumer = KafkaConsumer(
            bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
        )
        consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
        received: dict[bytes, bytes] = {}
        deadline = time.monotonic() + 30
        while len(received) < len(sent) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.update((r.key, r.value) for r in records)
        consumer.close()
        assert received == sent
    finally:
        admin.delete_topics([topic])


def test_aiokafka_produces_and_consumes_in_a_group(kafka_bootstrap: str, admin: KafkaAdminClient) -> None:
    # Faust runs on aiokafka with consumer groups, so exercise exactly that path.
    topic = _unique("it-aiokafka")
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])

    async def roundtrip() -> list[tuple[bytes | None, bytes | None]]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for n in range(5):
                await producer.send_and_wait(topic, key=f"k{n}".encode(), value=f"v{n}".encode())
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=_unique("it-aiokafka-group"),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[bytes | None, bytes | None]] = []
        try:
            deadline = time.monotonic() + 30
            while len(got) < 5 and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                got.extend((r.key, r.value) for records in batches.values() for r in records)
            await consumer.commit()
        finally:
            await consumer.stop()
        return got

    try:
        received = asyncio.run(roundtrip())
    finally:
        admin.delete_topics([topic])
    assert received == [(f"k{n}".encode(), f"v{n}".encode()) for n in range(5)]


def test_kafka_admin_reports_cluster_id_and_broker_version(admin: KafkaAdminClient) -> None:
    cluster = admin.describe_cluster()
    assert cluster["cluster_id"]
    assert [b["host"] for b in cluster["brokers"]]

    api_versions = admin._client.get_api_versions()
    assert api_versions, "the broker answered no ApiVersions"
    # kafka-python's own inference stops at 2.6, but it ships each release's ApiVersions table. A KRaft
    # broker advertises a different set of APIs than the ZooKeeper broker the table was recorded from,
    # so compare only the APIs both know; exactly one release must agree on all of them.
    matching = [
        release
        for release, table in BROKER_API_VERSIONS.items()
        if all(table[key] == api_versions[key] for key in table.keys() & api_versions.keys())
    ]
    assert matching == [(3, 9)]
    assert api_versions[1] == (0, 17)  # Fetch v17 is new in Kafka 3.9
