"""The event coder against the hand-coded gold file (tests/gold/events.yaml), and the scorer itself."""

from __future__ import annotations

from typing import Any

import pytest
from spacy.language import Language

from pipeline.evaluate.event_gold import DEFAULT_GOLD, GoldActor, GoldEvent, evaluate_gold, load_gold
from pipeline.records import Actor, Event, Evidence, Lineage
from tests.prerequisites import prerequisite_missing


@pytest.fixture(scope="module")
def gold_report(nlp: Language) -> dict[str, Any]:
    documents, notes = load_gold(DEFAULT_GOLD)
    if notes:
        prerequisite_missing("; ".join(notes))  # the seed article lives in ../shared
    assert documents
    return evaluate_gold(DEFAULT_GOLD, nlp)


def test_precision_and_recall_meet_the_targets(gold_report: dict[str, Any]) -> None:
    assert gold_report["precision"] >= 0.85
    assert gold_report["recall"] >= 0.75


def test_countries_of_sources_and_targets(gold_report: dict[str, Any]) -> None:
    assert gold_report["source_country"]["share"] >= 0.85
    assert gold_report["target_country"]["share"] >= 0.75


def test_non_political_texts_stay_quiet(gold_report: dict[str, Any]) -> None:
    assert gold_report["quiet_documents"] == 8
    assert gold_report["events_on_quiet_documents"] == 0


def test_documented_threshold_keeps_precision_with_calibration_not_fitted_on_the_document(
    gold_report: dict[str, Any],
) -> None:
    # docs/enrichment.md documents --min-confidence 0.6 as the precision >= 0.85 threshold
    row = next(r for r in gold_report["by_threshold_held_out"] if r["threshold"] == 0.6)
    assert row["precision"] >= 0.85
    assert sum(r["events"] for r in gold_report["reliability_held_out"]) == gold_report["coded_events_scored"]


def _event(event_type: str, source: Actor | None, target: Actor | None, sentence: str = "A met B.") -> Event:
    lineage = Lineage(pipeline_version="t", model_name="m", model_version="1", taxonomy_version="t")
    return Event(
        event_id="evt",
        event_type=event_type,
        source=source,
        target=target,
        evidence=Evidence(sentence=sentence, start=0, end=len(sentence)),
        confidence=0.5,
        article_id="a",
        lineage=lineage,
    )


def test_actor_matching_by_name_state_and_unstated() -> None:
    state = GoldActor.parse({"name": "South Korea", "country": "KOR", "state": True, "also": ["Seoul"]})
    assert state.matches(Actor(name="the South Korean government", country_code="KOR", label=None))
    assert state.matches(Actor(name="Seoul", country_code="KOR", label="GPE"))
    assert not state.matches(Actor(name="Choi Sang-mok", country_code="KOR", label="PERSON"))
    assert not state.matches(None)
    person = GoldActor.parse({"name": "Antony Blinken", "country": "USA", "unstated": True})
    assert person.matches(Actor(name="Antony Blinken", country_code=None, label="PERSON"))
    assert person.matches(None)


def test_mutual_events_match_either_way_and_parties_must_differ() -> None:
    parties = [{"name": n, "country": c, "state": True} for n, c in (("US", "USA"), ("Japan", "JPN"))]
    summit = GoldEvent.parse({"sentence": "summit", "type": "CONSULT", "source": parties, "target": parties,
                              "mutual": True})  # fmt: skip
    japan, usa = Actor(name="Japan", country_code="JPN", label="GPE"), Actor(name="US", country_code="USA", label="GPE")
    assert summit.matches(_event("CONSULT", japan, usa))
    assert not summit.matches(_event("CONSULT", japan, japan))
    assert not summit.matches(_event("AGREE", japan, usa))
    one_way = GoldEvent.parse({"sentence": "x", "type": ["ACCUSE"], "source": parties[0], "target": None})
    assert one_way.matches(_event("ACCUSE", usa, None))
    assert not one_way.matches(_event("ACCUSE", usa, japan))
