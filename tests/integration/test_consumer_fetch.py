"""Our kafka-python consumers read a backlog of large records without failed fetches.

kafka-python 2.x lets a fetch response grow to 50 MB but refuses frames over 1,000,000 bytes, so a consumer behind
by a few MB over several partitions (the indexer after an outage, a subscriber catching up) logged
``Fetch to node 1 failed: InvalidReceiveError: Invalid frame length`` and fetched again.
"""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.kafka import client_options, consumer_options, ensure_topics
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_a_backlog_of_large_records_is_read_without_failed_fetches(
    settings: Settings, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"it-fetch-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=4)
    producer = KafkaProducer(**client_options(settings), linger_ms=50, batch_size=200_000)
    for n in range(80):  # 4 partitions x 1.2 MB: one fetch of all four is over 4 MB
        producer.send(topic, key=str(n).encode(), value=bytes([65 + n % 26]) * 60_000, partition=n % 4)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(**consumer_options(settings), enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in range(4)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    read, deadline = 0, time.monotonic() + 60
    with caplog.at_level(logging.ERROR, logger="kafka"):
        while read < 80 and time.monotonic() < deadline:
            read += sum(len(records) for records in consumer.poll(timeout_ms=500).values())
    consumer.close()

    assert read == 80
    failed = [r.getMessage() for r in caplog.records if "Invalid frame length" in r.getMessage()]
    assert not failed, failed
