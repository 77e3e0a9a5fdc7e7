"""Searching the indexed articles and events: query building (pure) and result shaping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pycountry


@dataclass(frozen=True)
class SearchFilters:
    text: str | None = None
    entity: str | None = None
    event_type: str | None = None
    country: str | None = None
    since: date | None = None
    until: date | None = None


def country_code(value: str) -> str:
    """'KOR', 'KR', 'South Korea' -> 'KOR'; unknown values pass through upper-cased."""
    candidate = value.strip()
    try:
        found = pycountry.countries.lookup(candidate)
    except LookupError:
        try:
            found = pycountry.countries.search_fuzzy(candidate)[0]
        except LookupError:
            return candidate.upper()
    return str(found.alpha_3)


def _date_range(field: str, filters: SearchFilters) -> dict[str, Any] | None:
    if not (filters.since or filters.until):
        return None
    bounds: dict[str, str] = {}
    if filters.since:
        bounds["gte"] = filters.since.isoformat()
    if filters.until:
        bounds["lte"] = filters.until.isoformat()
    return {"range": {field: bounds}}


def article_query(filters: SearchFilters) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    filter_: list[dict[str, Any]] = []
    if filters.text:
        must.append({"multi_match": {"query": filters.text, "fields": ["title^2", "text"]}})
    if filters.entity:
        filter_.append({"term": {"entities.name": filters.entity}})
    if filters.event_type:
        filter_.append({"term": {"event_types": filters.event_type.upper()}})
    if filters.country:
        filter_.append({"term": {"countries": country_code(filters.country)}})
    if (period := _date_range("published_at", filters)) is not None:
        filter_.append(period)
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filter_}}


def event_query(filters: SearchFilters) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    filter_: list[dict[str, Any]] = []
    if filters.text:
        must.append({"match": {"evidence.sentence": filters.text}})
    if filters.entity:
        filter_.append(
            {
                "bool": {
                    "should": [
                        {"term": {"source.name": filters.entity}},
                        {"term": {"target.name": filters.entity}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    if filters.event_type:
        filter_.append({"term": {"event_type": filters.event_type.upper()}})
    if filters.country:
        code = country_code(filters.country)
        filter_.append(
            {
                "bool": {
                    "should": [
                        {"term": {"source.country_code": code}},
                        {"term": {"target.country_code": code}},
                        {"term": {"location.country_code": code}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    if (period := _date_range("date", filters)) is not None:
        filter_.append(period)
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filter_}}


ARTICLE_HIGHLIGHT: dict[str, Any] = {"fields": {"text": {"fragment_size": 160, "number_of_fragments": 1}}}
EVENT_SORT: list[dict[str, Any]] = [{"_score": "desc"}, {"date": {"order": "desc", "unmapped_type": "date"}}]
