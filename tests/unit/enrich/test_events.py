"""Event coder on short sentences of our own: types, actors, modality, places, dates, ids, offsets."""

from __future__ import annotations

from datetime import UTC, datetime

from spacy.language import Language

from pipeline.enrich.events import code_events
from pipeline.enrich.events.taxonomy import TAXONOMY_VERSION
from pipeline.records import Event, Lineage

from .test_events_support import LINEAGE, article, entities_for


def _code(nlp: Language, text: str, **kwargs: object) -> list[Event]:
    doc = nlp(text)
    return code_events(doc, entities_for(doc), article(text, **kwargs), LINEAGE)  # type: ignore[arg-type]


def _of_type(events: list[Event], event_type: str) -> list[Event]:
    return [e for e in events if e.event_type == event_type]


def test_condemnation_with_source_and_target(nlp: Language) -> None:
    events = _code(nlp, "Russia condemned Ukraine on Tuesday.")
    accuse = _of_type(events, "ACCUSE")
    assert len(accuse) == 1
    event = accuse[0]
    assert event.mode == "disapprove"
    assert event.cameo_root == "11"
    assert event.source is not None and event.source.country_code == "RUS"
    assert event.target is not None and event.target.country_code == "UKR"
    assert event.date == "2024-12-31"  # the Tuesday before Monday 2025-01-06
    assert event.date_text == "Tuesday"


def test_visit_destination_is_target_and_place(nlp: Language) -> None:
    events = _code(nlp, "The French president visited Japan last week.")
    consult = _of_type(events, "CONSULT")
    assert consult and consult[0].mode == "visit"
    assert consult[0].source is not None and consult[0].source.country_code == "FRA"
    assert consult[0].target is not None and consult[0].target.country_code == "JPN"
    assert consult[0].location is not None and consult[0].location.country_code == "JPN"
    assert consult[0].date == "2024-12-30"


def test_arrest_with_place(nlp: Language) -> None:
    events = _code(nlp, "Police arrested dozens of protesters in Lagos on Friday.")
    coerce = _of_type(events, "COERCE")
    assert coerce and coerce[0].mode == "arrest"
    assert coerce[0].location is not None and coerce[0].location.place == "Lagos"
    assert coerce[0].date == "2025-01-03"


def test_negated_trigger_is_dropped(nlp: Language) -> None:
    assert not _of_type(_code(nlp, "France did not impose sanctions on Iran."), "SANCTION")


def test_future_aid_is_coded_as_agree(nlp: Language) -> None:
    events = _code(nlp, "Germany will send humanitarian aid to Sudan.")
    assert not _of_type(events, "AID")
    agree = _of_type(events, "AGREE")
    assert agree and agree[0].source is not None and agree[0].source.country_code == "DEU"
    assert agree[0].date is None  # a promise is not dated to the publication day


def test_request_absorbs_its_content(nlp: Language) -> None:
    events = _code(nlp, "France urged Russia to withdraw its troops from Ukraine.")
    assert not _of_type(events, "RETREAT")
    request = _of_type(events, "REQUEST")
    assert request and request[0].mode == "yield"
    assert request[0].target is not None and request[0].target.country_code == "RUS"


def test_threat_mode_comes_from_what_is_threatened(nlp: Language) -> None:
    events = _code(nlp, "Iran threatened to attack Israel.")
    assert not _of_type(events, "ASSAULT")
    threat = _of_type(events, "THREATEN")
    assert threat and threat[0].mode == "violence"


def test_agreeing_to_withdraw_is_a_concession(nlp: Language) -> None:
    events = _code(nlp, "The rebels agreed to withdraw from the city.")
    assert [e.event_type for e in events] == ["CONCEDE"]


def test_passive_agent_is_source(nlp: Language) -> None:
    events = _code(nlp, "Two Nigerian soldiers were killed by rebels on Sunday.")
    assault = _of_type(events, "ASSAULT")
    assert assault and assault[0].source is not None and assault[0].source.name == "rebels"
    assert assault[0].date == "2025-01-05"


def test_conditional_is_weaker_than_fact(nlp: Language) -> None:
    fact = _of_type(_code(nlp, "China sanctioned Japan."), "SANCTION")
    hedged = _of_type(_code(nlp, "If Japan refuses, China could sanction Japan."), "SANCTION")
    assert fact
    assert not hedged or hedged[0].confidence < fact[0].confidence


