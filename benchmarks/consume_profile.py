"""CPU a kafka-python consumer (the indexer's, a subscriber's) spends reading records, with the ``crc32c``
package and with kafka-python's pure-Python CRC-32C, which it falls back to without that package.

Publishes the records of a file of one JSON record a line (``output_digest.py --out`` writes one: enriched
articles and their events) to a new topic with the pipeline's producer (gzip, as the enricher publishes),
then reads them all back with the consumer options the stages use, once per arm, and prints the process CPU
time per article and per MB, lowest of ``--repeat`` rounds. The topic is deleted afterwards.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/news.jsonl --synthetic 0 --news 60
    PYTHONPATH=. .venv/bin/python benchmarks/consume_profile.py /tmp/news.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from unittest import mock

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.record import default_records
from kafka.record._crc32c import crc as pure_python_crc32c

from pipeline.kafka import client_options, consumer_options, ensure_topics, make_producer
from pipeline.settings import Settings


def publish(settings: Settings, topic: str, lines: list[bytes]) -> int:
    producer = make_producer(settings, "consume-profile")
    for line in lines:
        record = json.loads(line)
        producer.send(topic, key=record.get("event_id") or record["article_id"], value=line)
    producer.flush()
    producer.close()
    return len(lines)


def read_all(settings: Settings, topic: str, expected: int) -> float:
    """CPU seconds to read every record of ``topic`` from its start."""
    consumer = KafkaConsumer(**consumer_options(settings), enable_auto_commit=False)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    began = time.process_time()
    seen = 0
    while seen < expected:
        seen += sum(len(records) for records in consumer.poll(timeout_ms=1000).values())
    used = time.process_time() - began
    consumer.close()
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=Path, help="one JSON record a line (output_digest.py --out)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    lines = [line for line in args.records.read_bytes().splitlines() if line.strip()]
    articles = sum(1 for line in lines if "event_id" not in json.loads(line))
    megabytes = sum(len(line) for line in lines) / 1e6
    topic = f"consume-profile-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=1)
    try:
        count = publish(settings, topic, lines)
        arms = {
            "crc32c package": None,
            "pure-Python CRC-32C": mock.patch.object(
                default_records, "calc_crc32c", lambda data: pure_python_crc32c(data)
            ),
        }
        print(f"{count} records ({articles} articles, {megabytes:.1f} MB), CPU of reading them all back:")
        for name, patch in arms.items():
            best = float("inf")
            for _ in range(args.repeat):
                if patch is None:
                    best = min(best, read_all(settings, topic, count))
                else:
                    with patch:
                        best = min(best, read_all(settings, topic, count))
            per_article, per_mb = 1000 * best / articles, 1000 * best / megabytes
            print(f"  {name:<20} {per_article:6.2f} ms per article  {per_mb:6.1f} ms per MB")
    finally:
        admin = KafkaAdminClient(**client_options(settings))
        admin.delete_topics([topic])
        admin.close()


if __name__ == "__main__":
    main()
