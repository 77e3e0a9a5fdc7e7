"""Choosing dead letters and planning their replay (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.deadletter import dead_letter
from pipeline.deadletters.select import Letter, LetterFilter, plan_replay, replay_topics
from pipeline.settings import Settings


def _letter(letter_offset: int, **fields: object) -> Letter:
    record = dead_letter(
        fields.pop("stage", "index"),  # type: ignore[arg-type]
        str(fields.pop("reason", "mapper_parsing_exception: bad date")),
        key="k",
        **fields,  # type: ignore[arg-type]
    )
    return Letter(0, letter_offset, record)


def test_filters_by_stage_reason_source_and_time() -> None:
    letter = _letter(1, source_topic="articles.enriched", partition=0, offset=4, payload=b"{}")
    assert LetterFilter(stage="index", reason="MAPPER_parsing").matches(letter.record)
    assert not LetterFilter(stage="enrich").matches(letter.record)
    assert not LetterFilter(reason="timeout").matches(letter.record)
    assert not LetterFilter(source_topic="articles.raw").matches(letter.record)
    assert LetterFilter(since=datetime(2020, 1, 1, tzinfo=UTC)).matches(letter.record)
    assert not LetterFilter(until=datetime(2020, 1, 1, tzinfo=UTC)).matches(letter.record)


def test_replay_plans_use_the_payload_or_the_source_offset_and_say_why_others_cannot_go_back() -> None:
    kept = _letter(1, source_topic="articles.raw", partition=1, offset=7, payload=b'{"a": 1}')
    located = _letter(2, source_topic="articles.raw", partition=1, offset=8)
    from_feed = _letter(3, stage="collect", payload=b"<item/>")
    plans, skipped = plan_replay([kept, located, from_feed], {"articles.raw"})
    assert [(p.letter.offset, p.topic, p.payload_in_letter) for p in plans] == [
        (1, "articles.raw", True),
        (2, "articles.raw", False),
    ]
    assert [(letter.offset, "no source topic" in why) for letter, why in skipped] == [(3, True)]


def test_replay_goes_only_to_the_pipelines_input_topics_and_keeps_a_keyless_letter_keyless() -> None:
    """Issue 21 item 12: a letter names its source topic, and replay trusted it."""
    settings = Settings(topic_raw="t.raw", topic_enriched="t.enriched", topic_events="t.events")
    aimed = _letter(1, source_topic="pipeline.subscriptions", partition=0, offset=0, payload=b'{"name": "x"}')
    keyless = Letter(
        0, 2, dead_letter("enrich", "bad", key=None, source_topic="t.raw", partition=0, offset=1, payload=b"{}")
    )
    plans, skipped = plan_replay([aimed, keyless], replay_topics(settings))
    assert replay_topics(settings) == {"t.raw", "t.enriched", "t.events"}
    assert [(p.letter.offset, p.topic, p.key) for p in plans] == [(2, "t.raw", None)]
    assert [(letter.offset, "not a pipeline input" in why) for letter, why in skipped] == [(1, True)]
