"""The enricher when the broker refuses what it produces, and with an article at the size limit.

Each test runs `pipeline enrich` as a subprocess on topics of its own; the broker's per-topic message size
limit (max.message.bytes) makes a real produce fail.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.ids import article_id
from pipeline.kafka import ensure_topics
from pipeline.records import RawArticle
from pipeline.settings import Settings
from tests.integration.stages import (
    count,
    dead_letters,
    private_indices,
    private_settings,
    producer,
    running_indexer,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "seed-article-korea-2025.txt"


def raw(n: int, text: str) -> RawArticle:
    url = f"https://enricher-faults.example/{n}"
    return RawArticle(article_id=article_id(url), url=url, canonical_url=url, title=f"Story {n}", text=text)


def publish_raw(settings: Settings, articles: list[RawArticle]) -> None:
    p = producer(settings)
    for a in articles:
        p.send(settings.topic_raw, key=a.article_id.encode(), value=a.to_json_bytes())
    p.flush(timeout=30)
    p.close()


@contextmanager
def enricher(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "enrich", "--loglevel", "warning"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=settings_env(settings),
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            print(f"--- enricher log (tail) ---\n{log.read_text(errors='replace')[-3000:]}")


def make_topics(settings: Settings, limits: dict[str, int]) -> None:
    for topic in (settings.topic_raw, settings.topic_enriched, settings.topic_events, settings.topic_dead_letter):
        config = {"max.message.bytes": str(limits[topic])} if topic in limits else None
        ensure_topics(settings, [topic], config=config)


def test_an_output_the_broker_refuses_dead_letters_its_source(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enf", data_dir=tmp_path)
    make_topics(private, {private.topic_enriched: 600})  # no enriched article fits
    article = raw(1, SEED.read_text(encoding="utf-8"))
    with enricher(private, tmp_path / "enricher.log") as process:
        publish_raw(private, [article])
        wait_for(lambda: bool(dead_letters(private)), "the source dead-lettered", timeout=180)
        assert process.poll() is None, "the enricher should carry on"
    (letter,) = dead_letters(private)
    assert letter.stage == "enrich" and "could not be produced" in letter.reason
    assert letter.original_payload() == article.to_json_bytes() and letter.source_topic == private.topic_raw


def test_an_enricher_that_cannot_dead_letter_exits_non_zero_instead_of_hanging(
    settings: Settings, kafka_bootstrap: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enx", data_dir=tmp_path)
    make_topics(private, {private.topic_enriched: 600, private.topic_dead_letter: 600})
    with enricher(private, tmp_path / "enricher.log") as process:
        publish_raw(private, [raw(2, SEED.read_text(encoding="utf-8"))])
        process.wait(timeout=180)
    assert process.returncode == 70
    assert "cannot go on" in (tmp_path / "enricher.log").read_text(errors="replace")


def test_an_article_at_the_size_limit_is_enriched_and_indexed(
    settings: Settings, kafka_bootstrap: str, es_url: str, tmp_path: Path
) -> None:
    private = private_settings(settings, "enl", data_dir=tmp_path)
    make_topics(private, {})
    seed = SEED.read_text(encoding="utf-8")
    # At the limit: seed text repeated, and one 20,000-character run without a full stop (an unbounded sentence).
    run_on = " and ".join(["North Korea fired a missile toward Japan"] * 500)
    text = (run_on + " " + seed * 100)[: private.max_text_chars]
    article = raw(3, text)
    assert len(text) == private.max_text_chars
    with private_indices(private) as es, enricher(private, tmp_path / "enricher.log"), running_indexer(private):
        publish_raw(private, [article])
        wait_for(lambda: count(es, private.index_articles) == 1, "the article indexed", timeout=280)
        wait_for(lambda: count(es, private.index_events) > 0, "its events indexed", timeout=60)
        events = es.search(index=private.index_events, size=100)["hits"]["hits"]
        assert all(len(hit["_source"]["evidence"]["sentence"]) <= 1_000 for hit in events)
    assert dead_letters(private) == []
