"""What the enricher's event loop spends per article on our records: reading the raw article off the topic
(``RawArticle.model_validate_json``), writing the enriched article and its events (``to_json_bytes``), and
the producer's compression of those bytes on the event loop, per codec as aiokafka does it (gzip: zlib level 9,
the setting before PIPELINE_KAFKA_COMPRESSION; zstd: cramjam level 3, its default now; lz4: cramjam level 9),
with the bytes each leaves per article; and reading them back as a kafka-python consumer does.

Enriches the stories once (as ``enrich_profile.py`` loads them), then times each step over all of them, in
CPU milliseconds per article (``time.process_time``), lowest of ``--repeat`` rounds (the rounds interleave the
rows). The codec rows compress the records as the producers batch them (``producer_batches``: per topic and
partition, at most 16 KB; a producer that sends sooner makes smaller batches: a little more time per byte, a
worse ratio). The news set repeats one article in every text, which no batch of 16 KB spans twice, so its
ratios are not inflated by that.

    PYTHONPATH=. .venv/bin/python benchmarks/serialization_profile.py --set news --limit 48
    PYTHONPATH=. .venv/bin/python benchmarks/serialization_profile.py --set synthetic --limit 200
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import typer
from pipeline_throughput import STORY_SETS, as_articles  # beside this script, whose folder is on the path
from rich.console import Console
from rich.table import Table

from pipeline.records import RawArticle
from pipeline.settings import Settings


class StorySet(StrEnum):
    synthetic = "synthetic"
    news = "news"


# Both producers (aiokafka under Faust, kafka-python) close a record batch at 16,384 bytes (their default
# max_batch_size / batch_size, which the pipeline keeps); a larger record makes a batch of its own.
PRODUCER_BATCH_BYTES = 16_384


def producer_batches(topics: list[list[tuple[str, bytes]]], partitions: int) -> list[bytes]:
    """Each topic's records (key, value) as the producers batch them: by partition (keys hashed, as the producers
    spread them), packed in order into batches of at most PRODUCER_BATCH_BYTES; a batch's values as one stream,
    what its codec compresses (the records' framing left out)."""
    open_batches: dict[tuple[int, int], list[bytes]] = {}
    closed: list[bytes] = []
    for topic, records in enumerate(topics):
        for key, value in records:
            batch = open_batches.setdefault((topic, zlib.crc32(key.encode()) % partitions), [])
            if batch and sum(map(len, batch)) + len(value) > PRODUCER_BATCH_BYTES:
                closed.append(b"".join(batch))
                batch.clear()
            batch.append(value)
    return closed + [b"".join(batch) for batch in open_batches.values() if batch]


def cpu_ms(run: Callable[[], Any], items: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        run()
        best = min(best, time.process_time() - began)
    return 1000 * best / items


def main(
    story_set: StorySet = typer.Option(StorySet.news, "--set", help="synthetic stories or real-length news"),
    limit: int = typer.Option(48, "--limit", min=1, help="How many stories (the sets repeat to fill it)"),
    repeat: int = typer.Option(5, "--repeat", min=1, help="Rounds; each figure is the lowest"),
) -> None:
    """CPU ms per article of the worker's validation, serialization and the producer's compression."""
    from pipeline.enrich.core import EnrichmentResult, enrich_articles
    from pipeline.enrich.nlp import load_nlp
    from pipeline.logconfig import configure_logging

    settings = Settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    articles = as_articles(STORY_SETS[story_set.value](limit), "serialization")
    raw = [article.to_json_bytes() for article in articles]
    nlp = load_nlp(settings)
    batches: list[list[EnrichmentResult]] = []
    for start in range(0, len(articles), settings.enrich_batch_size):
        found = enrich_articles(articles[start : start + settings.enrich_batch_size], nlp)
        batches.append([result for result in found if isinstance(result, EnrichmentResult)])
    results = [result for batch in batches for result in batch]

    def published(result: EnrichmentResult) -> tuple[list[bytes], list[bytes]]:
        """The records the worker publishes for one article: its events, and the enriched article."""
        return [event.to_json_bytes() for event in result.events], [result.article.to_json_bytes()]

    def serialize() -> None:
        for result in results:
            published(result)

    streams = producer_batches(
        [
            [(event.event_id, event.to_json_bytes()) for result in results for event in result.events],
            [(result.article.article_id, result.article.to_json_bytes()) for result in results],
        ],
        settings.topic_partitions,
    )

    from aiokafka import codec as aiokafka_codec
    from kafka import codec as kafka_python_codec

    # name: (compress as the enricher's producer does, decompress as the indexer's consumer does)
    codecs: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
        "gzip (level 9)": (aiokafka_codec.gzip_encode, kafka_python_codec.gzip_decode),
        "zstd (level 3)": (aiokafka_codec.zstd_encode, kafka_python_codec.zstd_decode),
        "lz4 (level 9)": (aiokafka_codec.lz4_encode, aiokafka_codec.lz4_decode),
    }
    compressed = {name: [encode(data) for data in streams] for name, (encode, _) in codecs.items()}

    def compress(encode: Callable[[bytes], bytes]) -> Callable[[], None]:
        def run() -> None:
            for data in streams:
                encode(data)

        return run

    def decompress(name: str) -> Callable[[], None]:
        def run() -> None:
            for data in compressed[name]:
                codecs[name][1](data)

        return run

    count = len(results)
    events = sum(len(result.events) for result in results)
    article_bytes = sum(len(published(result)[1][0]) for result in results)
    event_bytes = sum(len(record) for result in results for record in published(result)[0])
    raw_bytes = sum(map(len, raw))

    def validate() -> None:
        for value in raw:
            RawArticle.model_validate_json(value)

    steps: dict[str, Callable[[], Any]] = {
        "RawArticle.model_validate_json": validate,
        "to_json_bytes (article + events)": serialize,
    }
    for name, (encode, _) in codecs.items():
        size = sum(map(len, compressed[name])) / count
        steps[f"{name}: compress those bytes ({size:,.0f} B/article)"] = compress(encode)
        steps[f"{name}: decompress them"] = decompress(name)
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeat):  # interleaved: every step once per round
        for name, step in steps.items():
            best[name] = min(best[name], cpu_ms(step, count, 1))
    rows = list(best.items())
    table = Table(
        title=f"{story_set.value}: {count} articles, {events / count:.1f} events each; bytes per article: raw "
        f"{raw_bytes / count:,.0f}, enriched {article_bytes / count:,.0f}, events {event_bytes / count:,.0f}"
    )
    table.add_column("CPU ms per article")
    table.add_column("ms", justify="right")
    for name, ms in rows:
        table.add_row(name, f"{ms:.3f}")
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
