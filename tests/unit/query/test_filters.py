"""EventFilter: parsing what people type, and which events it selects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.query.filters import EventFilter, FilterError
from tests.event_samples import FILTER_CASES, varied_events

NOW = datetime(2025, 1, 8, 12, tzinfo=UTC)


@pytest.mark.parametrize(("arguments", "expected"), FILTER_CASES, ids=[str(a) for a, _ in FILTER_CASES])
def test_matches_selects_the_expected_events(arguments: dict[str, object], expected: set[int]) -> None:
    event_filter = EventFilter.parse(**arguments)  # type: ignore[arg-type]
    selected = {n for n, event in enumerate(varied_events(), 1) if event_filter.matches(event.model_dump(mode="json"))}
    assert selected == expected


@pytest.mark.parametrize(
    ("name", "code"),
    [("Turkey", "TUR"), ("Türkiye", "TUR"), ("Kosovo", "XKX"), ("kor", "KOR"), ("South Korea", "KOR"),
     ("us", "USA"), ("U.K.", "GBR"), ("TR", "TUR"), ("Reunion", "REU"), ("North Korean", "PRK")],
)  # fmt: skip
def test_country_names_resolve_as_enrichment_resolves_them(name: str, code: str) -> None:
    assert EventFilter.parse(countries=name).countries == [code]


@pytest.mark.parametrize(
    ("arguments", "option", "says"),
    [
        ({"types": "missile"}, "--type", "valid: ACCUSE, AGREE, AID"),
        ({"modes": "sniper", "types": "ASSAULT"}, "--mode", "valid modes of ASSAULT: abduct"),
        ({"quad_classes": "friendly"}, "--quad-class", "verbal-cooperation"),
        ({"countries": "EU"}, "--country", "not a country"),
        ({"countries": "Korea"}, "--country", "KOR (South Korea), PRK (North Korea)"),
        ({"since": "2025/01/01"}, "--since", "24h, 7d"),
        ({"until": "yesterday-ish"}, "--until", "ISO date"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "--since", "after --until"),
        ({"min_confidence": "high"}, "--min-confidence", "not a number"),
        ({"min_confidence": "1.5"}, "--min-confidence", "between 0 and 1"),
        ({"near": "Atlantis-on-Sea"}, "--near", "lat,lon"),
        ({"near": "95,10"}, "--near", "latitude"),
        ({"near": "Seoul", "radius_km": "-3"}, "--radius-km", "more than 0"),
        ({"radius_km": "5"}, "--radius-km", "needs --near"),
    ],
)
def test_bad_values_are_refused_with_a_message(arguments: dict[str, object], option: str, says: str) -> None:
    with pytest.raises(FilterError) as caught:
        EventFilter.parse(**arguments)  # type: ignore[arg-type]
    assert caught.value.option == option
    assert says in str(caught.value)


def test_times_relative_and_iso() -> None:
    assert EventFilter.parse(since="24h", now=NOW).since == datetime(2025, 1, 7, 12, tzinfo=UTC)
    assert EventFilter.parse(since="7d", now=NOW).since == datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert EventFilter.parse(since="2w", now=NOW).since == datetime(2024, 12, 25, 12, tzinfo=UTC)
    assert EventFilter.parse(since="30m", now=NOW).since == datetime(2025, 1, 8, 11, 30, tzinfo=UTC)
    assert EventFilter.parse(since="2025-01-06T12:00+02:00").since == datetime(2025, 1, 6, 10, tzinfo=UTC)
    assert EventFilter.parse(since="2025-01-06 12:00").since == datetime(2025, 1, 6, 12, tzinfo=UTC)
    until = EventFilter.parse(until="2025-01-06").until
    assert until == datetime(2025, 1, 6, 23, 59, 59, 999000, tzinfo=UTC)
    assert EventFilter.parse(until="2024-12").until == datetime(2024, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert EventFilter.parse(until="2024").until == datetime(2024, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


def test_lists_accept_repeats_and_commas_and_drop_duplicates() -> None:
    parsed = EventFilter.parse(types=["consult,AGREE", "Consult"], countries="Turkey, TUR,KOR")
    assert parsed.types == ["CONSULT", "AGREE"]
    assert parsed.countries == ["TUR", "KOR"]


def test_json_round_trip_keeps_the_filter() -> None:
    parsed = EventFilter.parse(
        types="CONSULT", modes="visit", quad_classes="1", countries="Turkey", entities="Antony  Blinken",
        min_confidence="0.6", near="37.5,127", radius_km="25", since="2025-01-01", until="2025-02-01",
    )  # fmt: skip
    stored = parsed.model_dump(mode="json")
    assert EventFilter.model_validate(stored) == parsed
    assert EventFilter.model_validate_json(parsed.model_dump_json()) == parsed
    assert stored["entities"] == ["Antony Blinken"]
    assert stored["near"] == [37.5, 127.0, 25.0]


def test_describe_and_empty() -> None:
    assert EventFilter().is_empty
    assert EventFilter().describe() == "all events"
    described = EventFilter.parse(types="CONSULT", countries="KOR", min_confidence="0.6").describe()
    assert described == "type CONSULT, country KOR, confidence ≥ 0.6"


def test_stored_filters_are_validated_too() -> None:
    with pytest.raises(ValueError, match="unknown types"):
        EventFilter.model_validate({"types": ["MISSILE"]})
    with pytest.raises(ValueError, match="unknown quad_classes"):
        EventFilter.model_validate({"quad_classes": ["friendly"]})


def test_article_subset() -> None:
    parsed = EventFilter.parse(types="CONSULT", modes="visit", min_confidence="0.5", countries="TUR")
    assert parsed.unsupported_for_articles() == ["--mode", "--min-confidence"]
    query = EventFilter.parse(types="CONSULT", countries="TUR").to_es_article_query()
    assert {"terms": {"event_types": ["CONSULT"]}} in query["bool"]["filter"]
    assert {"terms": {"countries": ["TUR"]}} in query["bool"]["filter"]
