"""Times as people type them on the command line: ISO dates and date-times, or relative (``24h``, ``7d``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
TIME_HELP = "ISO date or date-time (2025-01-06, 2025-01-06T12:00Z), or relative: 30m, 24h, 7d, 2w"


class TimeParseError(ValueError):
    """A value that is no time this module understands; the message says what would be."""


def parse_time(value: str, *, end_of_period: bool = False, now: datetime | None = None) -> datetime:
    """A time in UTC. ``end_of_period`` makes a date, month or year mean its last millisecond (for ``--until``).

    Relative values count back from ``now``; naive date-times are taken as UTC.
    """
    text = value.strip()
    if match := _RELATIVE.match(text.lower()):
        amount, unit = int(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    start, length = _period(text)
    if start is None:
        raise TimeParseError(f"{value!r} is not a time: use an {TIME_HELP}")
    if length is None:
        return start
    if end_of_period:
        # Millisecond precision, as Elasticsearch stores dates.
        return _advance(start, length) - timedelta(milliseconds=1)
    return start


def _period(text: str) -> tuple[datetime | None, str | None]:
    """(start, period length) of a date-like text: length ``day``/``month``/``year``, or None for an instant."""
    if match := _YEAR.match(text):
        return datetime(int(match.group(1)), 1, 1, tzinfo=UTC), "year"
    if match := _YEAR_MONTH.match(text):
        try:
            return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC), "month"
        except ValueError:
            return None, None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC), "day"
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None, None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC), None


def _advance(start: datetime, length: str) -> datetime:
    if length == "day":
        return start + timedelta(days=1)
    if length == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def period_start(value: str) -> datetime | None:
    """Where an event's date (``2025-01-06``, ``2025-01``, ``2025``) or a timestamp begins; None if unreadable."""
    start, _ = _period(value.strip())
    return start
