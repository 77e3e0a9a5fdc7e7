"""A digest of everything the enricher publishes for a fixed set of articles: the check that a speed-up left
the outputs byte-identical.

Enriches, in the worker's batch size, synthetic stories and real-length news (the loaders of
``pipeline_throughput.py``) and the gold documents of ``pipeline evaluate events --gold-only`` (as one
batch, as the evaluation does), each article arriving as the worker receives it (its JSON bytes read back
with ``RawArticle.model_validate_json``). Writes the published bytes (``to_json_bytes()`` of each enriched
article and each event) one record a line, and prints their sha256. Timestamps that are ``now`` when a record
is made (``enriched_at``, ``coded_at``) are set to a fixed instant first, so two runs compare byte for byte.

    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/before.jsonl
    PYTHONPATH=. .venv/bin/python benchmarks/output_digest.py --out /tmp/after.jsonl   # then: cmp the two

PYTHONPATH=. makes the checkout's own ``pipeline`` the one imported: a script's folder, not the working
directory, is on the path, so without it an editable install elsewhere may be what runs (the path printed
with the digest says which).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from pipeline_throughput import STORIES, as_articles, news_texts, synthetic_texts  # beside this script

from pipeline.records import RawArticle
from pipeline.settings import Settings

FIXED_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def one_story_per_title() -> list[tuple[str, str]]:
    """The first synthetic story of each distinct title (332): the first 400 stories have only 34 titles, too
    few to show a change in the headline coder."""
    with STORIES.open(encoding="utf-8", newline="") as handle:
        first: dict[str, str] = {}
        for row in csv.DictReader(handle):
            first.setdefault(row["title"], row["text"])
    return list(first.items())


def received(articles: Sequence[RawArticle]) -> list[RawArticle]:
    """The articles as the worker reads them off the raw topic."""
    return [RawArticle.model_validate_json(article.to_json_bytes()) for article in articles]


def published(articles: Sequence[RawArticle], nlp: Any, batch_size: int) -> Iterator[bytes]:
    """The bytes the worker would publish for ``articles``, in its order (events, then the article)."""
    from pipeline.enrich.core import EnrichmentFailure, enrich_articles

    for start in range(0, len(articles), batch_size):
        for result in enrich_articles(articles[start : start + batch_size], nlp):
            if isinstance(result, EnrichmentFailure):
                yield f"failure {result.article_id} {result.error_type} {result.reason}".encode()
                continue
            for event in result.events:
                event.coded_at = FIXED_NOW
                yield event.to_json_bytes()
            result.article.enriched_at = FIXED_NOW
            yield result.article.to_json_bytes()


def main(
    out: Path = typer.Option(..., "--out", help="Where to write the published records, one a line"),
    synthetic: int = typer.Option(400, "--synthetic", min=0, help="How many synthetic stories"),
    news: int = typer.Option(24, "--news", min=0, help="How many real-length news articles"),
    titles: bool = typer.Option(True, help="Also one synthetic story of each distinct title"),
) -> None:
    """Enrich the fixed set and print the sha256 of what would be published."""
    import pipeline
    from pipeline.enrich.nlp import load_nlp
    from pipeline.evaluate.event_gold import load_gold
    from pipeline.logconfig import configure_logging

    settings = Settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    articles = as_articles(synthetic_texts(synthetic), "digest", "s") + as_articles(news_texts(news), "digest", "n")
    if titles:
        articles += as_articles(one_story_per_title(), "digest", "t")
    for article in articles:
        article.fetched_at = FIXED_NOW
    gold = [document.article for document in load_gold()[0]]
    for article in gold:
        article.fetched_at = FIXED_NOW
    nlp = load_nlp(settings)
    digest = hashlib.sha256()
    lines = 0
    with out.open("wb") as handle:
        sets = ((received(articles), settings.enrich_batch_size), (received(gold), max(len(gold), 1)))
        for chosen, batch_size in sets:
            for record in published(chosen, nlp, batch_size):
                handle.write(record + b"\n")
                digest.update(record + b"\n")
                lines += 1
    print(f"{digest.hexdigest()}  {lines} records  {out}  (code: {Path(pipeline.__file__).parent})")


if __name__ == "__main__":
    typer.run(main)
