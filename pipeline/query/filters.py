"""The event filter shared by ``search``, ``subscribe`` and named subscriptions.

One ``EventFilter`` answers two ways with the same meaning: ``matches`` on an event record (as published on
the events topic, for subscribers) and ``to_es_query`` (a bool query on the events index, for search). Values
within one option are alternatives (``--type CONSULT --type AGREE``); different options must all hold.

An event's time is its ``date`` from its start (an event dated 2025-01 begins on 2025-01-01), or, when the
event is undated, its article's publication time. A date is a whole day to ``since``: ``--since 24h`` keeps
events dated yesterday, which began more than 24 hours ago but are still within the last 24 hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pipeline.enrich.events.taxonomy import PLOVER_TYPES, get_taxonomy
from pipeline.query.places import PlaceError, country_code, distance_km, point_of
from pipeline.query.times import TimeParseError, parse_time, period_start
from pipeline.records import QuadClass

DEFAULT_RADIUS_KM = 50.0
# GDELT numbers the quad classes 1-4 in this order (verbal/material cooperation, verbal/material conflict);
# accepting the numbers helps people coming from there.
QUAD_CLASSES: tuple[str, ...] = get_args(QuadClass)


class FilterError(ValueError):
    """An option value a filter cannot use. ``option`` names it; the message says what would work."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.detail = message


RawValues = str | Sequence[str] | None


