"""Pure parts of the index stage: event merging and ids (search: tests/unit/query)."""

from __future__ import annotations

from pipeline.ids import article_id, event_id
from pipeline.index.documents import merge_event


def test_ids_are_stable_and_distinct() -> None:
    # Pinned values, not a call compared with itself: the ids key every message and document already stored, so
    # a change to how they are made (hash, separator, casing) must show here, not as duplicates in the index.
    assert article_id("https://a.example/x") == "art_39021306bfa34811afd3241f"
    assert article_id("https://a.example/y") == "art_b3a6e3ab3e37e85a6902607e"
    same = event_id("CONSULT", "USA", "KOR", "Seoul", "2025-01-06")
    assert same == "evt_f223cc08bba5c2173e234103"
    assert event_id("consult", "usa", "kor", "seoul", "2025-01-06") == same  # case does not make another event
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
