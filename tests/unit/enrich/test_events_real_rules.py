"""Issue 20 rules, each on a sentence of our own, through the pipeline's own path (``enrich_articles``): the
dictionaries' actors and agents, refusals, curtailed aid, claimed attacks, both sides named, dateline stories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spacy.language import Language

from pipeline.enrich.core import EnrichmentResult, enrich_articles
from pipeline.records import Event, RawArticle

PUBLISHED = datetime(2018, 6, 1, 9, 0, tzinfo=UTC)


def _enrich(nlp: Language, text: str, published: datetime | None = PUBLISHED) -> EnrichmentResult:
    article = RawArticle(
        article_id="art_rules",
        revision=1,
        url="urn:rules",
        canonical_url="urn:rules",
        text=text,
        published_at=published,
    )
    (result,) = enrich_articles([article], nlp)
    assert isinstance(result, EnrichmentResult)
    return result


def _events(nlp: Language, text: str, published: datetime | None = PUBLISHED) -> list[Event]:
    return _enrich(nlp, text, published).events


def _roles(events: list[Event]) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.event_type, e.source.country_code if e.source else None, e.target.country_code if e.target else None)
        for e in events
    ]


# -- who the actors are --------------------------------------------------------------------------------------


def test_a_known_leader_carries_country_and_role(nlp: Language) -> None:
    events = _events(nlp, "President Putin accused Ukraine of shelling civilians near Donetsk.")
    (accuse,) = [e for e in events if e.event_type == "ACCUSE"]
    assert accuse.source is not None and (accuse.source.country_code, accuse.source.role) == ("RUS", "GOV")
    assert accuse.target is not None and accuse.target.country_code == "UKR"


def test_the_role_is_the_one_held_on_the_articles_date(nlp: Language) -> None:
    text = "Donald Trump criticised the Federal Reserve over interest rates."
    in_office = {e.name: e for e in _enrich(nlp, text, datetime(2018, 6, 1, tzinfo=UTC)).article.entities}
    out_of_office = {e.name: e for e in _enrich(nlp, text, datetime(2022, 6, 1, tzinfo=UTC)).article.entities}
    assert (in_office["Donald Trump"].country_code, in_office["Donald Trump"].role) == ("USA", "GOV")
    assert (out_of_office["Donald Trump"].country_code, out_of_office["Donald Trump"].role) == ("USA", "ELI")


def test_an_armed_group_the_model_misses_is_known_by_its_name(nlp: Language) -> None:
    events = _events(nlp, "Hezbollah fired rockets at northern Israel on Sunday.")
    assert _roles(events) == [("ASSAULT", "LBN", "ISR")]
    assert events[0].source is not None and (events[0].source.label, events[0].source.role) == ("ORG", "REB")


def test_a_group_read_as_a_person_is_an_organisation(nlp: Language) -> None:
    from pipeline.enrich.entities.actors import with_known_actors
    from pipeline.records import Entity, Mention

    boko = Entity(
        name="Boko Haram", label="PERSON", mention_count=1, mentions=[Mention(start=0, end=10, text="Boko Haram")]
    )
    (known,) = with_known_actors([boko], PUBLISHED)
    assert (known.label, known.country_code, known.role, known.actor_code) == ("ORG", "NGA", "REB", "NGAREB")


def test_a_seat_of_government_stands_for_its_government(nlp: Language) -> None:
    events = _events(nlp, "The Kremlin rejected the proposal from Kyiv.")
    (reject,) = events
    assert reject.source is not None and (reject.source.country_code, reject.source.role) == ("RUS", "GOV")


def test_a_state_body_named_after_its_country_is_that_states(nlp: Language) -> None:
    events = _events(nlp, "The United States Treasury imposed sanctions on three Iranian shipping firms.")
    assert _roles(events) == [("SANCTION", "USA", "IRN")]


def test_a_title_before_a_name_makes_a_person(nlp: Language) -> None:
    result = _enrich(nlp, "Vietnamese defence chief Gen. Ngo Xuan Lich held talks with Japanese officials in Hanoi.")
    person = next(e for e in result.article.entities if "Ngo Xuan Lich" in e.name)
    assert person.label == "PERSON" and person.name == "Ngo Xuan Lich"


@pytest.mark.parametrize(
    ("text", "country", "role"),
    [
        ("Iraqi troops attacked the rebels outside Mosul.", "IRQ", "MIL"),
        ("Hezbollah fighters attacked an army post near the border.", "LBN", "REB"),
    ],
)
def test_agents_take_their_sector_and_their_owners_country(nlp: Language, text: str, country: str, role: str) -> None:
    events = _events(nlp, text)
    assert events and events[0].source is not None
    assert (events[0].source.country_code, events[0].source.role) == (country, role)


def test_a_people_named_in_the_plural_has_its_country(nlp: Language) -> None:
    events = _events(nlp, "Chancellor Merkel met Kenyans living in Berlin.")
    assert any(e.target is not None and e.target.country_code == "KEN" for e in events)


# -- what they did ------------------------------------------------------------------------------------------


def test_a_refusal_to_cooperate_is_a_rejection(nlp: Language) -> None:
    assert _roles(_events(nlp, "France will not lift the ban on British fishing boats.")) == [("REJECT", "FRA", "GBR")]


def test_what_has_not_happened_is_no_event(nlp: Language) -> None:
    assert _events(nlp, "The interior minister did not resign.") == []


@pytest.mark.parametrize(
    "text",
    ["Denmark suspended aid to Egypt on Tuesday.", "Denmark announced a suspension of aid to Egypt."],
)
def test_cutting_aid_is_a_sanction_of_its_recipient(nlp: Language, text: str) -> None:
    events = _events(nlp, text)
    assert [(e.event_type, e.mode) for e in events] == [("SANCTION", "discontinue")]
    assert events[0].source is not None and events[0].source.country_code == "DNK"


def test_claiming_an_attack_is_the_attack_of_the_claimant(nlp: Language) -> None:
    events = _events(nlp, "The Taliban claimed responsibility for the bombing in Kabul.")
    assert [(e.event_type, e.source and e.source.country_code) for e in events] == [("ASSAULT", "AFG")]


def test_further_strikes_launched_are_strikes(nlp: Language) -> None:
    events = _events(nlp, "Iraqi forces launched further airstrikes on Islamic State fighters.")
    assert [e.event_type for e in events] == ["ASSAULT"]


def test_an_appeal_carries_the_cameo_root_of_appeals(nlp: Language) -> None:
    events = _events(nlp, "The United Nations urged Israel to allow more aid into Gaza.")
    assert [(e.event_type, e.cameo_root) for e in events] == [("REQUEST", "02")]


def test_the_verb_dictionary_codes_what_the_lexicon_misses(nlp: Language) -> None:
    events = _events(nlp, "Afghan intelligence officials shared evidence with their Pakistani counterparts.")
    assert _roles(events) == [("COOPERATE", "AFG", "PAK")]


def test_the_lexicon_wins_where_both_read_a_sentence(nlp: Language) -> None:
    events = _events(nlp, "Japan lodged a formal protest with North Korea.")
    assert [e.event_type for e in events] == ["ACCUSE"]


# -- on whom --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Taliban rejected an offer of talks from the Afghan government.", ("REJECT", "AFG", "AFG")),
        ("The UAE lifted travel restrictions between it and Israel.", ("CONCEDE", "ARE", "ISR")),
        ("New Zealand provided an additional $5 million in aid to Fiji.", ("AID", "NZL", "FJI")),
        ("Afghanistan banned all Pakistani newspapers last week.", ("COERCE", "AFG", "PAK")),
    ],
)
def test_the_target_is_found_where_the_sentence_names_it(
    nlp: Language, text: str, expected: tuple[str, str, str]
) -> None:
    assert expected in _roles(_events(nlp, text))


def test_a_discussed_topic_is_no_party(nlp: Language) -> None:
    events = _events(
        nlp, "Jordan's King Abdullah II met Palestinian President Mahmoud Abbas to discuss the war in Gaza."
    )
    assert all(e.target is None or e.target.name != "Gaza" for e in events)


def test_a_dateline_is_the_default_of_its_own_story_only(nlp: Language) -> None:
    text = (
        "AMMAN, Jordan — Jordan's King Abdullah II met Palestinian President Mahmoud Abbas in Amman on Tuesday.\n\n"
        "In Tbilisi, police fired tear gas at protesters outside parliament."
    )
    events = _events(nlp, text)
    assault = next(e for e in events if e.event_type == "ASSAULT")
    assert assault.source is not None and assault.source.country_code == "GEO"
    assert assault.location is not None and assault.location.place == "Tbilisi"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia says Israel must end its air strikes on Syria.", ("REQUEST", "RUS", "ISR")),
        ("Syrian President Bashar Assad said Turkey must mediate peace talks.", ("REQUEST", "SYR", "TUR")),
    ],
)
def test_saying_another_party_must_act_is_a_demand(nlp: Language, text: str, expected: tuple[str, str, str]) -> None:
    assert expected in _roles(_events(nlp, text))


def test_saying_we_must_act_is_no_demand(nlp: Language) -> None:
    assert all(e.event_type != "REQUEST" for e in _events(nlp, "The president said we must defend our borders."))


def test_a_refusal_the_dictionary_words_as_a_negated_object_is_not_an_offer(nlp: Language) -> None:
    events = _events(nlp, "The United States is ready to contribute a peacekeeping force to the African Union mission.")
    assert all(e.event_type != "REJECT" for e in events)


def test_a_country_filter_finds_a_known_leaders_events(nlp: Language) -> None:
    """`pipeline search --events --country RUS` and a subscription on RUS find Putin's events: the country the
    dictionaries give him is his events' source country."""
    from pipeline.query.filters import EventFilter

    events = _events(nlp, "Putin accused Ukraine of shelling civilians near Donetsk.")
    russia = EventFilter.parse(countries="RUS")
    assert [e.event_type for e in events if russia.matches(e.model_dump(mode="json"))] == ["ACCUSE"]


