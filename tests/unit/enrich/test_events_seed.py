"""The seed article (../shared/fixtures, never copied here) must come out right.

Published Monday 2025-01-06, so "on Monday" is that day. These are the events the project was first
described with; the rules are generic and measured on other data (``pipeline evaluate events``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spacy.language import Language

from pipeline.enrich.events import code_events
from pipeline.records import Event
from tests.shared_data import SEED_ARTICLE, require_shared

from .test_events_support import LINEAGE, article, entities_for

PUBLISHED = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seed_events(nlp: Language) -> list[Event]:
    text = require_shared(SEED_ARTICLE, "the seed article").read_text(encoding="utf-8")
    doc = nlp(text)
    events = code_events(doc, entities_for(doc), article(text, published=PUBLISHED, aid="art_seed"), LINEAGE)
    for event in events:
        assert doc.text[event.evidence.start : event.evidence.end] == event.evidence.sentence
    return events


def _find(events: list[Event], types: set[str], source: str | None = None, target: str | None = None) -> list[Event]:
    return [
        e
        for e in events
        if e.event_type in types
        and (source is None or (e.source is not None and e.source.country_code == source))
        and (target is None or (e.target is not None and e.target.country_code == target))
    ]


def test_missile_launch(seed_events: list[Event]) -> None:
    launch = _find(seed_events, {"MOBILIZE", "THREATEN"}, source="PRK")
    assert launch
    assert launch[0].date == "2025-01-06" and launch[0].date_text == "Monday"
    assert "launched a missile" in launch[0].evidence.sentence
    assert launch[0].quad_class == "material-conflict" and launch[0].intensity is not None and launch[0].intensity < 0


def test_blinken_visit(seed_events: list[Event]) -> None:
    visit = [e for e in _find(seed_events, {"CONSULT"}, source="USA", target="KOR") if e.mode == "visit"]
    assert visit
    assert visit[0].source is not None and visit[0].source.name == "Antony Blinken"
    assert visit[0].location is not None and visit[0].location.country_code == "KOR"
    assert visit[0].date == "2025-01-06"


def test_condemnation_of_launch(seed_events: list[Event]) -> None:
    accuse = _find(seed_events, {"ACCUSE"}, source="USA", target="PRK")
    assert accuse and "condemned" in accuse[0].evidence.sentence


def test_meetings_in_seoul(seed_events: list[Event]) -> None:
    # "met with acting president Choi Sang-mok, ..., and Foreign Minister Cho Tae-yul": one meeting each,
    # with hosts (KOR); "held meetings in Seoul" names no one and folds into them. The visit is separate.
    consult = _find(seed_events, {"CONSULT"}, source="USA")
    met = {e.target.name: e.target for e in consult if e.mode != "visit" and e.target is not None}
    assert {"Choi Sang-mok", "Cho Tae-yul"} <= set(met)
    assert met["Choi Sang-mok"].country_code == met["Cho Tae-yul"].country_code == "KOR"
    met_ids = {e.target.name: e.event_id for e in consult if e.mode != "visit" and e.target is not None}
    assert met_ids["Choi Sang-mok"] != met_ids["Cho Tae-yul"]
    assert all(e.event_id not in met_ids.values() for e in consult if e.mode == "visit")


def test_martial_law(seed_events: list[Event]) -> None:
    coerce = _find(seed_events, {"COERCE"}, source="KOR")
    assert coerce and coerce[0].mode == "martial-law"
    assert coerce[0].source is not None and coerce[0].source.name.startswith("Yoon")


def test_protests_in_seoul(seed_events: list[Event]) -> None:
    protest = _find(seed_events, {"PROTEST"})
    assert protest
    assert protest[0].location is not None and protest[0].location.place == "Seoul"


def test_camp_david_summit_dated_2023(seed_events: list[Event]) -> None:
    summit = [e for e in _find(seed_events, {"CONSULT", "AGREE"}) if "Camp David" in e.evidence.sentence]
    assert summit and all(e.date == "2023" for e in summit)


def test_no_event_repeats_an_id(seed_events: list[Event]) -> None:
    ids = [e.event_id for e in seed_events]
    assert len(ids) == len(set(ids))


def test_exactly_the_events_a_careful_reader_codes(seed_events: list[Event]) -> None:
    """Issue 9: launch, visit, condemnation, meetings, martial law and impeachment, protests, Camp David,
    the summits as background. Nothing else: no threat read into "warn that", no cooperation read into
    what Blinken criticised, no event from the quote-free commentary."""

    def who(actor: object) -> str:
        return "-" if actor is None else getattr(actor, "country_code", None) or getattr(actor, "name", "?")

    coded = {(e.event_type, who(e.source), who(e.target)) for e in seed_events}
    expected = {
        ("MOBILIZE", "PRK", "-"),  # the launch
        ("CONSULT", "USA", "KOR"),  # the visit, and the meetings with Choi and Cho
        ("ACCUSE", "USA", "PRK"),  # the condemnation of the launch
        ("ACCUSE", "USA", "RUS"),  # and of Russia's help
        ("COERCE", "KOR", "-"),  # martial law
        ("ACCUSE", "-", "KOR"),  # impeachment (the text does not name the National Assembly)
        ("PROTEST", "KOR", "-"),  # protests in Seoul
        ("AGREE", "USA", "JPN"),  # Camp David: agreed to bolster intelligence sharing
        ("CONSULT", "USA", "JPN"),  # the Camp David summit
        ("CONSULT", "USA", "PRK"),  # the summits with Kim Jong Un
    }
    assert coded == expected


def test_background_is_dated_as_background(seed_events: list[Event]) -> None:
    martial_law = _find(seed_events, {"COERCE"})
    assert martial_law and martial_law[0].date is None  # "faces impeachment for attempting to impose"
    summits = [e for e in _find(seed_events, {"CONSULT"}) if e.target is not None and e.target.name == "Kim Jong Un"]
    assert summits and summits[0].date is None  # "during his presidency"
