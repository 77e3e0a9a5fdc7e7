"""Records -> Elasticsearch documents, and how two reports of one event merge. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.records import EnrichedArticle, Event
from pipeline.reports import merge_reports


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
    """Two reports of one event as one document (see ``pipeline.reports.merge_reports``)."""
    merged = merge_reports(existing, incoming)
    merged["indexed_at"] = incoming.get("indexed_at") or existing.get("indexed_at")
    return merged
