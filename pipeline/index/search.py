"""Searching the indexed articles and events: request bodies (pure), and hits and counts from responses.

Filters are ``pipeline.query.filters.EventFilter``, the same as ``subscribe`` uses; this module adds what
only a search has: full text, sort order, paging, highlights and counts (terms and date histograms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipeline.query.filters import EventFilter
from pipeline.query.formats import Hit, RecordKind

MAX_RESULT_WINDOW = 10_000  # Elasticsearch's default index.max_result_window
DEFAULT_COUNT_BUCKETS = 25


class SortOrder(StrEnum):
    newest = "newest"
    oldest = "oldest"
    relevance = "relevance"
    confidence = "confidence"

    @property
    def label(self) -> str:
        labels = {"newest": "newest first", "oldest": "oldest first", "relevance": "best match first"}
        return labels.get(self.value, "most confident first")


class CountBy(StrEnum):
    type = "type"
    country = "country"
    entity = "entity"
    language = "language"
    not_extracted = "not-extracted"
    day = "day"
    week = "week"
    month = "month"


class SearchError(ValueError):
    """A search that cannot be asked as given; ``option`` names the option to change."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.detail = message


@dataclass(frozen=True)
class SearchRequest:
    text: str | None = None
    event_filter: EventFilter = field(default_factory=EventFilter)
    events: bool = False
    sort: SortOrder = SortOrder.newest
    page: int = 1
    size: int = 10

    def __post_init__(self) -> None:
        if not self.events:
            unsupported = self.event_filter.unsupported_for_articles()
            if unsupported:
                raise SearchError(unsupported[0], "filters events only; add --events")
            if self.sort is SortOrder.confidence:
                raise SearchError("--sort", "confidence orders events only; add --events")
        if self.page < 1 or self.size < 1:
            raise SearchError("--page", "pages and sizes start at 1")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise SearchError(
                "--page", f"results beyond the first {MAX_RESULT_WINDOW:,} are not paged; narrow the filters instead"
            )

    @property
    def kind(self) -> RecordKind:
        return "event" if self.events else "article"

    @property
    def time_field(self) -> str:
        return "date" if self.events else "published_at"

    def query(self) -> dict[str, Any]:
        if self.events:
            query = self.event_filter.to_es_query()
            if self.text:
                query["bool"]["must"] = [{"match": {"evidence.sentence": self.text}}]
        else:
            query = self.event_filter.to_es_article_query()
            if self.text:
                query["bool"]["must"] = [{"multi_match": {"query": self.text, "fields": ["title^2", "text"]}}]
        return query

    def sort_clauses(self) -> list[dict[str, Any]]:
        newest = _time_order(self.events, "desc")
        tiebreak = {("event_id" if self.events else "article_id"): "asc"}
        orders = {
            SortOrder.newest: newest,
            SortOrder.oldest: _time_order(self.events, "asc"),
            SortOrder.relevance: [{"_score": "desc"}, *newest],
            SortOrder.confidence: [{"confidence": "desc"}, *newest],
        }
        return [*orders[self.sort], tiebreak]

    def body(self) -> dict[str, Any]:
        """The search request: query, order, page, and highlights of the text matched."""
        body: dict[str, Any] = {
            "query": self.query(),
            "sort": self.sort_clauses(),
            "from": (self.page - 1) * self.size,
            "size": self.size,
            "track_total_hits": True,
        }
        if self.text:
            fields = ["evidence.sentence"] if self.events else ["title", "text"]
            body["highlight"] = {
                "fields": {name: {"fragment_size": 160, "number_of_fragments": 2} for name in fields},
            }
        return body

    def count_fields(self, count_by: CountBy) -> list[str]:
        """The keyword fields a count runs over; an event's country or entity is any of several fields."""
        if count_by is CountBy.type:
            return ["event_type" if self.events else "event_types"]
        if count_by is CountBy.country:
            return (
                ["source.country_code", "target.country_code", "location.country_code"]
                if self.events
                else ["countries"]
            )
        if count_by is CountBy.entity:
            return ["source.name", "target.name", "location.place"] if self.events else ["entities.name"]
        if count_by in (CountBy.language, CountBy.not_extracted):
            if self.events:
                raise SearchError("--count-by", f"{count_by.value} counts articles only (events are English-only)")
            return ["language" if count_by is CountBy.language else "not_extracted"]
        return [self.time_field]

    def count_body(self, count_by: CountBy, buckets: int = DEFAULT_COUNT_BUCKETS) -> dict[str, Any]:
        """Counts over the matching documents: a date histogram, or terms per field.

        For a value spread over several fields (an event's countries), these terms only nominate candidates;
        ``exact_count_body`` then counts each candidate once per event."""
        aggregations: dict[str, Any]
        if count_by in (CountBy.day, CountBy.week, CountBy.month):
            aggregations = {
                "counts": {
                    "date_histogram": {
                        "field": self.time_field,
                        "calendar_interval": count_by.value,
                        "format": "yyyy-MM-dd",
                        "min_doc_count": 0,
                        **self._histogram_bounds(),
                    }
                }
            }
        else:
            size = buckets if len(self.count_fields(count_by)) == 1 else max(buckets * 4, 100)
            aggregations = {
                f"counts_{n}": {"terms": {"field": name, "size": size}}
                for n, name in enumerate(self.count_fields(count_by))
            }
        return {"query": self.query(), "size": 0, "track_total_hits": True, "aggs": aggregations}

    def _histogram_bounds(self) -> dict[str, Any]:
        """With --since and --until, the histogram spans them, quiet periods at either end included."""
        since, until = self.event_filter.since, self.event_filter.until
        if since is None or until is None:
            return {}
        return {"extended_bounds": {"min": int(since.timestamp() * 1000), "max": int(until.timestamp() * 1000)}}

    def exact_count_body(self, count_by: CountBy, candidates: list[str]) -> dict[str, Any]:
        """One count per candidate value, each document counted once whichever of the fields holds it."""
        fields = self.count_fields(count_by)
        named = {
            value: {"bool": {"should": [{"term": {name: value}} for name in fields], "minimum_should_match": 1}}
            for value in candidates
        }
        return {"query": self.query(), "size": 0, "aggs": {"counts": {"filters": {"filters": named}}}}


