"""Which changes a named subscription takes: its filter, and nothing older than its start without backfill."""

from __future__ import annotations

from pipeline.publish.changes import apply_report
from pipeline.publish.materialise import SubscriptionMatcher
from pipeline.query.filters import EventFilter
from pipeline.records import EventChange, Subscription
from tests.factories import sample_event


def change_at(partition: int, offset: int, confidence: float = 0.8) -> EventChange:
    report = sample_event().model_copy(update={"confidence": confidence}).model_dump(mode="json")
    change = apply_report(None, report, partition, offset)[1]
    assert change is not None
    return change


def subscription(**fields: object) -> Subscription:
    event_filter = EventFilter.parse(countries=["KOR"], min_confidence=0.6)
    return Subscription.model_validate({"name": "korea", "filter": event_filter.model_dump(mode="json"), **fields})


def test_the_filter_decides_on_the_merged_event() -> None:
    matcher = SubscriptionMatcher(subscription())
    assert matcher.wants(change_at(0, 5))
    assert not matcher.wants(change_at(0, 6, confidence=0.3))


def test_without_backfill_only_changes_from_its_start_on() -> None:
    matcher = SubscriptionMatcher(subscription(backfill=False, live_from={"0": 10, "1": 3}))
    assert not matcher.wants(change_at(0, 9))
    assert matcher.wants(change_at(0, 10))
    assert matcher.wants(change_at(1, 3))
    assert matcher.first_offset(2) == 0  # a partition added later: all of it is new
