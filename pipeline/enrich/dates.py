"""Normalise date expressions relative to an article's publication date.

News text dates events relative to when it was written ("on Monday", "yesterday", "last week"), so every
expression is resolved against the publication date, preferring the past (news reports what happened)
unless the caller says the event is in the future. Weekdays are resolved here rather than by dateparser
because dateparser reads "Monday" written on a Monday as the previous week, while in a news report it is the
day of publication. Results are ISO strings at the precision the text gives: ``YYYY-MM-DD``, ``YYYY-MM`` or
``YYYY``. Everything is cached: the same few expressions recur in every article.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dateparser.date import DateDataParser

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thurs"),
         ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"))
    )
    for name in names
}  # fmt: skip
_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DECADE = re.compile(r"\b\d{2,4}'?s\b")
# Leading words that situate a date without changing which date it is ("in early 2023", "on Monday").
_LEADING = re.compile(
    r"^(?:on|in|at|during|since|by|from|until|as of|of|the|this past|past|early|late|mid-?|earlier|later|"
    r"end of|beginning of|start of|around|about|before|after)\s+",
    re.IGNORECASE,
)
# Relative anchors; an expression with a unit but none of these is a duration ("two weeks"), not a date.
_ANCHOR = re.compile(
    r"\b(ago|last|next|this|yesterday|today|tonight|tomorrow|previous|earlier|later|coming|past)\b",
    re.IGNORECASE,
)
_UNIT = re.compile(r"\b(second|minute|hour|day|week|month|year|decade|century)s?\b", re.IGNORECASE)
_THIS_PERIOD = re.compile(r"\b(?:earlier|later)?\s*this (month|year)\b", re.IGNORECASE)
_WEEKEND = re.compile(r"\bweekend\b", re.IGNORECASE)


def _clean(text: str) -> str:
    cleaned = " ".join(text.replace("’", "'").split()).strip(" ,.;:")
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _LEADING.sub("", cleaned)
    return cleaned


def _as_day(published: date | datetime | None) -> date | None:
    if published is None:
        return None
    return published.date() if isinstance(published, datetime) else published


def normalize_date(text: str, published: date | datetime | None, *, future: bool = False) -> str | None:
    """ISO date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``) that ``text`` refers to, or None.

    ``published`` anchors relative expressions; without it only expressions naming a year are resolved.
    ``future`` prefers upcoming dates ("will meet on Friday"); otherwise the most recent past one.
    """
    return _normalize_cached(_clean(text).lower(), _as_day(published), future)


@lru_cache(maxsize=8192)
def _normalize_cached(text: str, base: date | None, future: bool) -> str | None:
    if not text or _DECADE.search(text):
        return None
    has_year = bool(_YEAR.search(text))
    if base is None and not has_year:
        return None
    if base is not None and not has_year and not _MONTH.search(text):
        special = _relative_day(text, base, future)
        if special is not None:
            return special
        if _UNIT.search(text) and not _ANCHOR.search(text):
            return None  # a duration ("just weeks", "three years"), not a point in time
    parsed = _parser(base or date.today(), future).get_date_data(text)
    if parsed.date_obj is None:
        return None
    day = parsed.date_obj.date()
    if parsed.period == "year":
        return f"{day.year:04d}"
    if parsed.period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _relative_day(text: str, base: date, future: bool) -> str | None:
    """Weekdays, weekends and 'this month/year', which dateparser resolves differently from news usage."""
    words = re.findall(r"[a-z]+", text)
    weekday = next((_WEEKDAYS[w] for w in words if w in _WEEKDAYS), None)
    if weekday is not None:
        if "next" in words or (future and "last" not in words):
            delta = (weekday - base.weekday()) % 7 or (7 if "next" in words else 0)
            return (base + timedelta(days=delta)).isoformat()
        delta = (base.weekday() - weekday) % 7
        if delta == 0 and "last" in words:
            delta = 7  # "last Monday" written on a Monday is the week before
        return (base - timedelta(days=delta)).isoformat()
    if _WEEKEND.search(text):
        saturday = 5
        if future or "next" in words:
            return (base + timedelta(days=(saturday - base.weekday()) % 7)).isoformat()
        delta = (base.weekday() - saturday) % 7
        return (base - timedelta(days=delta)).isoformat()
    match = _THIS_PERIOD.search(text)
    if match:
        return f"{base.year:04d}-{base.month:02d}" if match.group(1) == "month" else f"{base.year:04d}"
    return None


@lru_cache(maxsize=256)
def _parser(base: date, future: bool) -> DateDataParser:
    # Noon keeps "yesterday" etc. on the right calendar day whatever the time zone of the source.
    settings: dict[str, object] = {
        "RELATIVE_BASE": datetime.combine(base, time(12, 0)),
        "PREFER_DATES_FROM": "future" if future else "past",
        "PREFER_DAY_OF_MONTH": "first",
        "REQUIRE_PARTS": [],
    }
    return DateDataParser(languages=["en"], settings=settings)
