"""What the enricher's event loop spends per article on our records: reading the raw article off the topic
(``RawArticle.model_validate_json``), writing the enriched article and its events (``to_json_bytes``), and
the producer's gzip of those bytes (aiokafka compresses each batch with zlib level 9 on the event loop).

Enriches the stories once (as ``enrich_profile.py`` loads them), then times each step over all of them, in
CPU milliseconds per article (``time.process_time``), lowest of ``--repeat`` rounds. The gzip row compresses
each enrichment batch's records per topic in one stream, as a producer batch for one partition would be
(more partitions make smaller batches: a little more time per byte, a worse ratio).

    PYTHONPATH=. .venv/bin/python benchmarks/serialization_profile.py --set news --limit 48
    PYTHONPATH=. .venv/bin/python benchmarks/serialization_profile.py --set synthetic --limit 200
"""

from __future__ import annotations

import gzip
import time
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


PRODUCER_GZIP_LEVEL = 9  # aiokafka's gzip_encode without a level


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

    # Per batch, the records of each topic as one stream: what one producer batch of a partition holds at most.
    streams = [
        b"".join(record for result in batch for record in published(result)[topic])
        for batch in batches
        for topic in (0, 1)
    ]

    def compress(level: int) -> Callable[[], None]:
        def run() -> None:
            for data in streams:
                gzip.compress(data, compresslevel=level)

        return run

    count = len(results)
    events = sum(len(result.events) for result in results)
    article_bytes = sum(len(published(result)[1][0]) for result in results)
    event_bytes = sum(len(record) for result in results for record in published(result)[0])
    raw_bytes = sum(map(len, raw))

    def validate() -> None:
        for value in raw:
            RawArticle.model_validate_json(value)

    rows = [
        ("RawArticle.model_validate_json", cpu_ms(validate, count, repeat)),
        ("to_json_bytes (article + events)", cpu_ms(serialize, count, repeat)),
    ]
    rows += [(f"gzip level {level} of those bytes", cpu_ms(compress(level), count, repeat)) for level in (9, 6, 1)]
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