# -- session 8: refused concessions, returns and refuge, the object acted on ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The interior minister said the government will not lift the blockade of the port.",
        "Striking nurses say they will not end the strike until wages rise.",
    ],
)
def test_refusing_to_end_a_conflictual_act_is_a_rejection(nlp: Language, text: str) -> None:
    types = [(e.event_type, e.mode) for e in _events(nlp, text)]
    assert ("REJECT", "yield") in types


def test_ending_a_conflictual_act_that_did_not_happen_is_no_event(nlp: Language) -> None:
    # "did not" reports that it has not happened; it is no stance, so neither a concession nor a refusal.
    assert not _events(nlp, "The army did not lift the curfew in the capital on Monday.")


def test_returning_seized_property_to_a_state_is_a_retreat_to_it(nlp: Language) -> None:
    (event,) = _events(nlp, "Germany returned two looted artifacts to Greece last week.")
    assert (event.event_type, event.mode) == ("RETREAT", "return")
    assert _roles([event]) == [("RETREAT", "DEU", "GRC")]


def test_taking_in_refugees_is_aid(nlp: Language) -> None:
    types = {e.event_type for e in _events(nlp, "Poland accepted 300 refugees from Ukraine.")}
    assert types == {"AID"}


def test_refusing_refugees_is_a_rejection(nlp: Language) -> None:
    types = {e.event_type for e in _events(nlp, "Hungary will not accept any more refugees, its government said.")}
    assert "REJECT" in types


