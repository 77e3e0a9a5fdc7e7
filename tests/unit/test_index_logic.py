"""Pure parts of the index stage: event merging, ids and query building."""

from __future__ import annotations

from datetime import date

from pipeline.ids import article_id, event_id
from pipeline.index.documents import merge_event
from pipeline.index.search import SearchFilters, article_lines, article_query, country_code, event_lines, event_query


def test_ids_are_stable_and_distinct() -> None:
    assert article_id("https://a.example/x") == article_id("https://a.example/x")
    assert article_id("https://a.example/x") != article_id("https://a.example/y")
    same = event_id("CONSULT", "USA", "KOR", "Seoul", "2025-01-06")
    assert same == event_id("consult", "usa", "kor", "seoul", "2025-01-06")
    assert same != event_id("CONSULT", "USA", "KOR", "Seoul", "2025-01-07")


def test_merge_event_unions_sources_and_keeps_the_best_evidence() -> None:
    first = {
        "event_id": "e",
        "article_id": "a1",
        "article_ids": ["a1"],
        "confidence": 0.5,
        "evidence": {"sentence": "weak"},
        "article_published_at": "2025-01-06T10:00:00Z",
    }
    second = {
        "event_id": "e",
        "article_id": "a2",
        "article_ids": ["a2"],
        "confidence": 0.9,
        "evidence": {"sentence": "strong"},
        "article_published_at": "2025-01-06T09:00:00Z",
    }
    merged = merge_event(first, second)
    assert merged["article_ids"] == ["a1", "a2"]
    assert merged["article_id"] == "a1"
    assert merged["evidence"]["sentence"] == "strong"
    assert merged["article_published_at"] == "2025-01-06T09:00:00Z"
    assert merge_event(merged, second)["article_ids"] == ["a1", "a2"]  # replay changes nothing


def test_merge_event_keeps_every_reporting_articles_url_and_title() -> None:
    def report(aid: str, published: str) -> dict[str, object]:
        ref = {"article_id": aid, "url": f"https://n.example/{aid}", "title": aid.upper(), "published_at": published}
        return {"event_id": "e", "article_id": aid, "article_ids": [aid], "articles": [ref], "confidence": 0.5}

    later, earlier = report("a1", "2025-01-06T10:00:00Z"), report("a2", "2025-01-06T09:00:00Z")
    merged = merge_event(later, earlier)
    assert [ref["article_id"] for ref in merged["articles"]] == ["a2", "a1"]  # earliest report first
    assert merged["articles"][1]["url"] == "https://n.example/a1"
    assert merge_event(merged, later)["articles"] == merged["articles"] == merge_event(earlier, later)["articles"]


def test_country_code_accepts_names_and_codes() -> None:
    assert country_code("South Korea") == "KOR"
    assert country_code("kr") == "KOR"
    assert country_code("PRK") == "PRK"


def test_article_query_combines_text_and_filters() -> None:
    query = article_query(
        SearchFilters(
            text="missile",
            entity="Antony Blinken",
            event_type="consult",
            country="Japan",
            since=date(2025, 1, 1),
        )
    )
    assert query["bool"]["must"][0]["multi_match"]["query"] == "missile"
    filters = query["bool"]["filter"]
    assert {"term": {"entities.name": "Antony Blinken"}} in filters
    assert {"term": {"event_types": "CONSULT"}} in filters
    assert {"term": {"countries": "JPN"}} in filters
    assert {"range": {"published_at": {"gte": "2025-01-01"}}} in filters


def test_event_query_without_text_matches_all() -> None:
    query = event_query(SearchFilters(country="North Korea"))
    assert query["bool"]["must"] == [{"match_all": {}}]
    assert query["bool"]["filter"][0]["bool"]["should"][0] == {"term": {"source.country_code": "PRK"}}


def test_event_lines_read_like_a_sentence() -> None:
    from tests.factories import sample_event

    head, evidence = event_lines(sample_event().model_dump(mode="json"))
    assert "MOBILIZE/weapons" in head and "North Korea (PRK) → ?" in head and "@ Seoul" in head
    assert "Seoul: a launch." in evidence


def test_article_lines_show_the_highlighted_passage() -> None:
    from tests.factories import sample_enriched

    hit = {"_source": sample_enriched().model_dump(mode="json"), "highlight": {"text": ["a <em>launch</em>"]}}
    title, passage, details = article_lines(hit)
    assert title.endswith("Launch") and "[bold yellow]launch[/bold yellow]" in passage
    assert "Seoul" in details and "MOBILIZE" in details
