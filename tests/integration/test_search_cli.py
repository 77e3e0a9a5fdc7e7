"""`pipeline search` against the real Elasticsearch: filters as enrichment resolves names, newest first,
paging, counts, URLs and ids, and machine-readable formats."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.index.es import delete_indices, ensure_indices
from pipeline.index.sink import ElasticsearchSink
from pipeline.records import EnrichedArticle
from pipeline.settings import Settings, get_settings
from tests.event_samples import varied_events
from tests.factories import sample_enriched

pytestmark = pytest.mark.integration

SearchRunner = Callable[..., tuple[str, str]]  # search(*arguments, code=0) -> (stdout, stderr)


def _articles() -> list[EnrichedArticle]:
    """Three articles: the sample (Seoul launch), and two more with other days, countries and people."""
    base = sample_enriched()
    blinken = base.entities[0].model_copy(
        update={"name": "Antony Blinken", "label": "PERSON", "country_code": "USA", "lat": None, "lon": None}
    )
    return [
        base,
        base.model_copy(
            update={
                "article_id": "art_0002",
                "url": "https://news.example/2025/01/07/talks",
                "title": "Talks in Ankara",
                "text": "Antony Blinken met Turkish officials in Ankara to discuss a missile shield.",
                "published_at": datetime(2025, 1, 7, 8, tzinfo=UTC),
                "countries": ["TUR", "USA"],
                "entities": [blinken],
                "event_types": ["CONSULT"],
            }
        ),
        base.model_copy(
            update={
                "article_id": "art_0003",
                "url": "https://news.example/2025/01/02/missile",
                "title": "Missile fired",
                "text": "North Korea fired a missile into the sea, Seoul said.",
                "published_at": datetime(2025, 1, 2, 8, tzinfo=UTC),
                "countries": ["PRK", "KOR"],
            }
        ),
    ]


@pytest.fixture(scope="module")
def indexed(es_url: str) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        elasticsearch_url=es_url, index_articles=f"it-{suffix}-s-articles", index_events=f"it-{suffix}-s-events"
    )
    client = Elasticsearch(es_url, request_timeout=30)
    ensure_indices(client, settings)
    sink = ElasticsearchSink(client, settings.index_articles, settings.index_events)
    assert not sink.write_events(varied_events()).failures
    assert not sink.write_articles(_articles()).failures
    client.indices.refresh(index=[settings.index_articles, settings.index_events])
    yield settings
    delete_indices(client, settings)


@pytest.fixture()
def search(indexed: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SearchRunner]:
    monkeypatch.setenv("PIPELINE_ELASTICSEARCH_URL", indexed.elasticsearch_url)
    monkeypatch.setenv("PIPELINE_INDEX_ARTICLES", indexed.index_articles)
    monkeypatch.setenv("PIPELINE_INDEX_EVENTS", indexed.index_events)
    get_settings.cache_clear()

    def run(*arguments: str, code: int = 0) -> tuple[str, str]:
        result = CliRunner().invoke(app, ["search", *arguments], env={"COLUMNS": "250"})
        assert result.exit_code == code, result.output
        return result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def _event_numbers(jsonl: str) -> list[int]:
    by_id = {event.event_id: n for n, event in enumerate(varied_events(), 1)}
    return [by_id[json.loads(line)["event_id"]] for line in jsonl.splitlines()]


def test_events_newest_reported_first(search: SearchRunner) -> None:
    out, note = search("--events", "--format", "jsonl")
    # First reported 1 Feb, 10 Jan, 7 Jan; four on 6 Jan at 09:00 by their own date (two dated 2025-01-06, then
    # 2025-01 and 2025, which both begin on 1 January; ties by id); 31 Dec; and the one no article dates, last.
    numbers = _event_numbers(out)
    assert numbers[:3] == [9, 3, 6] and set(numbers[3:5]) == {1, 2} and set(numbers[5:7]) == {4, 8}
    assert numbers[7:] == [5, 7]
    assert "9 events" in note  # the summary goes to stderr, so stdout is only records
    oldest = _event_numbers(search("--events", "--format", "jsonl", "--sort", "oldest")[0])
    assert oldest[0] == 5 and set(oldest[1:3]) == {4, 8} and oldest[-4:] == [6, 3, 9, 7]


def test_filters_resolve_names_and_ignore_case(search: SearchRunner) -> None:
    assert sorted(_event_numbers(search("--events", "--country", "Turkey", "--format", "jsonl")[0])) == [3, 8]
    assert sorted(_event_numbers(search("--events", "--country", "Kosovo", "--format", "jsonl")[0])) == [6, 8]
    assert sorted(_event_numbers(search("--events", "--entity", "blinken", "--format", "jsonl")[0])) == [2, 3]
    assert _event_numbers(search("--events", "--min-confidence", "0.9", "--format", "jsonl")[0]) == [9, 2]
    articles, _ = search("--entity", "BLINKEN", "--format", "jsonl")
    assert [json.loads(line)["article_id"] for line in articles.splitlines()] == ["art_0002"]


def test_bad_values_are_short_messages(search: SearchRunner) -> None:
    for arguments, says in [
        (("--events", "--type", "missile"), "valid: ACCUSE"),
        (("--since", "2025/01/01"), "is not a time"),
        (("--country", "EU"), "not a country"),
        (("--country", "Korea"), "KOR (South Korea), PRK (North Korea)"),
        (("--mode", "visit"), "add --events"),
        (("--format", "geojson"), "geojson is for events"),
    ]:
        result = CliRunner().invoke(app, ["search", *arguments], env={"COLUMNS": "300"})
        assert result.exit_code == 64, result.output  # EX_USAGE, as every usage error
        assert says in " ".join(result.output.split()) and "Traceback" not in result.output


def test_articles_newest_first_with_url_id_and_highlight(search: SearchRunner) -> None:
    out, _ = search("missile")
    lines = out.splitlines()
    titles = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert "Talks in Ankara" in titles[0] and "Missile fired" in titles[1]  # newest first, not best match first
    assert "https://news.example/2025/01/07/talks · art_0002" in out
    best, _ = search("missile", "--sort", "relevance", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(best)))
    assert rows[0]["article_id"] == "art_0003" and "missile" in rows[0]["highlight"].lower()


def test_paging(search: SearchRunner) -> None:
    everything = _event_numbers(search("--events", "--format", "jsonl")[0])
    second, note = search("--events", "--format", "jsonl", "--size", "3", "--page", "2")
    assert _event_numbers(second) == everything[3:6]
    assert "showing 4-6" in note and "--page 3" in note


def test_event_urls_come_from_the_articles_index(search: SearchRunner, indexed: Settings) -> None:
    client = Elasticsearch(indexed.elasticsearch_url)
    event = varied_events()[0].model_copy(
        update={"event_id": "evt_with_article", "article_id": "art_0003", "article_ids": ["art_0003"]}
    )
    ElasticsearchSink(client, indexed.index_articles, indexed.index_events).write_events([event])
    client.indices.refresh(index=indexed.index_events)
    try:
        out, _ = search("--events", "--format", "csv", "--entity", "north korea", "--type", "MOBILIZE")
        rows = {row["event_id"]: row for row in csv.DictReader(io.StringIO(out))}
        assert rows["evt_with_article"]["urls"] == "https://news.example/2025/01/02/missile"
    finally:
        client.delete(index=indexed.index_events, id="evt_with_article", refresh=True)


def test_counts(search: SearchRunner) -> None:
    by_type = json.loads(search("--events", "--count-by", "type", "--format", "json")[0])
    assert {"type": "CONSULT", "count": 2} in by_type and sum(row["count"] for row in by_type) == 9
    by_country = {
        row["country"]: row["count"]
        for row in json.loads(search("--events", "--count-by", "country", "--format", "json")[0])
    }
    # An event with KOR as both actor and place counts once.
    assert by_country["KOR"] == 4 and by_country["PRK"] == 3 and by_country["TUR"] == 2
    by_entity = {
        row["entity"]: row["count"]
        for row in json.loads(search("--events", "--count-by", "entity", "--format", "json")[0])
    }
    assert by_entity["Antony Blinken"] == 2 and by_entity["Seoul"] == 2
    days, _ = search(
        "--events", "--count-by", "day", "--since", "2025-01-05", "--until", "2025-01-11", "--format", "csv"
    )
    assert days.splitlines() == [
        "day,count", "2025-01-05,0", "2025-01-06,2", "2025-01-07,0", "2025-01-08,0", "2025-01-09,0",
        "2025-01-10,1", "2025-01-11,0",
    ]  # fmt: skip
    table, _ = search("--count-by", "country")
    assert "KOR" in table and "█" in table


def test_geojson_of_events_near_a_place(search: SearchRunner) -> None:
    document = json.loads(search("--events", "--near", "Seoul", "--radius-km", "50", "--format", "geojson")[0])
    assert document["type"] == "FeatureCollection"
    assert {f["properties"]["place"] for f in document["features"]} == {"Seoul", "Incheon"}