def test_the_thing_attacked_is_the_target_when_no_party_is_named(nlp: Language) -> None:
    (event,) = _events(nlp, "Gunmen attacked a police station near the border.")
    assert event.event_type == "ASSAULT"
    assert event.target is not None and event.target.name == "police station"


def test_a_day_read_as_the_object_is_no_target(nlp: Language) -> None:
    for event in _events(nlp, "The court rejected the appeal on Tuesday."):
        assert event.target is None or "Tuesday" not in event.target.name


def test_a_relation_names_its_other_party(nlp: Language) -> None:
    events = _events(nlp, "Japan established diplomatic ties with Palau in March.")
    assert ("JPN", "PLW") in [(s, t) for _, s, t in _roles(events)]


def test_the_whole_of_a_part_acted_on_is_the_target(nlp: Language) -> None:
    (event,) = _events(nlp, "The government expelled some of the Kenyan journalists.")
    assert event.target is not None and event.target.country_code == "KEN"


def test_what_is_withheld_in_a_refusal_is_no_party(nlp: Language) -> None:
    events = _events(nlp, "The minister said the government would not withdraw the bill.")
    assert all(e.target is None or "bill" not in e.target.name for e in events)


@pytest.mark.parametrize(
    ("text", "event_type", "cameo_root"),
    [
        # An announced or agreed concession is CAMEO's intent to yield (035); one carried out is yielding (08).
        ("The rebels said they will release the hostages next week.", "CONCEDE", "03"),
        ("The two militias have agreed to a ceasefire in the port city.", "CONCEDE", "03"),
        ("The army lifted the curfew in the capital.", "CONCEDE", "08"),
        # CAMEO files an apology under diplomatic cooperation (055).
        ("Japan apologized to South Korea for the remarks.", "CONCEDE", "05"),
        # Statements: a pessimistic comment (012), an empathetic one (018), a denial of responsibility (016).
        ("The envoy expressed concern about the escalation in the region.", "ACCUSE", "01"),
        ("The president expressed his condolences to the people of Turkey.", "SUPPORT", "01"),
        ("The minister denied charges that his government had armed the militia.", "REJECT", "01"),
    ],
)
def test_the_cameo_root_follows_what_the_sentence_does(
    nlp: Language, text: str, event_type: str, cameo_root: str
) -> None:
    roots = {(e.event_type, e.cameo_root) for e in _events(nlp, text)}
    assert (event_type, cameo_root) in roots


# -- the act's doer when the trigger is a modifier or a means ------------------------------------------------


def test_an_adjective_trigger_in_the_object_takes_the_verbs_subject(nlp: Language) -> None:
    events = _events(nlp, "Ireland provided €3 million in humanitarian funding to Lebanon last year.")
    assert ("AID", "IRL", "LBN") in _roles(events)


def test_a_noun_modifier_trigger_in_the_object_takes_the_verbs_subject(nlp: Language) -> None:
    events = _events(nlp, "Kuwait launched a mediation effort between the two parties.")
    assert ("CONSULT", "KWT", None) in _roles(events)


def test_the_means_of_an_attack_belongs_to_the_clauses_subject(nlp: Language) -> None:
    (event,) = _events(nlp, "Syrian troops pounded rebel positions with airstrikes near the border.")
    assert event.event_type == "ASSAULT" and event.source is not None and event.source.country_code == "SYR"


def test_a_name_the_model_missed_introduced_with_an_office_is_a_person(nlp: Language) -> None:
    events = _events(nlp, "President Japarov has pushed for changes to the constitution.")
    assert [e.source.name for e in events if e.source is not None] == ["Japarov"]