def test_same_event_from_two_articles_gets_one_id(nlp: Language) -> None:
    first = _code(nlp, "Seoul: North Korea launched a ballistic missile on Monday.", aid="a1")
    second = _code(
        nlp,
        "Seoul (Reuters) - North Korea fired a missile on Monday, South Korea's military said.",
        published=datetime(2025, 1, 7, 8, tzinfo=UTC),
        aid="a2",
    )
    ids_first = {e.event_id for e in _of_type(first, "MOBILIZE")}
    ids_second = {e.event_id for e in _of_type(second, "MOBILIZE")}
    assert ids_first and ids_first & ids_second


def test_evidence_offsets_and_lineage(nlp: Language) -> None:
    text = "Talks stalled.\n\nPakistan accused India of shelling a village. Nothing else happened."
    doc = nlp(text)
    lineage = Lineage(pipeline_version="1", model_name="m", model_version="v", taxonomy_version=TAXONOMY_VERSION)
    events = code_events(doc, entities_for(doc), article(text, aid="art_x"), lineage)
    assert events
    for event in events:
        assert doc.text[event.evidence.start : event.evidence.end] == event.evidence.sentence
        assert event.lineage.taxonomy_version == TAXONOMY_VERSION
        assert event.article_id == "art_x" and event.article_ids == ["art_x"]
        assert [ref.article_id for ref in event.articles] == ["art_x"]
        assert 0.0 <= event.confidence <= 1.0
    accuse = _of_type(events, "ACCUSE")
    assert accuse and accuse[0].evidence.sentence == "Pakistan accused India of shelling a village."


def test_no_publication_date_leaves_relative_dates_open(nlp: Language) -> None:
    events = _code(nlp, "Kenya expelled the Ugandan ambassador on Monday.", published=None)
    sanction = _of_type(events, "SANCTION")
    assert sanction and sanction[0].mode == "expel" and sanction[0].date is None


def test_background_events_without_a_written_date_stay_undated(nlp: Language) -> None:
    published = datetime(2025, 3, 4, tzinfo=UTC)
    background = _code(nlp, "The minister had visited Kenya to discuss trade.", published=published)
    assert background and all(event.date is None for event in background)
    reported = _code(nlp, "The army said it had arrested twelve protesters in Lagos.", published=published)
    assert reported and all(event.date == "2025-03-04" for event in reported)


def test_aid_is_placed_where_it_arrives_not_at_the_dateline(nlp: Language) -> None:
    events = _code(nlp, "NAIROBI — Japan sent humanitarian aid to Somalia on Monday.")
    aid = _of_type(events, "AID")
    assert aid and aid[0].location is not None and aid[0].location.country_code == "SOM"
    paid = _of_type(_code(nlp, "NAIROBI — Japan paid for the delivery of aid, officials said."), "AID")
    assert paid and paid[0].location is None  # where the aid went is not stated; the dateline is not it


def test_troops_pulled_out_is_a_retreat_and_leaving_a_treaty_a_sanction(nlp: Language) -> None:
    retreat = _of_type(_code(nlp, "Greece pulled its troops out of the island on Thursday."), "RETREAT")
    assert retreat and retreat[0].mode == "withdraw"
    sanction = _of_type(_code(nlp, "The United States withdrew from the climate treaty on Monday."), "SANCTION")
    assert sanction and sanction[0].mode == "withdraw"


def test_a_states_disaster_response_at_home_is_not_an_event_but_help_abroad_is(nlp: Language) -> None:
    home = "The Indonesian government deployed soldiers to search for survivors after the earthquake."
    assert _code(nlp, home) == []
    assert _code(nlp, "Authorities evacuated 5,000 residents as the cyclone approached.") == []
    abroad = _of_type(_code(nlp, "Japan sent relief supplies to Turkey after the earthquake on Monday."), "AID")
    assert abroad and abroad[0].target is not None and abroad[0].target.country_code == "TUR"


def test_they_after_an_unnamed_group_is_not_the_body_named_before_it(nlp: Language) -> None:
    # "they" are the officials, whom no entity names: no event may make the European Union the one banned.
    events = _code(
        nlp,
        "The European Union on Friday imposed sanctions on eleven Belarusian officials over the jailing of "
        "journalists. Their assets will be frozen and they are banned from travelling to member states.",
    )
    assert not [e for e in events if e.target is not None and e.target.name == "European Union"]
    assert [e for e in events if e.event_type == "SANCTION" and e.source and e.source.name == "European Union"]
