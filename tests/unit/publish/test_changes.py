"""Creates and updates derived from event reports: once when first coded, again per new article, never for
a replay or a re-enriched article."""

from __future__ import annotations

from typing import Any

from pipeline.publish.changes import EventState, apply_report
from pipeline.records import ArticleRef, EventChange
from tests.factories import sample_event


def report(article: str) -> dict[str, Any]:
    ref = ArticleRef(article_id=article, url=f"https://n.example/{article}", title=f"Report {article}")
    return (
        sample_event()
        .model_copy(update={"article_id": article, "article_ids": [article], "articles": [ref]})
        .model_dump(mode="json")
    )


def fold(messages: list[tuple[str, int]]) -> tuple[EventState | None, list[EventChange]]:
    state: EventState | None = None
    changes = []
    for article, offset in messages:
        updated, change = apply_report(state, report(article), 0, offset)
        state = updated or state
        if change is not None:
            changes.append(change)
    return state, changes


def test_first_report_is_a_create_and_another_article_an_update() -> None:
    _, changes = fold([("a1", 3), ("a2", 7)])
    assert [(c.change, c.article_count, c.new_article_ids) for c in changes] == [
        ("create", 1, ["a1"]),
        ("update", 2, ["a2"]),
    ]
    assert [ref.url for ref in changes[1].event.articles] == ["https://n.example/a1", "https://n.example/a2"]
    assert changes[1].event.article_ids == ["a1", "a2"] and changes[1].source_offset == 7


def test_a_known_article_reported_again_changes_nothing() -> None:
    _, changes = fold([("a1", 3), ("a2", 7), ("a1", 9)])  # a1 re-enriched or replayed at a new offset
    assert len(changes) == 2


def test_the_same_message_processed_again_repeats_its_change_as_it_was() -> None:
    state, _ = fold([("a1", 3), ("a2", 7)])
    assert state is not None
    updated, again = apply_report(state, report("a1"), 0, 3)  # the worker died before committing offset 3
    assert updated is None and again is not None
    assert (again.change, again.article_count, again.event.article_ids) == ("create", 1, ["a1"])
    assert [ref.article_id for ref in again.event.articles] == ["a1"]


def test_state_survives_a_json_round_trip() -> None:
    state, _ = fold([("a1", 3), ("a2", 7)])
    assert state is not None
    restored = EventState.from_json(state.to_json())
    assert restored == state
    assert apply_report(restored, report("a3"), 0, 11)[1].article_count == 3  # type: ignore[union-attr]
