"""``pipeline status`` against the real services, on uniquely named topics, groups and indices."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from pipeline.index.es import ensure_indices, make_client
from pipeline.kafka import ensure_topics, pipeline_topics
from pipeline.ops.status import KEEPING_UP, STOPPED, status
from pipeline.settings import Settings
from tests.cli_runs import run_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture()
def isolated(settings: Settings, kafka_bootstrap: str, es_client: Elasticsearch) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:8]
    mine = settings.model_copy(
        update={
            "topic_raw": f"it-status-raw-{suffix}",
            "topic_enriched": f"it-status-enriched-{suffix}",
            "topic_events": f"it-status-events-{suffix}",
            "topic_dead_letter": f"it-status-dead-{suffix}",
            "topic_partitions": 2,
            "enricher_group": f"it-status-enricher-{suffix}",
            "indexer_group": f"it-status-indexer-{suffix}",
            "index_articles": f"it-status-articles-{suffix}",
            "index_events": f"it-status-events-{suffix}",
        }
    )
    yield mine
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="it-status")
    try:
        created = set(pipeline_topics(mine)) & set(admin.list_topics())
        if created:
            admin.delete_topics(sorted(created))
        with contextlib.suppress(KafkaError):
            admin.delete_consumer_groups([mine.enricher_group])
    finally:
        admin.close()
    es_client.indices.delete(index=f"it-status-*-{suffix}*", ignore_unavailable=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"pipeline-it-status-*-{suffix}")


def test_status_reports_sizes_lag_dead_letters_and_indices(isolated: Settings) -> None:
    ensure_topics(isolated)
    ensure_indices(make_client(isolated), isolated)
    producer = KafkaProducer(bootstrap_servers=isolated.kafka)
    for number in range(5):
        producer.send(isolated.topic_raw, key=f"k{number}".encode(), value=b"{}")
    producer.send(isolated.topic_dead_letter, key=b"bad", value=b"{}")
    producer.flush()
    producer.close()
    # An enricher that read two messages and stopped: three wait.
    consumer = KafkaConsumer(
        isolated.topic_raw,
        bootstrap_servers=isolated.kafka,
        group_id=isolated.enricher_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1,
    )
    read = 0
    while read < 2:
        read += sum(len(batch) for batch in consumer.poll(timeout_ms=1000, max_records=1).values())
        consumer.commit()
    consumer.close()

    report = status(isolated, sample_seconds=0.5)

    assert report.kafka.reachable and report.elasticsearch.reachable, report
    sizes = {topic.name: topic.messages for topic in report.kafka.topics}
    assert sizes[isolated.topic_raw] == 5 and sizes[isolated.topic_dead_letter] == 1
    assert (report.dead_letters_total, report.dead_letters_last_hour) == (1, 1)
    enricher = next(group for group in report.kafka.groups if group.group == isolated.enricher_group)
    assert (enricher.stage, enricher.lag, enricher.members) == ("enrich", 3, 0)
    verdicts = {verdict.stage: verdict for verdict in report.stages}
    assert verdicts["enrich"].verdict == STOPPED and "3 messages waiting" in verdicts["enrich"].detail
    assert verdicts["index"].verdict == STOPPED
    indices = {index.alias: index for index in report.elasticsearch.indices}
    articles = indices[isolated.index_articles]
    assert articles.exists and articles.documents == 0 and articles.newest_age_seconds is None
    assert report.elasticsearch.version and report.kafka.brokers >= 1


def test_a_running_consumer_with_no_lag_keeps_up(isolated: Settings) -> None:
    ensure_topics(isolated)
    consumer = KafkaConsumer(
        isolated.topic_raw,
        bootstrap_servers=isolated.kafka,
        group_id=isolated.enricher_group,
        auto_offset_reset="earliest",
    )
    try:
        consumer.poll(timeout_ms=3000)  # joins the group: a member, nothing to read
        report = status(isolated, sample_seconds=0.5)
    finally:
        consumer.close()
    verdict = next(v for v in report.stages if v.stage == "enrich")
    assert verdict.verdict == KEEPING_UP, report.kafka.groups


def test_status_json_for_scripts(isolated: Settings) -> None:
    result = run_pipeline(
        "status",
        "--json",
        "--interval",
        "0.5",
        env={
            "PIPELINE_KAFKA_BOOTSTRAP": isolated.kafka,
            "PIPELINE_ELASTICSEARCH_URL": isolated.elasticsearch,
            "PIPELINE_TOPIC_RAW": isolated.topic_raw,
            "PIPELINE_ENRICHER_GROUP": isolated.enricher_group,
        },
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kafka"]["reachable"] and report["elasticsearch"]["reachable"]
    assert {stage["stage"] for stage in report["stages"]} >= {"collect", "enrich", "index"}


def test_status_watch_keeps_reporting(isolated: Settings) -> None:
    import os
    import signal
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    environment.update(PIPELINE_KAFKA_BOOTSTRAP=isolated.kafka, PIPELINE_ELASTICSEARCH_URL=isolated.elasticsearch)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "status", "--watch", "--json", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert watcher.stdout is not None
        reports = [json.loads(watcher.stdout.readline()) for _ in range(2)]
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
    assert reports[0]["taken_at"] <= reports[1]["taken_at"]
    assert watcher.returncode == 0


def test_status_with_real_kafka_and_a_silent_elasticsearch(kafka_bootstrap: str, silent_port: int) -> None:
    """One service answering and one silent: the answering half is shown, the silent one named, exit 69."""
    import time

    from pipeline.errors import EXIT_UNAVAILABLE

    silent = f"http://127.0.0.1:{silent_port}"
    started = time.monotonic()
    result = run_pipeline(
        "status",
        "--interval",
        "0.5",
        env={"PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "PIPELINE_ELASTICSEARCH_URL": silent},
    )
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_UNAVAILABLE, output
    assert f"Kafka {kafka_bootstrap}: reachable" in output
    assert f"Elasticsearch {silent}: did not answer in time" in output
    assert "error: Elasticsearch does not answer" in result.stderr and "PIPELINE_ELASTICSEARCH_URL" in result.stderr
    assert "Traceback" not in output and time.monotonic() - started < 30


def test_config_against_the_real_services_names_their_source(kafka_bootstrap: str, es_url: str) -> None:
    configured = run_pipeline(
        "config", "--json", env={"PIPELINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "PIPELINE_ELASTICSEARCH_URL": es_url}
    )
    assert configured.returncode == 0, configured.stderr
    shown = json.loads(configured.stdout)
    assert (shown["kafka_bootstrap"]["value"], shown["kafka_bootstrap"]["source"]) == (kafka_bootstrap, "env")
    assert shown["elasticsearch_url"]["value"] == es_url and shown["elasticsearch_url"]["source"] == "env"
    # Unset, and pointing at an unreachable local stack: still an answer, naming where commands would go.
    unset = run_pipeline(
        "config",
        "--json",
        env={"PIPELINE_KAFKA_BOOTSTRAP": "", "PIPELINE_ELASTICSEARCH_URL": "", "PIPELINE_DEVSTACK_KAFKA_PORT": "1"},
    )
    assert unset.returncode == 0, unset.stderr
    local = json.loads(unset.stdout)
    assert local["kafka_bootstrap"]["value"] == "127.0.0.1:1" and local["kafka_bootstrap"]["source"] == "local stack"