def _time_order(events: bool, direction: str) -> list[dict[str, Any]]:
    # Events by when they were first reported, so an event dated next year (a planned summit) does not head
    # today's list; their own date breaks ties. Undated articles and unreported events go last either way.
    if events:
        return [
            {"article_published_at": {"order": direction, "missing": "_last", "unmapped_type": "date"}},
            {"date": {"order": direction, "missing": "_last"}},
        ]
    return [{"published_at": {"order": direction, "missing": "_last"}}]


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[Hit]


def page_of(response: dict[str, Any]) -> SearchPage:
    hits = [Hit(record=as_record(hit["_source"]), highlight=_passages(hit)) for hit in response["hits"]["hits"]]
    return SearchPage(total=int(response["hits"]["total"]["value"]), hits=hits)


def as_record(document: dict[str, Any]) -> dict[str, Any]:
    """An indexed document as the record it was made from (as on the topics): index-only fields removed."""
    record = {key: value for key, value in document.items() if key != "indexed_at"}
    if isinstance(record.get("location"), dict):
        record["location"] = {key: value for key, value in record["location"].items() if key != "point"}
    return record


def _passages(hit: dict[str, Any]) -> list[str]:
    # The body's passages say more than the title, which the result shows anyway.
    highlight = hit.get("highlight") or {}
    return list(highlight.get("text") or highlight.get("evidence.sentence") or highlight.get("title") or [])


def candidate_values(response: dict[str, Any]) -> list[str]:
    """Values the per-field terms aggregations found, most frequent first, each once."""
    totals: dict[str, int] = {}
    for name, aggregation in response["aggregations"].items():
        if name.startswith("counts_"):
            for bucket in aggregation["buckets"]:
                totals[str(bucket["key"])] = totals.get(str(bucket["key"]), 0) + int(bucket["doc_count"])
    return sorted(totals, key=lambda value: (-totals[value], value))


def counts_of(response: dict[str, Any], buckets: int = DEFAULT_COUNT_BUCKETS) -> list[tuple[str, int]]:
    """(value, count) rows: histogram buckets in time order, terms and filters by count (then value)."""
    aggregations = response["aggregations"]
    counts = aggregations.get("counts")
    if counts is not None and isinstance(counts.get("buckets"), dict):  # filters: counted exactly per candidate
        rows = [(key, int(bucket["doc_count"])) for key, bucket in counts["buckets"].items()]
        rows = [row for row in rows if row[1] > 0]
    elif counts is not None and "key_as_string" in (counts["buckets"] or [{}])[0]:
        return [(str(b["key_as_string"]), int(b["doc_count"])) for b in counts["buckets"]]
    elif counts is not None:
        rows = [(str(b["key"]), int(b["doc_count"])) for b in counts["buckets"]]
    else:
        rows = [(str(b["key"]), int(b["doc_count"])) for a in aggregations.values() for b in a["buckets"]]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:buckets]
