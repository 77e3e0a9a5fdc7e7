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
# Best match first; without a query, the most recently reported and then the most confident.
EVENT_SORT: list[dict[str, Any]] = [
    {"_score": "desc"},
    {"article_published_at": {"order": "desc", "unmapped_type": "date"}},
    {"confidence": "desc"},
]


def _actor(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "?"
    code = actor.get("country_code")
    return f"{actor['name']} ({code})" if code and code != actor["name"] else str(actor["name"])


def event_lines(event: dict[str, Any]) -> list[str]:
    """An event (as indexed or as published) in two readable lines, rich markup included."""
    kind = event["event_type"] + (f"/{event['mode']}" if event.get("mode") else "")
    location = event.get("location") or {}
    place = location.get("place") or location.get("country_code")
    sources = len(event.get("article_ids") or []) or 1
    head = (
        f"[bold]{event.get('date') or '????-??-??'}[/bold]  [cyan]{kind}[/cyan]  "
        f"{_actor(event.get('source'))} → {_actor(event.get('target'))}"
        f"{f'  @ {place}' if place else ''}  [dim]({sources} article{'s' if sources > 1 else ''}, "
        f"confidence {float(event.get('confidence') or 0):.2f})[/dim]"
    )
    return [head, f"    “{event['evidence']['sentence'].strip()[:240]}”"]


def article_lines(hit: dict[str, Any]) -> list[str]:
    """A search hit on an article: date and title, the matching passage, its entities and event types."""
    article = hit["_source"]
    fragment = " … ".join(hit.get("highlight", {}).get("text", [])) or article["text"][:200]
    fragment = " ".join(fragment.split()).replace("<em>", "[bold yellow]").replace("</em>", "[/bold yellow]")
    entities = ", ".join(e["name"] for e in article.get("entities", [])[:8])
    kinds = ", ".join(sorted(set(article.get("event_types") or []))) or "none"
    return [
        f"[bold]{(article.get('published_at') or '')[:10]}[/bold]  {article.get('title') or article['url']}",
        f"    …{fragment}…",
        f"    [dim]entities: {entities} · events: {kinds}[/dim]",
    ]
