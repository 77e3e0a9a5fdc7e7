"""Records -> Elasticsearch documents, and how two reports of one event merge. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.records import EnrichedArticle, Event


def _now() -> str:
    return datetime.now(UTC).isoformat()


def article_document(article: EnrichedArticle) -> dict[str, Any]:
    doc = article.model_dump(mode="json")
    doc["indexed_at"] = _now()
    return doc


def event_document(event: Event) -> dict[str, Any]:
    doc = event.model_dump(mode="json")
    doc["article_ids"] = sorted(set(doc.get("article_ids") or []) | {event.article_id})
    location = doc.get("location")
    if location and location.get("lat") is not None and location.get("lon") is not None:
        location["point"] = {"lat": location["lat"], "lon": location["lon"]}
    elif location is not None:
        location["point"] = None
    doc["indexed_at"] = _now()
    return doc


def merge_event(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """One event reported by several articles: keep every source article and the best evidence.

    Merging is commutative and idempotent in what matters (article set, best confidence, earliest
    publication), so replays and out-of-order delivery converge on the same document.
    """
    incoming_is_better = float(incoming.get("confidence") or 0) > float(existing.get("confidence") or 0)
    merged = dict(incoming if incoming_is_better else existing)
    merged["article_ids"] = sorted(set(existing.get("article_ids") or []) | set(incoming.get("article_ids") or []))
    published = [p for p in (existing.get("article_published_at"), incoming.get("article_published_at")) if p]
    merged["article_published_at"] = min(published) if published else None
    # The first article that reported the event stays its "article_id"; the rest are in article_ids.
    merged["article_id"] = existing["article_id"]
    merged["indexed_at"] = incoming.get("indexed_at") or existing.get("indexed_at")
    return merged
