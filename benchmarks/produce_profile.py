"""CPU the event loop spends handing records to the producer, per record: Faust's ``topic.send`` as the enricher
publishes (one record per event and one per article), against aiokafka's producer alone, with gzip (the
enricher's setting) and without compression.

Reads the records from a file of one JSON record a line (``output_digest.py --out`` writes one), publishes
them to a new topic on the configured broker (deleted afterwards), and prints the process CPU time per record
from the first send until every record is acknowledged, lowest of ``--repeat`` rounds.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/records.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/produce_profile.py /tmp/records.jsonl --records 2000
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

from pipeline.kafka import client_options, ensure_topics, faust_app
from pipeline.settings import Settings

Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]


async def cpu_ms_per_record(send: Send, records: list[tuple[bytes, bytes]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        acknowledged = [await send(key, value) for key, value in records]
        await asyncio.gather(*acknowledged)
        best = min(best, time.process_time() - began)
    return 1000 * best / len(records)


async def with_faust(settings: Settings, topic: str, compression: str | None, records: Any, repeat: int) -> float:
    app = faust_app(settings, f"produce-profile-{uuid.uuid4().hex[:8]}", producer_compression_type=compression)
    channel = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    await app.producer.start()
    try:
        return await cpu_ms_per_record(lambda key, value: channel.send(key=key, value=value), records, repeat)
    finally:
        await app.producer.stop()


async def with_aiokafka(settings: Settings, topic: str, compression: str | None, records: Any, repeat: int) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", compression_type=compression, max_request_size=4_000_000
    )
    await producer.start()
    try:
        return await cpu_ms_per_record(lambda key, value: producer.send(topic, key=key, value=value), records, repeat)
    finally:
        await producer.stop()


def main(
    records_file: Path = typer.Argument(..., help="One JSON record a line (event or enriched article)"),
    records: int = typer.Option(2000, "--records", min=1, help="How many of its records to publish"),
    repeat: int = typer.Option(3, "--repeat", min=1, help="Rounds; each figure is the lowest"),
) -> None:
    """CPU ms per record handed to the producer, until acknowledged."""
    settings = Settings()
    lines = records_file.read_bytes().splitlines()[:records]
    keyed = [(str(json.loads(line).get("event_id") or json.loads(line)["article_id"]).encode(), line) for line in lines]
    topic = f"produce-profile-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic])
    try:
        for client, run in (("faust", with_faust), ("aiokafka", with_aiokafka)):
            for compression in ("gzip", None):
                ms = asyncio.run(run(settings, topic, compression, keyed, repeat))
                print(f"{client:9s} {compression or 'none':5s} {ms:.3f} CPU ms per record ({len(keyed)} records)")
    finally:
        admin = KafkaAdminClient(client_id="produce-profile", **client_options(settings))
        try:
            admin.delete_topics([topic])
        finally:
            admin.close()


if __name__ == "__main__":
    typer.run(main)
