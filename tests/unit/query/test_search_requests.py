"""Search request bodies and the shaping of responses (the queries run against Elasticsearch in
tests/integration/test_search_cli.py)."""

from __future__ import annotations

import pytest

from pipeline.index.search import CountBy, SearchError, SearchRequest, SortOrder, as_record, counts_of, page_of
from pipeline.query.filters import EventFilter


def test_newest_first_by_default_with_a_stable_tiebreak() -> None:
    assert SearchRequest().sort_clauses() == [
        {"published_at": {"order": "desc", "missing": "_last"}},
        {"article_id": "asc"},
    ]
    events = SearchRequest(events=True).sort_clauses()
    assert list(events[0]) == ["article_published_at"] and events[0]["article_published_at"]["order"] == "desc"
    assert events[-1] == {"event_id": "asc"}
    assert SearchRequest(events=True, sort=SortOrder.confidence).sort_clauses()[0] == {"confidence": "desc"}
    assert SearchRequest(text="x", sort=SortOrder.relevance).sort_clauses()[0] == {"_score": "desc"}


def test_paging_and_highlight() -> None:
    body = SearchRequest(text="missile", page=3, size=20).body()
    assert body["from"] == 40 and body["size"] == 20 and body["track_total_hits"] is True
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "missile"
    assert set(body["highlight"]["fields"]) == {"title", "text"}
    assert "highlight" not in SearchRequest().body()
    event_body = SearchRequest(text="missile", events=True).body()
    assert event_body["query"]["bool"]["must"] == [{"match": {"evidence.sentence": "missile"}}]


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        ({"event_filter": EventFilter.parse(modes="visit")}, "--mode"),
        ({"event_filter": EventFilter.parse(min_confidence="0.5")}, "--min-confidence"),
        ({"event_filter": EventFilter.parse(near="Seoul")}, "--near"),
        ({"sort": SortOrder.confidence}, "--sort"),
        ({"page": 101, "size": 100}, "--page"),
    ],
)
def test_requests_that_cannot_be_asked_say_which_option(arguments: dict[str, object], option: str) -> None:
    with pytest.raises(SearchError) as caught:
        SearchRequest(**arguments)  # type: ignore[arg-type]
    assert caught.value.option == option


def test_count_bodies() -> None:
    by_day = SearchRequest(events=True, event_filter=EventFilter.parse(since="2025-01-01", until="2025-01-31"))
    histogram = by_day.count_body(CountBy.day)["aggs"]["counts"]["date_histogram"]
    assert histogram["field"] == "date" and histogram["calendar_interval"] == "day"
    assert histogram["extended_bounds"]["min"] == 1735689600000
    assert SearchRequest().count_body(CountBy.month)["aggs"]["counts"]["date_histogram"]["field"] == "published_at"
    terms = SearchRequest(events=True).count_body(CountBy.type)["aggs"]
    assert terms == {"counts_0": {"terms": {"field": "event_type", "size": 25}}}
    countries = SearchRequest(events=True).count_body(CountBy.country)["aggs"]
    assert len(countries) == 3
    exact = SearchRequest(events=True).exact_count_body(CountBy.country, ["KOR"])["aggs"]["counts"]["filters"]
    assert len(exact["filters"]["KOR"]["bool"]["should"]) == 3


def test_counts_of_each_aggregation_shape() -> None:
    terms = {"aggregations": {"counts_0": {"buckets": [{"key": "A", "doc_count": 1}, {"key": "B", "doc_count": 3}]}}}
    assert counts_of(terms) == [("B", 3), ("A", 1)]
    filters = {"aggregations": {"counts": {"buckets": {"KOR": {"doc_count": 4}, "PRK": {"doc_count": 0}}}}}
    assert counts_of(filters) == [("KOR", 4)]
    days = {
        "aggregations": {
            "counts": {
                "buckets": [
                    {"key_as_string": "2025-01-02", "doc_count": 0},
                    {"key_as_string": "2025-01-03", "doc_count": 2},
                ]
            }
        }
    }
    assert counts_of(days) == [("2025-01-02", 0), ("2025-01-03", 2)]
    assert counts_of({"aggregations": {"counts": {"buckets": []}}}) == []


def test_hits_are_records_again() -> None:
    document = {"event_id": "e", "location": {"place": "Seoul", "point": {"lat": 1, "lon": 2}}, "indexed_at": "now"}
    assert as_record(document) == {"event_id": "e", "location": {"place": "Seoul"}}
    response = {
        "hits": {
            "total": {"value": 7},
            "hits": [{"_source": {"article_id": "a"}, "highlight": {"title": ["t"], "text": ["<em>x</em>"]}}],
        }
    }
    page = page_of(response)
    assert page.total == 7 and page.hits[0].highlight == ["<em>x</em>"]