def test_a_relation_named_after_the_verbs_other_words_still_names_its_party(nlp: Language) -> None:
    events = _events(nlp, "Israel has established diplomatic ties on Saturday with Bhutan.")
    assert ("SUPPORT", "ISR", "BTN") in _roles(events)


def test_closing_borders_with_several_countries_targets_each(nlp: Language) -> None:
    events = _events(nlp, "Ghana closed its borders with Ivory Coast, Togo and Burkina Faso on Sunday.")
    assert {t for _, _, t in _roles(events)} >= {"TGO", "BFA"}


def test_the_bodies_a_ban_falls_on_are_its_target(nlp: Language) -> None:
    (event,) = [e for e in _events(nlp, "A court in Caracas has banned national newspapers from printing photographs.")]
    assert event.event_type == "COERCE" and event.target is not None and "newspapers" in event.target.name


def test_a_town_threatened_is_the_target_with_its_country(nlp: Language) -> None:
    events = _events(nlp, "Hezbollah threatened to shell Haifa if the strikes continue.")
    assert ("THREATEN", "LBN", "ISR") in _roles(events)


def test_the_whole_of_a_number_attacked_is_the_target(nlp: Language) -> None:
    events = _events(nlp, "Saudi hackers launched cyber attacks on a number of Iranian government websites.")
    assert any(e.target is not None and e.target.country_code == "IRN" for e in events)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Iranian president called his Lebanese counterpart, Michel Aoun, on Tuesday.", ("CONSULT", "IRN", "LBN")),
        ("The US military gave new equipment to the Philippine Marines.", ("AID", "USA", "PHL")),
        ("Hamas had accepted a formula likely to lead to an end of the crisis.", ("AGREE", "PSE", None)),
        ("The United States returned two paintings to the government of Brazil.", ("RETREAT", "USA", "BRA")),
        ("Russia launched cyber warfare against the UK.", ("COERCE", "RUS", "GBR")),
        ("Bolivian President Evo Morales declared a state of siege in Pando.", ("COERCE", "BOL", None)),
    ],
)
def test_more_of_the_fields_verb_phrases(
    nlp: Language, text: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert expected in _roles(_events(nlp, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Approving or ordering an act is taking it; "a round of" exercises is still the exercises.
        ("A Dutch court on Thursday approved the extradition of a suspected militant to France.", "COOPERATE"),
        ("Jordan and the United States began a new round of joint military exercises in the desert.", "COOPERATE"),
        ("The Security Council approved the deployment of an advance team to the port city.", "MOBILIZE"),
    ],
)
def test_an_act_authorised_or_begun_is_its_authors(nlp: Language, text: str, expected: str) -> None:
    assert any(e.event_type == expected and e.source is not None for e in _events(nlp, text))


def test_an_unknown_person_acting_where_a_state_is_named_is_a_political_actor(nlp: Language) -> None:
    events = _events(nlp, "Pete Wilson signed an agreement to promote trade and tourism with Israel.")
    assert [(e.event_type, e.source.name if e.source else None) for e in events] == [("AGREE", "Pete Wilson")]


def test_an_unknown_person_alone_is_not(nlp: Language) -> None:
    assert not _events(nlp, "Mr Porter has strongly rejected an allegation about his past.")


def test_a_customs_agency_is_a_body_of_government(nlp: Language) -> None:
    events = _events(nlp, "Immigration and Customs Enforcement returned two stolen paintings to Peru.")
    assert ("RETREAT", None, "PER") in _roles(events)


# -- what an agreement, an offer or a call is about ---------------------------------------------------------


def test_agreeing_to_lift_tariffs_is_an_intent_to_yield(nlp: Language) -> None:
    events = _events(nlp, "Mexico and Canada agreed to lift retaliatory tariffs on American products.")
    assert {(e.event_type, e.cameo_root) for e in events} == {("CONCEDE", "03")}


def test_offering_troops_to_help_is_an_offer_not_a_threat(nlp: Language) -> None:
    events = _events(nlp, "Australia has offered to send troops to help the Philippine army fight the militants.")
    offers = [e for e in events if e.source is not None and e.source.country_code == "AUS"]
    assert [e.event_type for e in offers] == ["AGREE"]
    assert all(e.target is None or "troops" not in e.target.name for e in offers)


@pytest.mark.parametrize(
    "text",
    [
        "Britain is deploying 300 troops to the UN peacekeeping mission in Mali.",
        "Hundreds of Irish troops have arrived in Lebanon to join the United Nations peacekeeping mission there.",
    ],
)
def test_forces_sent_to_keep_the_peace_are_military_protection_given(nlp: Language, text: str) -> None:
    assert {(e.event_type, e.cameo_root) for e in _events(nlp, text)} == {("AID", "07")}


def test_a_peacekeeping_official_visiting_is_still_a_visit(nlp: Language) -> None:
    assert {e.event_type for e in _events(nlp, "The UN peacekeeping chief visited Mali on Monday.")} == {"CONSULT"}


def test_fighting_an_epidemic_is_no_assault(nlp: Language) -> None:
    assert not _events(nlp, "Germany announced a sixfold increase in funding to fight the Ebola epidemic.")


def test_calling_for_sanctions_against_a_state_is_a_demand_against_it(nlp: Language) -> None:
    (event,) = _events(nlp, "The Greek foreign minister on Monday called for sanctions against Turkey.")
    assert (event.event_type, event.cameo_root) == ("REQUEST", "10")
    assert event.target is not None and event.target.country_code == "TUR"


def test_calling_for_talks_is_still_an_appeal(nlp: Language) -> None:
    events = _events(nlp, "The minister called for talks with the rebels.")
    assert {(e.event_type, e.cameo_root) for e in events} == {("REQUEST", "02")}


def test_failing_to_reach_agreement_is_a_mutual_rejection(nlp: Language) -> None:
    events = _events(nlp, "The United States and South Korea failed to reach agreement on a free-trade deal.")
    assert {r for r in _roles(events)} >= {("REJECT", "USA", "KOR")}


def test_failing_to_meet_is_still_nothing(nlp: Language) -> None:
    assert not _events(nlp, "The two leaders failed to meet on Monday.")


def test_extending_a_curfew_is_imposing_it_anew(nlp: Language) -> None:
    events = _events(nlp, "The prime minister announced that the government will extend the nightly curfew.")
    assert [e.event_type for e in events] == ["THREATEN"]


def test_the_place_troops_withdraw_from_is_the_target_not_the_troops(nlp: Language) -> None:
    events = _events(nlp, "Russia has begun withdrawing some of its troops from Syria, its defence minister said.")
    assert ("RETREAT", "RUS", "SYR") in _roles(events)


def test_refusing_to_withdraw_a_bill_from_parliament_names_no_parliament(nlp: Language) -> None:
    events = _events(nlp, "The minister said the government would not withdraw the bill from Congress.")
    assert all(e.target is None or e.target.name != "Congress" for e in events)


# -- targets: whose act, where, to whom ----------------------------------------------------------------------


def test_a_rejected_request_names_who_made_it(nlp: Language) -> None:
    events = _events(
        nlp, "The Dutch government rejected a request by President Erdogan to address a rally in Rotterdam."
    )
    assert ("REJECT", "NLD", "TUR") in _roles(events)


def test_rejected_accusations_name_their_accuser(nlp: Language) -> None:
    events = _events(nlp, "Kenya's government rejected accusations by Uganda that its police had detained traders.")
    assert ("REJECT", "KEN", "UGA") in _roles(events)


def test_a_rejected_act_of_unclear_owner_names_nobody(nlp: Language) -> None:
    # "their release": whose release is not said; the possessive pronoun is not resolved into a party.
    events = _events(nlp, "The minister offered to host talks in Riga on their release.")
    assert all(e.target is None or e.target.name != "Riga" for e in events)


def test_a_ceasefire_declared_in_a_city_is_laid_on_that_city(nlp: Language) -> None:
    events = _events(nlp, "The Libyan army declared a three-day ceasefire in Benghazi on Sunday.")
    (event,) = [e for e in events if e.source is not None and e.source.country_code == "LBY"]
    assert event.target is not None and event.target.name == "Benghazi"


def test_a_curfew_over_part_of_a_province_is_laid_on_the_province(nlp: Language) -> None:
    events = _events(nlp, "Authorities in Pakistan imposed a curfew in parts of Lahore after the riots.")
    targets = {e.target.country_code for e in events if e.target is not None}
    assert "PAK" in targets


def test_a_destination_hung_on_the_last_thing_sent_is_still_the_recipient(nlp: Language) -> None:
    events = _events(
        nlp, "Canada has sent 40 armoured vehicles and a unit of engineers to Jordan to help guard the border."
    )
    assert ("COOPERATE", "CAN", "JOR") in _roles(events) or ("AID", "CAN", "JOR") in _roles(events)


def test_a_mediation_effort_between_two_parties_names_them(nlp: Language) -> None:
    events = _events(nlp, "Qatar launched a mediation effort between Ethiopia and Eritrea.")
    assert {r for r in _roles(events) if r[0] == "CONSULT"} == {("CONSULT", "QAT", "ETH"), ("CONSULT", "QAT", "ERI")}


def test_a_hotline_discussed_between_coast_guards_names_no_party(nlp: Language) -> None:
    events = _events(nlp, "The two ministers spent an hour discussing a hotline between the navies.")
    assert all(e.target is None or "navies" not in e.target.name for e in events)


def test_a_demand_that_a_state_act_names_the_state(nlp: Language) -> None:
    events = _events(nlp, "Iran has repeated its demand that Britain release the seized tanker.")
    assert ("REQUEST", "IRN", "GBR") in _roles(events)


# -- the main event of a sentence ---------------------------------------------------------------------------


def test_a_release_outweighs_the_arrest_told_as_background(nlp: Language) -> None:
    text = "Egypt announced the release of three Sudanese traders who had been arrested near the border in March."
    result = _enrich(nlp, text)
    assert {e.event_type for e in result.events} >= {"RETREAT", "COERCE"}
    assert result.article.main_event_type == "RETREAT"


def test_whose_offer_was_rejected_is_the_target(nlp: Language) -> None:
    events = _events(nlp, "The rebel group rejected Colombia's peace offer on Monday.")
    (refusal,) = [e for e in events if e.event_type == "REJECT"]
    assert refusal.target is not None and refusal.target.country_code == "COL"


def test_whose_position_is_defended_is_the_target(nlp: Language) -> None:
    events = _events(nlp, "The foreign minister of Peru strongly defended Chile's position on the border dispute.")
    (support,) = [e for e in events if e.event_type == "SUPPORT"]
    assert support.target is not None and support.target.country_code == "CHL"


def test_a_ban_imposed_on_a_group_names_the_group(nlp: Language) -> None:
    events = _events(nlp, "The Indian government will not lift the ban imposed on Hezbollah.")
    (refusal,) = [e for e in events if e.event_type == "REJECT"]
    assert refusal.target is not None and refusal.target.name == "Hezbollah"


def test_a_withdrawal_from_a_country_names_the_country(nlp: Language) -> None:
    events = _events(nlp, "France completed its withdrawal of troops from Mali in August.")
    assert ("RETREAT", "FRA", "MLI") in _roles(events)


def test_condolences_for_a_people_name_that_people(nlp: Language) -> None:
    events = _events(nlp, "The Japanese prime minister expressed his condolences for the Turkish people.")
    (support,) = [e for e in events if e.event_type == "SUPPORT"]
    assert support.target is not None and support.target.country_code == "TUR"


def test_those_to_be_released_are_the_target_of_an_announced_release(nlp: Language) -> None:
    events = _events(nlp, "The rebels said they will release three policemen held captive since March.")
    (release,) = [e for e in events if e.event_type == "CONCEDE"]
    assert release.target is not None and "policemen" in release.target.name


def test_a_ceasefire_agreed_by_two_states_is_between_them(nlp: Language) -> None:
    events = _events(nlp, "Ethiopia and Eritrea have agreed to a ceasefire along their border.")
    assert ("CONCEDE", "ETH", "ERI") in _roles(events)


def test_what_a_call_discusses_is_no_party(nlp: Language) -> None:
    events = _events(
        nlp, "The Spanish foreign minister met officials in Rabat to discuss several Morocco-related issues."
    )
    assert all(e.target is None or "issues" not in e.target.name for e in events)


def test_welcoming_someones_offer_is_support_not_a_visit(nlp: Language) -> None:
    events = _events(nlp, "The Indian foreign ministry welcomed President Macron's offer to mediate.")
    assert "CONSULT" not in {e.event_type for e in events}
    (support,) = [e for e in events if e.event_type == "SUPPORT"]
    assert support.target is not None and support.target.country_code == "FRA"


def test_whom_a_gift_goes_to_comes_before_what_is_given(nlp: Language) -> None:
    events = _events(nlp, "Norway donated 5 million dollars to the Red Cross in Yemen.")
    (aid,) = [e for e in events if e.event_type == "AID"]
    assert aid.target is not None and aid.target.name == "Red Cross"


def test_striking_a_deal_is_an_agreement_not_an_attack(nlp: Language) -> None:
    events = _events(nlp, "Sudanese authorities struck a deal with the African Union on Tuesday.")
    assert [e.event_type for e in events] == ["AGREE"]


def test_peacekeepers_withdrawn_are_the_withdrawers_own(nlp: Language) -> None:
    events = _events(nlp, "The United Nations withdrew peacekeepers from Lebanon in 2024.")
    (retreat,) = [e for e in events if e.event_type == "RETREAT"]
    assert retreat.target is not None and retreat.target.country_code == "LBN"


def test_fighting_terrorism_in_general_is_no_attack(nlp: Language) -> None:
    events = _events(nlp, "The minister said Kenya had made progress fighting terrorism.")
    assert "ASSAULT" not in {e.event_type for e in events}


def test_what_an_accusation_alleges_is_no_event_of_its_own(nlp: Language) -> None:
    text = "The Red Cross rejected accusations by the government of Mali that it had used its trucks to aid the rebels."
    events = _events(nlp, text)
    assert "AID" not in {e.event_type for e in events}
    assert ("REJECT", None, "MLI") in _roles(events)


def test_a_known_name_tagged_as_a_common_noun_is_still_the_actor(nlp: Language) -> None:
    events = _events(nlp, "Trump has now suspended military aid to Pakistan.")
    assert ("SANCTION", "USA", "PAK") in _roles(events)


def test_what_came_before_the_news_does_not_make_the_main_event(nlp: Language) -> None:
    text = "A court in Harare freed the opposition lawmaker on bail following his arrest on new charges last week."
    result = _enrich(nlp, text)
    assert result.article.main_event_type == "RETREAT"


def test_an_arrest_with_its_agent_unsaid_is_the_states_where_it_happened(nlp: Language) -> None:
    events = _events(nlp, "Opposition leader Maria Kalesnikava was arrested in Belarus on Monday.")
    (arrest,) = [e for e in events if e.event_type == "COERCE"]
    assert arrest.source is not None and arrest.source.country_code == "BLR"


def test_an_anonymous_suspects_arrest_is_given_no_state_and_no_place_as_target(nlp: Language) -> None:
    events = _events(nlp, "A suspect was arrested in London after the robbery.")
    for event in events:
        assert event.source is None or event.source.country_code != "GBR"
        assert event.target is None or event.target.name != "London"


def test_a_verb_the_tagger_took_for_a_noun_still_has_its_subject(nlp: Language) -> None:
    events = _events(nlp, "EU and UN hand over urgently needed medical supplies to the Nigerian Government.")
    assert events and all(e.source is not None and e.source.name == "EU" for e in events)


def test_money_set_aside_in_aid_is_the_allocators_aid(nlp: Language) -> None:
    events = _events(nlp, "The European Commission is allocating €40 million in humanitarian support for Sudan.")
    (aid,) = [e for e in events if e.event_type == "AID"]
    assert aid.source is not None and aid.source.name == "European Commission"


def test_a_rejected_appeal_names_who_lodged_it(nlp: Language) -> None:
    events = _events(nlp, "The court rejected an appeal lodged by the opposition party of Kenya.")
    (refusal,) = [e for e in events if e.event_type == "REJECT"]
    assert refusal.target is not None and refusal.target.country_code == "KEN"


def test_a_pronoun_in_a_coordinated_clause_is_that_clauses_shared_subject(nlp: Language) -> None:
    text = (
        "Kurdish factions have agreed to lay down their weapons in northern Syria, "
        "but linked their disarmament to a Turkish withdrawal."
    )
    events = _events(nlp, text)
    retreats = [e for e in events if e.event_type == "RETREAT"]
    assert retreats and all(e.source is not None and e.source.country_code != "SYR" for e in retreats)


def test_a_person_with_a_public_office_in_their_name_acts_politically(nlp: Language) -> None:
    events = _events(nlp, "Springfield Mayor Tom Baker agreed to resign from office on Friday.")
    assert events and all(e.source is not None and "Tom Baker" in e.source.name for e in events)


def test_a_spokesperson_for_a_political_body_acts_politically(nlp: Language) -> None:
    events = _events(nlp, "Anna Berg, a spokeswoman for the Kremlin, condemned the raid on the embassy.")
    (accuse,) = [e for e in events if e.event_type == "ACCUSE"]
    assert accuse.source is not None and accuse.source.name == "Anna Berg"


def test_a_clubs_president_is_no_office_holder(nlp: Language) -> None:
    events = _events(nlp, "Joan Ferrer, the club's president, rejected the offer for the striker on Monday.")
    assert all(e.source is None or e.source.name != "Joan Ferrer" for e in events)


def test_a_spokesman_of_a_body_only_the_dictionary_knows_speaks_for_its_country(nlp: Language) -> None:
    events = _events(nlp, "Qari Yousaf, the Taliban spokesman, claimed responsibility for the ambush on Monday.")
    (attack,) = [e for e in events if e.event_type == "ASSAULT"]
    assert attack.source is not None and attack.source.name == "Qari Yousaf"
    assert attack.source.country_code == "AFG"


def test_a_spokeswoman_for_a_government_takes_its_country(nlp: Language) -> None:
    events = _events(nlp, "Anna Berg, a spokeswoman for the Kremlin, condemned the raid on the embassy.")
    (accuse,) = [e for e in events if e.event_type == "ACCUSE"]
    assert accuse.source is not None and accuse.source.country_code == "RUS"


def test_states_named_as_a_group_act_together(nlp: Language) -> None:
    events = _events(nlp, "The Nordic nations pledged support for the new government in Kyiv.")
    assert events and events[0].source is not None and events[0].source.name == "Nordic nations"
    counted = _events(nlp, "Nearly 40 countries agreed to share tax information with each other.")
    assert counted and counted[0].source is not None and counted[0].source.name == "countries"


def test_states_counted_loosely_are_no_actor(nlp: Language) -> None:
    events = _events(nlp, "Many countries condemned the raid on the embassy.")
    assert all(e.source is None or "countries" not in e.source.name for e in events)


def test_holding_civilians_as_human_shields_is_taking_hostages(nlp: Language) -> None:
    events = _events(nlp, "Rebel fighters held about 3,000 villagers as human shields in the besieged town.")
    assert any(e.event_type == "ASSAULT" and e.mode == "abduct" for e in events)


def test_development_assistance_a_donor_reports_is_aid(nlp: Language) -> None:
    events = _events(nlp, "The Norwegian Government provided $90 million in total ODA to Malawi last year.")
    (aid,) = [e for e in events if e.event_type == "AID"]
    assert aid.source is not None and aid.source.country_code == "NOR"
    assert aid.target is not None and aid.target.country_code == "MWI"


def test_legal_action_against_a_government_is_an_accusation(nlp: Language) -> None:
    events = _events(nlp, "The European Commission launched legal action against the Hungarian government on Friday.")
    (accuse,) = [e for e in events if e.event_type == "ACCUSE"]
    assert accuse.target is not None and accuse.target.country_code == "HUN"


def test_lifting_sanctions_imposed_on_a_country_concedes_to_it(nlp: Language) -> None:
    events = _events(nlp, "The Security Council lifted sanctions imposed on Liberia a decade ago.")
    (concession,) = [e for e in events if e.event_type == "CONCEDE"]
    assert concession.target is not None and concession.target.country_code == "LBR"


def test_lifting_its_own_blockade_of_a_country_concedes_to_that_country(nlp: Language) -> None:
    events = _events(nlp, "Egypt lifted its blockade of Gaza on Tuesday.")
    (concession,) = [e for e in events if e.event_type == "CONCEDE"]
    assert concession.source is not None and concession.source.country_code == "EGY"
    assert concession.target is not None and concession.target.name == "Gaza"


def test_talks_held_for_a_purpose_are_with_the_governing_verbs_object(nlp: Language) -> None:
    events = _events(
        nlp, "German Chancellor Olaf Scholz called French President Emmanuel Macron to discuss energy prices."
    )
    (talks,) = [e for e in events if e.event_type == "CONSULT"]
    assert talks.target is not None and talks.target.name == "Emmanuel Macron"


def test_a_complaint_made_by_summoning_an_envoy_is_against_the_envoys_country(nlp: Language) -> None:
    events = _events(nlp, "Bangladesh summoned a senior Burmese diplomat on Monday to complain about border shootings.")
    (complaint,) = [e for e in events if e.event_type == "ACCUSE"]
    assert complaint.target is not None and complaint.target.country_code == "MMR"


def test_sharing_evidence_with_another_state_is_cooperation(nlp: Language) -> None:
    events = _events(nlp, "Senior Kenyan officials shared evidence with Uganda regarding the bombing in Kampala.")
    (cooperation,) = [e for e in events if e.event_type == "COOPERATE"]
    assert cooperation.target is not None and cooperation.target.country_code == "UGA"


def test_being_ready_to_contribute_is_an_offer_to_cooperate(nlp: Language) -> None:
    events = _events(nlp, "Austria is ready to contribute to the stabilisation of the situation in Libya.")
    assert events and events[0].event_type == "AGREE"
    assert events[0].source is not None and events[0].source.country_code == "AUT"


def test_freezing_negotiations_curtails_relations(nlp: Language) -> None:
    events = _events(nlp, "Moldova froze negotiations with Russia on Monday.")
    (curtailed,) = [e for e in events if e.event_type == "SANCTION"]
    assert curtailed.target is not None and curtailed.target.country_code == "RUS"


def test_money_given_with_a_nested_loan_is_the_givers_act(nlp: Language) -> None:
    events = _events(nlp, "Japan provided Kenya with up to $2 billion in new loan guarantees on Monday.")
    (aid,) = [e for e in events if e.event_type == "AID"]
    assert aid.source is not None and aid.source.country_code == "JPN"


def test_a_summit_that_fails_to_agree_is_its_parties_failure(nlp: Language) -> None:
    events = _events(nlp, "The summit between Serbia and Croatia failed to reach agreement on the border dispute.")
    assert events and events[0].source is not None and events[0].source.country_code == "SRB"
    assert events[0].target is not None and events[0].target.country_code == "HRV"


def test_a_ruler_acts_politically(nlp: Language) -> None:
    events = _events(nlp, "The Dubai Ruler welcomed Bahrain's efforts to deepen ties between the two countries.")
    (support,) = [e for e in events if e.event_type == "SUPPORT"]
    assert support.source is not None and "Ruler" in support.source.name


def test_seeking_someones_release_is_a_request_to_free_them(nlp: Language) -> None:
    events = _events(nlp, "Ghana's foreign minister seeks the release of two fishermen held in Togo.")
    assert any(e.event_type == "REQUEST" and e.mode == "yield" for e in events)


def test_a_people_keeps_its_name_and_its_country(nlp: Language) -> None:
    events = _events(nlp, "Lebanon generously opened its borders to Iraqis and Kurds.")
    assert events and events[0].target is not None
    assert events[0].target.name == "Iraqis" and events[0].target.country_code == "IRQ"


def test_a_stray_nationality_adjective_still_stands_for_its_state(nlp: Language) -> None:
    events = _events(nlp, "The Indonesian condemned the raid on the embassy in Jakarta.")
    assert all(e.source is None or e.source.name != "Indonesian" for e in events)


def test_an_office_holder_tagged_as_an_organisation_still_acts_politically(nlp: Language) -> None:
    text = "Ranil Wickremesinge, the former Prime Minister of Sri Lanka, said the government must ensure security."
    events = _events(nlp, text)
    assert events and events[0].source is not None and events[0].source.country_code == "LKA"


def test_responsibility_claimed_for_coordinated_attacks_is_the_claimants(nlp: Language) -> None:
    events = _events(nlp, "The Taliban claimed responsibility for both the Kunduz and the Herat bombings.")
    (attack,) = [e for e in events if e.event_type == "ASSAULT"]
    assert attack.source is not None and attack.source.name == "Taliban"


def test_workers_who_stop_work_are_on_strike(nlp: Language) -> None:
    events = _events(nlp, "Port workers in Rotterdam stopped work on Tuesday over pay.")
    assert any(e.event_type == "PROTEST" and e.mode == "strike" for e in events)
