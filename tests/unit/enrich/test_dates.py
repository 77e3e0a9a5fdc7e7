"""Date expressions resolved against the publication date (Monday 2025-01-06 unless said otherwise)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.enrich.dates import normalize_date

PUBLISHED = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on Monday", "2025-01-06"),  # the day of publication, not a week earlier
        ("Monday", "2025-01-06"),
        ("last Monday", "2024-12-30"),
        ("Friday", "2025-01-03"),
        ("Tuesday night", "2024-12-31"),
        ("yesterday", "2025-01-05"),
        ("two days ago", "2025-01-04"),
        ("last week", "2024-12-30"),
        ("in 2023", "2023"),
        ("early 2023", "2023"),
        ("January 2023", "2023-01"),
        ("last month", "2024-12"),
        ("earlier this month", "2025-01"),
        ("December 3", "2024-12-03"),  # the most recent December 3, i.e. last year
        ("Dec. 3, 2024", "2024-12-03"),
        ("the weekend", "2025-01-04"),
    ],
)
def test_past_expressions(text: str, expected: str) -> None:
    assert normalize_date(text, PUBLISHED) == expected


@pytest.mark.parametrize("text", ["just weeks", "just over a week", "three years", "the 1990s", ""])
def test_durations_and_vague_spans_are_not_dates(text: str) -> None:
    assert normalize_date(text, PUBLISHED) is None


def test_future_reading() -> None:
    assert normalize_date("Friday", PUBLISHED, future=True) == "2025-01-10"
    assert normalize_date("next Monday", PUBLISHED) == "2025-01-13"
    assert normalize_date("December 3", PUBLISHED, future=True) == "2025-12-03"


def test_without_publication_date_only_absolute_dates() -> None:
    assert normalize_date("on Monday", None) is None
    assert normalize_date("March 5, 2021", None) == "2021-03-05"
    assert normalize_date("2019", None) == "2019"


def test_accepts_plain_dates() -> None:
    assert normalize_date("yesterday", date(2024, 3, 1)) == "2024-02-29"
