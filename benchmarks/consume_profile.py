"""CPU a kafka-python consumer (the indexer's, a subscriber's) spends reading records, per codec the records
were compressed with (``--codecs``: zstd, PIPELINE_KAFKA_COMPRESSION's default; gzip, the setting before it;
none), and with kafka-python's pure-Python CRC-32C (``--pure-python-crc``), which it falls back to without the
``crc32c`` package.

Publishes the records of a file of one JSON record a line (``output_digest.py --out`` writes one: enriched
articles and their events) to a new topic per codec with the pipeline's producer, then reads them all back with
the consumer options the stages use, and prints the process CPU time per article and per MB, lowest of
``--repeat`` rounds (the rounds interleave the arms), and the topic's bytes on the broker per article (its log
size: the record batches as compressed). The topics are deleted afterwards.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/news.jsonl --synthetic 0 --news 60
    PYTHONPATH=. .venv/bin/python benchmarks/consume_profile.py /tmp/news.jsonl --repeat 5
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.record import default_records
from kafka.record._crc32c import crc as pure_python_crc32c

from pipeline.kafka import client_options, consumer_options, ensure_topics, make_producer
from pipeline.settings import Settings

CODECS = ("zstd", "gzip", "none")


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


def log_bytes(settings: Settings, topic: str) -> int:
    """The size of ``topic``'s partition logs on the broker(s): what the producer's batches took, compressed."""
    admin = KafkaAdminClient(**client_options(settings))
    try:
        # DescribeLogDirs v0 answers (error, dir, [(topic, [(partition, size, offset lag, is future)])]).
        return sum(
            partition[1]
            for response in [admin.describe_log_dirs()]
            for _, _, topics in response.log_dirs
            for name, partitions in topics
            if name == topic
            for partition in partitions
        )
    finally:
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=Path, help="one JSON record a line (output_digest.py --out)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--codecs", default=",".join(CODECS), help="comma-separated: zstd, gzip, none")
    parser.add_argument("--pure-python-crc", action="store_true", help="also the first codec without crc32c")
    args = parser.parse_args()
    settings = Settings()
    lines = [line for line in args.records.read_bytes().splitlines() if line.strip()]
    articles = sum(1 for line in lines if "event_id" not in json.loads(line))
    megabytes = sum(len(line) for line in lines) / 1e6
    codecs = [codec.strip() for codec in args.codecs.split(",") if codec.strip()]
    topics = {codec: f"consume-profile-{codec}-{uuid.uuid4().hex[:8]}" for codec in codecs}
    ensure_topics(settings, list(topics.values()), partitions=1)
    try:
        count = 0
        for codec, topic in topics.items():
            count = publish(settings.model_copy(update={"kafka_compression": codec}), topic, lines)
        arms: dict[str, tuple[str, Any]] = {f"{codec}, crc32c": (topic, None) for codec, topic in topics.items()}
        if args.pure_python_crc:
            patch = mock.patch.object(default_records, "calc_crc32c", lambda data: pure_python_crc32c(data))
            arms[f"{codecs[0]}, pure-Python CRC"] = (topics[codecs[0]], patch)
        best = dict.fromkeys(arms, float("inf"))
        for _ in range(args.repeat):  # interleaved: every arm once per round
            for name, (topic, patch) in arms.items():
                if patch is None:
                    best[name] = min(best[name], read_all(settings, topic, count))
                else:
                    with patch:
                        best[name] = min(best[name], read_all(settings, topic, count))
        print(f"{count} records ({articles} articles, {megabytes:.1f} MB), CPU of reading them all back:")
        for name, (topic, _) in arms.items():
            per_article, per_mb = 1000 * best[name] / articles, 1000 * best[name] / megabytes
            stored = log_bytes(settings, topic) / articles
            print(f"  {name:<24} {per_article:6.2f} ms per article  {per_mb:6.1f} ms per MB  {stored:8,.0f} B/article")
    finally:
        admin = KafkaAdminClient(**client_options(settings))
        admin.delete_topics(list(topics.values()))
        admin.close()


if __name__ == "__main__":
    main()
