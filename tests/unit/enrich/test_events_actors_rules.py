"""Issue 9 rules on sentences of our own: only political actors act, roles are actors, one event per action."""

from __future__ import annotations

import pytest
from spacy.language import Language

from pipeline.enrich.events import code_events
from pipeline.records import Event

from .test_events_support import LINEAGE, article, entities_for


def _code(nlp: Language, text: str) -> list[Event]:
    doc = nlp(text)
    return code_events(doc, entities_for(doc), article(text), LINEAGE)


@pytest.mark.parametrize(
    "text",
    [
        "An earthquake killed 30 people in eastern Turkey on Sunday.",
        "A bus collided with a truck on the highway, killing 12 passengers.",
        "Oil prices rallied for a third session as traders bought crude.",
        "Arsenal beat Chelsea 3-1 and their striker fired a shot past the goalkeeper.",
        "Will Russia invade Ukraine?",
        "The government did not attack the rebels.",
        "Floods destroyed hundreds of homes, and rescue workers evacuated thousands of residents.",
    ],
)
def test_no_event_without_a_political_act(nlp: Language, text: str) -> None:
    assert _code(nlp, text) == []


def test_office_gives_a_person_their_country_and_target(nlp: Language) -> None:
    events = _code(nlp, "British Defence Secretary Tom King has promised to continue military aid to Mozambique.")
    assert [(e.event_type, e.source and e.source.country_code, e.target and e.target.country_code) for e in events] == [
        ("AGREE", "GBR", "MOZ")
    ]


def test_signing_parties_agree_with_each_other(nlp: Language) -> None:
    events = _code(nlp, "Brazil and Argentina signed an agreement on Wednesday to link their power grids.")
    assert len(events) == 1
    event = events[0]
    assert event.event_type == "AGREE"
    assert {event.source and event.source.country_code, event.target and event.target.country_code} == {"BRA", "ARG"}


def test_a_visit_targets_the_host_country_not_the_city(nlp: Language) -> None:
    events = _code(nlp, "Indonesian President Arif Santoso arrived in Nairobi on Monday for a state visit.")
    visits = [e for e in events if e.event_type == "CONSULT" and e.mode == "visit"]
    assert len(visits) == 1
    assert visits[0].target is not None and visits[0].target.country_code == "KEN"
    assert visits[0].target.label == "GPE" and visits[0].target.name != "Nairobi"


def test_a_building_is_a_place_not_a_target(nlp: Language) -> None:
    events = _code(nlp, "Japan lodged a formal protest with North Korea at the Foreign Ministry building in Tokyo.")
    assert [(e.event_type, e.target and e.target.country_code) for e in events] == [("ACCUSE", "PRK")]


def test_a_quote_is_not_an_event(nlp: Language) -> None:
    events = _code(nlp, "“We want our engineers to work together and our ports to cooperate,” the minister said.")
    assert events == []
