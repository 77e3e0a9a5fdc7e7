"""CPU the event loop spends handing records to the producer, per record: Faust's ``topic.send`` as the enricher
publishes (one record per event and one per article), against aiokafka's producer alone, per codec (``--codecs``:
zstd, the default of PIPELINE_KAFKA_COMPRESSION; gzip, the setting before it; none), and the kafka-python producer
the collector, indexer and subscriptions use (``pipeline.kafka.make_producer``) with the same codecs.

Reads the records from a file of one JSON record a line (``output_digest.py --out`` writes one), publishes
them to a new topic on the configured broker (deleted afterwards), and prints the process CPU time per record
from the first send until every record is acknowledged, lowest of ``--repeat`` rounds; the rounds interleave
the arms, so a machine that gets busier part-way loads them alike. The last column is kafka-python's mean ratio of
compressed to uncompressed batch bytes (its ``compression-rate-avg`` metric); ``serialization_profile.py`` gives
each codec's bytes per article exactly.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/records.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/produce_profile.py /tmp/records.jsonl --records 2000 --repeat 5
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from kafka import KafkaAdminClient

from pipeline.kafka import client_options, ensure_topics, faust_app, make_producer
from pipeline.settings import Settings

CODECS = ("zstd", "gzip", "none")

Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]


async def cpu_ms_per_record(send: Send, records: list[tuple[bytes, bytes]]) -> float:
    began = time.process_time()
    acknowledged = [await send(key, value) for key, value in records]
    await asyncio.gather(*acknowledged)
    return 1000 * (time.process_time() - began) / len(records)


def codec_settings(settings: Settings, codec: str) -> Settings:
    return settings.model_copy(update={"kafka_compression": codec})


async def with_faust(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    app = faust_app(settings, f"produce-profile-{uuid.uuid4().hex[:8]}")  # the codec from the settings
    channel = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    await app.producer.start()
    try:
        return await cpu_ms_per_record(lambda key, value: channel.send(key=key, value=value), records)
    finally:
        await app.producer.stop()


async def with_aiokafka(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    from aiokafka import AIOKafkaProducer

    from pipeline.kafka import compression_type

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka,
        acks="all",
        compression_type=compression_type(settings),
        max_request_size=4_000_000,
    )
    await producer.start()
    try:
        return await cpu_ms_per_record(lambda key, value: producer.send(topic, key=key, value=value), records)
    finally:
        await producer.stop()


def with_kafka_python(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """CPU ms per record through the pipeline's kafka-python producer, and its batches' mean compression rate."""
    producer = make_producer(settings, "produce-profile")
    producer.config["key_serializer"] = None  # the keys are bytes already
    try:
        began = time.process_time()
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
        used = time.process_time() - began
        return 1000 * used / len(records), float(producer.metrics()["producer-metrics"]["compression-rate-avg"])
    finally:
        producer.close()


def main(
    records_file: Path = typer.Argument(..., help="One JSON record a line (event or enriched article)"),
    records: int = typer.Option(2000, "--records", min=1, help="How many of its records to publish"),
    repeat: int = typer.Option(3, "--repeat", min=1, help="Rounds; each figure is the lowest"),
    codecs: str = typer.Option(",".join(CODECS), "--codecs", help="Comma-separated: zstd, gzip, none"),
) -> None:
    """CPU ms per record handed to the producer, until acknowledged, per client and codec."""
    settings = Settings()
    lines = records_file.read_bytes().splitlines()[:records]
    keyed = [(str(json.loads(line).get("event_id") or json.loads(line)["article_id"]).encode(), line) for line in lines]
    topic = f"produce-profile-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic])
    chosen = [codec.strip() for codec in codecs.split(",") if codec.strip()]
    best: dict[tuple[str, str], float] = {}
    wire: dict[str, float] = {}
    try:
        for _ in range(repeat):  # interleaved: every arm once per round
            for codec in chosen:
                arm = codec_settings(settings, codec)
                for client, run in (("faust", with_faust), ("aiokafka", with_aiokafka)):
                    ms = asyncio.run(run(arm, topic, keyed))
                    best[client, codec] = min(best.get((client, codec), float("inf")), ms)
                ms, wire[codec] = with_kafka_python(arm, topic, keyed)
                best["kafka-python", codec] = min(best.get(("kafka-python", codec), float("inf")), ms)
        raw = sum(len(key) + len(value) for key, value in keyed) / len(keyed)
        print(f"{len(keyed)} records, {raw:,.0f} bytes of key and value each; CPU ms per record, lowest of {repeat}")
        for (client, codec), ms in best.items():
            print(f"{client:13s} {codec:5s} {ms:.3f} CPU ms per record  (batches compressed to {wire[codec]:.2f})")
    finally:
        admin = KafkaAdminClient(client_id="produce-profile", **client_options(settings))
        try:
            admin.delete_topics([topic])
        finally:
            admin.close()


if __name__ == "__main__":
    typer.run(main)