def _values(raw: RawValues) -> list[str]:
    """Repeated options and comma-separated lists alike: ``["CONSULT,AGREE", "AID"]`` -> three values."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def quad_class_of(event_type: str) -> str | None:
    """The PLOVER quad class of a type, from the taxonomy (None for a type it does not know)."""
    if event_type not in PLOVER_TYPES:
        return None
    return get_taxonomy().quad_class(event_type)


def _quad_class(value: str) -> str:
    key = re.sub(r"[\s_]+", "-", value.strip().lower())
    if key.isdigit() and 1 <= int(key) <= len(QUAD_CLASSES):
        return QUAD_CLASSES[int(key) - 1]
    if key in QUAD_CLASSES:
        return key
    raise FilterError("--quad-class", f"unknown quad class {value!r}; valid: {', '.join(QUAD_CLASSES)} (or 1-4)")


def _all_modes() -> dict[str, list[str]]:
    taxonomy = get_taxonomy()
    return {event_type: list(taxonomy.modes(event_type)) for event_type in PLOVER_TYPES}


def _entity_key(name: str) -> str:
    return " ".join(name.split()).lower()


def _lucene_escape(text: str) -> str:
    # Lucene regular expressions reserve most punctuation; a backslash makes any character literal.
    return "".join(ch if ch.isalnum() else f"\\{ch}" for ch in text)


class EventFilter(BaseModel):
    """Which events (and, for the subset that applies, which articles) a query or subscription wants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    types: list[str] = Field(default_factory=list, description="PLOVER event types")
    modes: list[str] = Field(default_factory=list, description="PLOVER modes")
    quad_classes: list[str] = Field(default_factory=list, description="verbal/material cooperation/conflict")
    countries: list[str] = Field(default_factory=list, description="ISO alpha-3: source, target or place")
    entities: list[str] = Field(default_factory=list, description="Actor or place names, case-insensitive words")
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    near: tuple[float, float, float] | None = Field(None, description="(lat, lon, radius in km)")
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("types", "quad_classes")
    @classmethod
    def _known_values(cls, values: list[str], info: ValidationInfo) -> list[str]:
        allowed = PLOVER_TYPES if info.field_name == "types" else QUAD_CLASSES
        unknown = [value for value in values if value not in allowed]
        if unknown:
            raise ValueError(f"unknown {info.field_name} {unknown}; valid: {', '.join(allowed)}")
        return values

    # Building from command-line strings --------------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        *,
        types: RawValues = None,
        modes: RawValues = None,
        quad_classes: RawValues = None,
        countries: RawValues = None,
        entities: RawValues = None,
        min_confidence: str | float | None = None,
        near: str | None = None,
        radius_km: str | float | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        now: datetime | None = None,
    ) -> EventFilter:
        """Validate and resolve option values as typed; raises ``FilterError`` with a message for the user."""
        parsed_types = _dedupe(cls._parse_type(t) for t in _values(types))
        parsed_since = cls._parse_time("--since", since, end_of_period=False, now=now)
        parsed_until = cls._parse_time("--until", until, end_of_period=True, now=now)
        if parsed_since and parsed_until and parsed_since > parsed_until:
            raise FilterError("--since", f"{since!r} is after --until {until!r}")
        try:
            parsed_countries = _dedupe(country_code(c) for c in _values(countries))
        except PlaceError as exc:
            raise FilterError("--country", str(exc)) from None
        entity_names = [entities] if isinstance(entities, str) else list(entities or [])
        return cls(
            types=parsed_types,
            modes=cls._parse_modes(_values(modes), parsed_types),
            quad_classes=_dedupe(_quad_class(q) for q in _values(quad_classes)),
            countries=parsed_countries,
            entities=_dedupe(" ".join(e.split()) for e in entity_names if e.strip()),
            min_confidence=cls._parse_confidence(min_confidence),
            near=cls._parse_near(near, radius_km),
            since=parsed_since,
            until=parsed_until,
        )

    @staticmethod
    def _parse_type(value: str) -> str:
        upper = value.strip().upper()
        if upper not in PLOVER_TYPES:
            raise FilterError("--type", f"unknown event type {value!r}; valid: {', '.join(sorted(PLOVER_TYPES))}")
        return upper

    @staticmethod
    def _parse_modes(modes: list[str], types: list[str]) -> list[str]:
        by_type = _all_modes()
        allowed = sorted({m for t, ms in by_type.items() if not types or t in types for m in ms})
        parsed = []
        for value in modes:
            mode = value.strip().lower()
            if mode not in allowed:
                scope = f" of {', '.join(types)}" if types else ""
                raise FilterError("--mode", f"unknown mode {value!r}; valid modes{scope}: {', '.join(allowed)}")
            parsed.append(mode)
        return _dedupe(parsed)

    @staticmethod
    def _parse_confidence(value: str | float | None) -> float | None:
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            raise FilterError("--min-confidence", f"{value!r} is not a number between 0 and 1") from None
        if not 0.0 <= number <= 1.0:
            raise FilterError("--min-confidence", f"{value!r} is not between 0 and 1")
        return number

    @staticmethod
    def _parse_near(near: str | None, radius_km: str | float | None) -> tuple[float, float, float] | None:
        if not near:
            if radius_km not in (None, ""):
                raise FilterError("--radius-km", "needs --near (a 'lat,lon' point or a place name)")
            return None
        try:
            lat, lon = point_of(near)
        except PlaceError as exc:
            raise FilterError("--near", str(exc)) from None
        try:
            radius = DEFAULT_RADIUS_KM if radius_km in (None, "") else float(radius_km)
        except ValueError:
            raise FilterError("--radius-km", f"{radius_km!r} is not a number of kilometres") from None
        if radius <= 0:
            raise FilterError("--radius-km", f"{radius_km!r} must be more than 0")
        return lat, lon, radius

    @staticmethod
    def _parse_time(
        option: str, value: str | datetime | None, *, end_of_period: bool, now: datetime | None
    ) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        if not value.strip():
            return None
        try:
            return parse_time(value, end_of_period=end_of_period, now=now)
        except TimeParseError as exc:
            raise FilterError(option, str(exc)) from None

    # What it selects --------------------------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return self == EventFilter()

    @cached_property
    def _quad_types(self) -> frozenset[str]:
        return frozenset(t for t in PLOVER_TYPES if quad_class_of(t) in self.quad_classes)

    @cached_property
    def _entity_keys(self) -> tuple[str, ...]:
        return tuple(_entity_key(e) for e in self.entities)

    def describe(self) -> str:
        """One line for people: what this filter selects."""
        parts = [
            *(f"{label} {'|'.join(values)}" for label, values in (
                ("type", self.types), ("mode", self.modes), ("quad class", self.quad_classes),
                ("country", self.countries), ("entity", self.entities),
            ) if values),
        ]  # fmt: skip
        if self.min_confidence is not None:
            parts.append(f"confidence ≥ {self.min_confidence:g}")
        if self.near:
            parts.append(f"within {self.near[2]:g} km of {self.near[0]:g},{self.near[1]:g}")
        if self.since:
            parts.append(f"since {self.since.isoformat()}")
        if self.until:
            parts.append(f"until {self.until.isoformat()}")
        return ", ".join(parts) or "all events"

    def entity_matches(self, name: str | None) -> bool:
        """A canonical name matches an entity filter when it contains the filter's words, ignoring case:
        ``blinken`` and ``Antony Blinken`` both match "Antony Blinken"."""
        if not name:
            return False
        padded = f" {_entity_key(name)} "
        return any(f" {key} " in padded for key in self._entity_keys)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether an event record (as on the events topic or in the index) passes every condition."""
        event_type = event.get("event_type")
        if self.types and event_type not in self.types:
            return False
        if self.quad_classes and event_type not in self._quad_types:
            return False
        if self.modes and event.get("mode") not in self.modes:
            return False
        source, target = event.get("source") or {}, event.get("target") or {}
        location = event.get("location") or {}
        if self.countries and not {
            source.get("country_code"),
            target.get("country_code"),
            location.get("country_code"),
        } & set(self.countries):
            return False
        if self.entities and not any(
            self.entity_matches(name) for name in (source.get("name"), target.get("name"), location.get("place"))
        ):
            return False
        if self.min_confidence is not None and float(event.get("confidence") or 0.0) < self.min_confidence:
            return False
        if self.near is not None:
            lat, lon = location.get("lat"), location.get("lon")
            if lat is None or lon is None or distance_km(self.near[0], self.near[1], lat, lon) > self.near[2]:
                return False
        if self.since or self.until:
            when = event_time(event)
            if when is None:
                return False
            since = _day_start(self.since) if self.since and event.get("date") else self.since
            if (since and when < since) or (self.until and when > self.until):
                return False
        return True

    # The same as an Elasticsearch query --------------------------------------------------------------------

    def to_es_query(self) -> dict[str, Any]:
        """A bool query on the events index that selects exactly what ``matches`` accepts."""
        clauses = self._shared_clauses(
            type_field="event_type",
            country_fields=("source.country_code", "target.country_code", "location.country_code"),
            entity_fields=("source.name", "target.name", "location.place"),
        )
        if self.modes:
            clauses.append({"terms": {"mode": self.modes}})
        if self.min_confidence is not None:
            clauses.append({"range": {"confidence": {"gte": self.min_confidence}}})
        if self.near is not None:
            lat, lon, radius = self.near
            clauses.append({"geo_distance": {"distance": f"{radius}km", "location.point": {"lat": lat, "lon": lon}}})
        if self.since or self.until:
            undated_but_reported = {
                "bool": {
                    "must_not": [{"exists": {"field": "date"}}],
                    "filter": [{"range": {"article_published_at": self._bounds()}}],
                }
            }
            clauses.append(_any_of([{"range": {"date": self._bounds(whole_days=True)}}, undated_but_reported]))
        return {"bool": {"filter": clauses}}

    def unsupported_for_articles(self) -> list[str]:
        """Options that describe events only (articles have no mode, confidence or coordinates of their own)."""
        return [
            option
            for option, given in (
                ("--mode", bool(self.modes)),
                ("--min-confidence", self.min_confidence is not None),
                ("--near", self.near is not None),
            )
            if given
        ]

    def to_es_article_query(self) -> dict[str, Any]:
        """The article-side subset: event types, quad classes, countries, entities and publication time."""
        clauses = self._shared_clauses(
            type_field="event_types", country_fields=("countries",), entity_fields=("entities.name",)
        )
        if self.since or self.until:
            clauses.append({"range": {"published_at": self._bounds()}})
        return {"bool": {"filter": clauses}}

    def _shared_clauses(
        self, *, type_field: str, country_fields: Sequence[str], entity_fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Types, quad classes, countries and entities: the conditions events and articles both answer."""
        clauses: list[dict[str, Any]] = []
        if self.types:
            clauses.append({"terms": {type_field: self.types}})
        if self.quad_classes:
            # From the types, so it holds for events indexed before they carried a quad class too.
            clauses.append({"terms": {type_field: sorted(self._quad_types)}})
        if self.countries:
            clauses.append(_any_of({"terms": {name: self.countries}} for name in country_fields))
        if self.entities:
            clauses.append(_any_of(self._entity_clauses(entity_fields)))
        return clauses

    def _entity_clauses(self, fields: Sequence[str]) -> list[dict[str, Any]]:
        # The keyword fields hold canonical names; a case-insensitive regexp finds the words anywhere in them,
        # as ``entity_matches`` does.
        return [
            {"regexp": {field: {"value": f"(.* )?{_lucene_escape(key)}( .*)?", "case_insensitive": True}}}
            for key in self._entity_keys
            for field in fields
        ]

    def _bounds(self, *, whole_days: bool = False) -> dict[str, str]:
        # The query's own format, not the field's: event dates are mapped as bare dates.
        bounds: dict[str, str] = {"format": "strict_date_optional_time"}
        if self.since:
            bounds["gte"] = (_day_start(self.since) if whole_days else self.since).isoformat()
        if self.until:
            bounds["lte"] = self.until.isoformat()
        return bounds


def _any_of(clauses: Iterable[dict[str, Any]]) -> dict[str, Any]:
    alternatives = list(clauses)
    if len(alternatives) == 1:
        return alternatives[0]
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When an event happened for filtering: the start of its date, else its article's publication time."""
    date_value = event.get("date")
    if date_value:
        return period_start(str(date_value))
    published = event.get("article_published_at")
    if isinstance(published, datetime):
        return published
    return period_start(str(published)) if published else None
