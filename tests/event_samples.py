"""Varied events for the query tests: types, modes, countries, actors, places, confidences and dates differ."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.ids import event_id
from pipeline.records import Actor, Event, Evidence, Location
from tests.factories import LINEAGE

SEOUL = Location(place="Seoul", country_code="KOR", geonames_id=1835848, lat=37.566, lon=126.978)
INCHEON = Location(place="Incheon", country_code="KOR", geonames_id=1843564, lat=37.456, lon=126.705)
BUSAN = Location(place="Busan", country_code="KOR", geonames_id=1838524, lat=35.102, lon=129.040)
ANKARA = Location(place="Ankara", country_code="TUR", geonames_id=323786, lat=39.920, lon=32.854)
PRISTINA = Location(place="Pristina", country_code="XKX", geonames_id=786714, lat=42.673, lon=21.166)
NO_POINT = Location(place=None, country_code="FRA")

BLINKEN = Actor(name="Antony Blinken", country_code="USA", label="PERSON")
NORTH_KOREA = Actor(name="North Korea", country_code="PRK", label="GPE")
SOUTH_KOREA = Actor(name="South Korea", country_code="KOR", label="GPE")
ERDOGAN = Actor(name="Recep Tayyip Erdoğan", country_code="TUR", label="PERSON")
KURTI = Actor(name="Albin Kurti", country_code="XKX", label="PERSON")
UN = Actor(name="United Nations", country_code=None, label="ORG")


def _event(
    number: int,
    event_type: str,
    mode: str | None,
    source: Actor | None,
    target: Actor | None,
    location: Location | None,
    date: str | None,
    published: datetime | None,
    confidence: float,
) -> Event:
    article = f"art_{number:04d}"
    return Event(
        event_id=event_id(
            event_type, source.name if source else None, target.name if target else None, str(number), date
        ),
        event_type=event_type,
        mode=mode,
        source=source,
        target=target,
        location=location,
        date=date,
        evidence=Evidence(sentence=f"Sample sentence number {number} about {event_type.lower()}.", start=0, end=40),
        confidence=confidence,
        article_id=article,
        article_ids=[article],
        article_published_at=published,
        lineage=LINEAGE,
    )


def varied_events() -> list[Event]:
    jan = datetime(2025, 1, 6, 9, tzinfo=UTC)
    return [
        _event(1, "MOBILIZE", "weapons", NORTH_KOREA, None, SEOUL, "2025-01-06", jan, 0.8),
        _event(2, "CONSULT", "visit", BLINKEN, SOUTH_KOREA, SEOUL, "2025-01-06", jan, 0.9),
        _event(3, "CONSULT", None, BLINKEN, ERDOGAN, ANKARA, "2025-01-10", datetime(2025, 1, 10, tzinfo=UTC), 0.55),
        _event(4, "ACCUSE", None, SOUTH_KOREA, NORTH_KOREA, INCHEON, "2025-01", jan, 0.6),
        _event(5, "ASSAULT", "firearms", None, None, BUSAN, "2024-12-31", datetime(2024, 12, 31, 23, tzinfo=UTC), 0.7),
        _event(6, "PROTEST", "demo", None, KURTI, PRISTINA, None, datetime(2025, 1, 7, 12, tzinfo=UTC), 0.65),
        _event(7, "AID", None, UN, None, NO_POINT, None, None, 0.4),
        _event(8, "AGREE", None, ERDOGAN, KURTI, None, "2025", jan, 0.75),
        _event(9, "SANCTION", None, UN, NORTH_KOREA, None, "2025-02-01", datetime(2025, 2, 1, tzinfo=UTC), 0.95),
    ]


# (EventFilter.parse arguments, numbers of the varied events it selects): the unit tests check ``matches``
# and the integration test the Elasticsearch query against the same expectations.
FILTER_CASES: list[tuple[dict[str, object], set[int]]] = [
    ({}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
    ({"types": "consult"}, {2, 3}),
    ({"types": ["CONSULT", "accuse"]}, {2, 3, 4}),
    ({"types": "CONSULT", "modes": "visit"}, {2}),
    ({"quad_classes": "verbal-conflict"}, {4}),
    ({"quad_classes": ["material conflict", "4"]}, {1, 5, 6, 9}),
    ({"countries": "Turkey"}, {3, 8}),
    ({"countries": "Kosovo"}, {6, 8}),
    ({"countries": ["kor"]}, {1, 2, 4, 5}),
    ({"countries": "North Korea"}, {1, 4, 9}),
    ({"entities": "blinken"}, {2, 3}),
    ({"entities": "ANTONY BLINKEN"}, {2, 3}),
    ({"entities": "tony"}, set()),
    ({"entities": "seoul"}, {1, 2}),
    ({"entities": ["recep tayyip erdoğan", "kurti"]}, {3, 6, 8}),
    ({"min_confidence": "0.7"}, {1, 2, 5, 8, 9}),
    ({"near": "37.57,126.98", "radius_km": "50"}, {1, 2, 4}),
    ({"near": "Seoul", "radius_km": "10"}, {1, 2}),
    ({"near": "Busan"}, {5}),
    ({"since": "2025-01-07"}, {3, 6, 9}),
    ({"since": "2025-01-06", "until": "2025-01-06"}, {1, 2}),
    ({"until": "2024-12-31"}, {5}),
    ({"since": "2025-01-07T11:00:00Z", "until": "2025-01-07T13:00"}, {6}),
    ({"since": "2025-01-06T12:00"}, {1, 2, 3, 6, 9}),  # dated 6 January: the day is still on at noon
    ({"since": "2025-01-07T13:00"}, {3, 9}),  # undated, reported at 12:00: before
    ({"since": "2025-01"}, {1, 2, 3, 4, 6, 8, 9}),
    ({"types": "CONSULT", "countries": "TUR", "min_confidence": "0.5"}, {3}),
]
