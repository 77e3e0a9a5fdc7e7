"""Creates and updates: which report of an event is news to a subscriber. Pure functions.

``events.enriched`` carries one message per (article, event): an event reported by three articles arrives
three times under one key. A subscriber wants it once when first coded (a *create*) and again whenever
another article reports it (an *update*, naming the new articles), never for a replayed or re-enriched
report of an article it has already seen.

The state per event remembers, for each reporting article, the offset of the message that first brought
it. That makes the derivation deterministic and idempotent:

* a report of an article already known from another offset (re-enrichment, a replay) changes nothing;
* the same message processed again (a worker died before committing its offset) yields the same change
  again, so at-least-once processing repeats a change rather than losing it;
* replaying a partition from its start with an empty state reproduces exactly the live changes, which is
  how a new subscription is backfilled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.records import EventChange
from pipeline.reports import merge_reports


@dataclass(slots=True)
class EventState:
    """What is known of one event: its merged record and where each article's first report was."""

    event: dict[str, Any]
    first_offsets: dict[str, int] = field(default_factory=dict)
    # Set by the materialiser for its time-to-live (pipeline.publish.expiry): the partition, and the Kafka
    # timestamp of the report that last changed the state. None in states written before it kept them.
    partition: int | None = None
    updated_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.event, "first_offsets": self.first_offsets}
        if self.partition is not None and self.updated_ms is not None:
            data |= {"partition": self.partition, "updated_ms": self.updated_ms}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventState:
        return cls(
            event=data["event"],
            first_offsets={k: int(v) for k, v in data["first_offsets"].items()},
            partition=data.get("partition"),
            updated_ms=data.get("updated_ms"),
        )


def apply_report(
    state: EventState | None, report: dict[str, Any], partition: int, offset: int
) -> tuple[EventState | None, EventChange | None]:
    """Fold one message of ``events.enriched`` into an event's state.

    Returns the new state (None: unchanged) and the change to publish (None: nothing new)."""
    article = report["article_id"]
    if state is not None and article in state.first_offsets:
        if state.first_offsets[article] != offset:
            return None, None
        return None, _change(_as_of(state, offset), [article], partition, offset)
    if state is None:
        updated = EventState(event=dict(report), first_offsets={article: offset})
    else:
        updated = EventState(
            event=merge_reports(state.event, report), first_offsets={**state.first_offsets, article: offset}
        )
    return updated, _change(updated, [article], partition, offset)


def _as_of(state: EventState, offset: int) -> EventState:
    """The state as it was right after ``offset``: the articles first reported there or before."""
    known = {a: o for a, o in state.first_offsets.items() if o <= offset}
    if len(known) == len(state.first_offsets):
        return state
    event = dict(state.event)
    event["article_ids"] = [a for a in event.get("article_ids") or [] if a in known]
    event["articles"] = [ref for ref in event.get("articles") or [] if ref["article_id"] in known]
    return EventState(event=event, first_offsets=known)


def _change(state: EventState, new_articles: list[str], partition: int, offset: int) -> EventChange:
    count = len(state.first_offsets)
    return EventChange.model_validate(
        {
            "change": "create" if count == 1 else "update",
            "event_id": state.event["event_id"],
            "article_count": count,
            "new_article_ids": new_articles,
            "event": state.event,
            "source_partition": partition,
            "source_offset": offset,
        }
    )
