"""Story classifier (training, round trip through its npz file), main-type choice, and the evaluation's split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from spacy.language import Language

from pipeline.enrich.events.classifier import (
    StoryClassifier,
    classifier_disabled,
    default_prior_weight,
    emitted_main_type,
    load_classifier,
    main_event_type,
    read_classifier,
    save_classifier,
    story_features,
    story_prior,
    story_tokens,
    train_classifier,
    with_headline,
)
from pipeline.evaluate.events import classification_scores, fold_of, split_of, top_confidence_type
from pipeline.records import Event, Evidence

from .test_events_support import LINEAGE

_TEXTS = {
    "PROTEST": ["thousands of protesters marched in the capital", "students rallied and protested the fee rise"],
    "ASSAULT": ["gunmen attacked a village and killed ten people", "an airstrike killed fighters near the border"],
    "AID": ["the donor sent humanitarian aid and food", "relief supplies and aid reached the flood victims"],
}


def _train() -> StoryClassifier:
    texts = [t for group in _TEXTS.values() for t in group]
    labels = [label for label, group in _TEXTS.items() for _ in group]
    return train_classifier(texts, labels, list(_TEXTS), min_df=1, c=1.0, scale=3.0, meta={"note": "unit test"})


def test_features_are_content_words_with_the_lead_counted_twice() -> None:
    counts = story_features("Police fired tear gas; police arrested them." + " filler" * 100 + " curfew")
    assert counts["police"] == 4 and counts["gas"] == 2 and counts["curfew"] == 1
    assert counts["tear gas"] == 2  # word pairs too
    assert "the" not in story_features("the police")


def test_training_is_deterministic_and_learns() -> None:
    first, second = _train(), _train()
    probs = first.predict_proba("protesters marched and rallied")
    assert max(probs, key=lambda t: probs[t]) == "PROTEST"
    assert probs == second.predict_proba("protesters marched and rallied")
    assert abs(sum(probs.values()) - 1.0) < 1e-9


def test_prediction_matches_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [t for group in _TEXTS.values() for t in group]
    vectorizer = TfidfVectorizer(analyzer=lambda text: story_tokens(text), sublinear_tf=True, min_df=1).fit(texts)
    model = _train()
    story = "gunmen killed protesters who marched; gunmen fled"
    expected = vectorizer.transform([story]).toarray()[0]
    idx, values = model.vector(story_features(story))
    ours = np.zeros(len(model.vocabulary))
    ours[idx] = values
    order = [vectorizer.vocabulary_[f] for f in sorted(model.vocabulary, key=lambda f: model.vocabulary[f])]
    assert np.allclose(ours, expected[order])


def test_file_round_trip(tmp_path: Path) -> None:
    model = _train()
    path = tmp_path / "model.npz"
    save_classifier(model, path)
    loaded = read_classifier(path)
    text = "an airstrike killed ten fighters"
    original, restored = model.predict_proba(text), loaded.predict_proba(text)
    assert loaded.meta == {"note": "unit test"} and loaded.scale == 3.0
    assert all(abs(original[k] - restored[k]) < 1e-3 for k in original)


def _event(event_type: str, confidence: float) -> Event:
    return Event(
        event_id=f"evt_{event_type}_{confidence}",
        event_type=event_type,
        evidence=Evidence(sentence="x", start=0, end=1),
        confidence=confidence,
        article_id="a",
        lineage=LINEAGE,
    )


def test_main_type_mixes_events_and_prior() -> None:
    events = [_event("ASSAULT", 0.9), _event("PROTEST", 0.5), _event("PROTEST", 0.5)]
    assert main_event_type(events) == "PROTEST"  # confidence mass, not the single best event
    prior = {"AID": 0.9, "PROTEST": 0.05, "ASSAULT": 0.05}
    assert main_event_type(events, prior, prior_weight=0.9) == "AID"
    assert main_event_type([], prior, prior_weight=0.5) == "AID"
    assert main_event_type([]) is None


def test_emitted_main_type_needs_events_and_mixes_the_prior() -> None:
    prior = {"AID": 0.9, "PROTEST": 0.05, "ASSAULT": 0.05}
    assert emitted_main_type([], prior, {"AID": 1.0}) is None  # prior and headline alone never claim a type
    events = [_event("ASSAULT", 0.9), _event("PROTEST", 0.5), _event("PROTEST", 0.5)]
    assert emitted_main_type(events, None, {"AID": 1.0}) == "PROTEST"  # no classifier: the events' votes alone
    # The events' votes tie (0.5 each, one sentence): alone, the tie goes to the first type by name; any weight
    # the shipped classifier gives its prior breaks the tie the prior's way.
    tied = [_event("PROTEST", 0.5), _event("ASSAULT", 0.5)]
    assert emitted_main_type(tied, None, None) == "ASSAULT"
    assert 0.0 < default_prior_weight() < 1.0, "the shipped classifier records the prior's weight"
    assert emitted_main_type(tied, {"PROTEST": 0.6, "ASSAULT": 0.4}, None) == "PROTEST"
    assert emitted_main_type(tied, {"PROTEST": 0.4, "ASSAULT": 0.6}, None) == "ASSAULT"


def test_top_confidence_type_is_the_single_best_event() -> None:
    events = [_event("ASSAULT", 0.9), _event("PROTEST", 0.5), _event("PROTEST", 0.5)]
    assert top_confidence_type(events) == "ASSAULT"  # what a reader of the emitted events takes as the main one
    assert top_confidence_type([_event("AID", 0.7), _event("SANCTION", 0.7)]) == "AID"  # first emitted on ties
    assert top_confidence_type([]) is None


def test_headline_joins_the_story_prior() -> None:
    prior = {"AID": 0.6, "PROTEST": 0.4}
    mixed = with_headline(prior, {"SANCTION": 1.0}, weight=1.0)
    assert mixed == {"AID": 0.3, "PROTEST": 0.2, "SANCTION": 0.5} and abs(sum(mixed.values()) - 1.0) < 1e-9
    assert with_headline(prior, {}, weight=1.0) == prior  # a headline without a trigger says nothing
    assert with_headline(None, {"SANCTION": 1.0}) is None  # no classifier: the rules alone


def test_prior_can_be_switched_off() -> None:
    with classifier_disabled():
        assert story_prior("anything at all") is None


def test_a_single_sentence_is_no_story_for_the_prior() -> None:
    text = "The minister said the army would withdraw from the border town."
    if load_classifier() is None:
        assert story_prior(text, sentences=1) is None
        return
    flat = story_prior(text, sentences=1)
    assert flat is not None and len(set(flat.values())) == 1 and abs(sum(flat.values()) - 1.0) < 1e-9
    story = story_prior(text, sentences=3)
    assert story is not None and len(set(story.values())) > 1


def test_split_is_by_template_and_stable() -> None:
    template = "{country_1} Expands Intelligence Sharing"
    # Pinned: the split is a hash of the template, the same in every process and run (no seeded hash()).
    assert (split_of(template), fold_of(template, 3)) == ("train", 2)
    assert split_of("template 5") == "test"
    assert {split_of(f"template {i}") for i in range(200)} == {"train", "test"}
    share = sum(split_of(f"template {i}") == "test" for i in range(2000)) / 2000
    assert 0.25 < share < 0.35
    assert 0 <= fold_of(template, 3) < 3


def test_classification_scores() -> None:
    scores = classification_scores(["A", "A", "B", "C"], ["A", "B", "B", None], ["A", "B", "C"])
    assert scores["accuracy"] == 0.5
    assert scores["per_type"]["A"]["precision"] == 1.0 and scores["per_type"]["A"]["recall"] == 0.5
    assert scores["per_type"]["C"]["f1"] == 0.0
    assert abs(scores["macro_f1"] - (2 / 3 + 2 / 3 + 0.0) / 3) < 1e-9


def test_headline_words_and_pairs_are_features_of_their_own() -> None:
    counts = story_features("Police used tear gas.", "Police fire tear gas at marchers")
    assert counts["t:police"] == 1 and counts["t:tear gas"] == 1 and counts["t:gas marchers"] == 1
    assert counts["c:gas"] == 1 and counts["c: gas "] == 1  # character n-grams inside word boundaries
    assert counts["police"] == 2  # the body's words are unchanged by the headline


def test_headline_names_the_main_type(nlp: Language) -> None:
    from pipeline.enrich.events.headline import headline_types, headlines_types, sentence_case

    assert sentence_case(nlp("Guinea and Nauru Have Promised to Ratify a New Treaty")).startswith(
        "Guinea and Nauru have promised"
    )
    recased = sentence_case(nlp("Central African Republic Rejects UN Request"))
    assert recased == "Central African Republic rejects UN request"
    unchanged = "Army pulls forces out of contested region"
    assert sentence_case(nlp(unchanged)) == unchanged
    titled = headlines_types(nlp, ["Protesters Clash With Police in Capital", "Quarterly Profits Rise at Carmaker"])
    assert "PROTEST" in titled[0] and abs(sum(titled[0].values()) - 1.0) < 1e-9
    assert titled[1] == {}
    assert headline_types(nlp("Minister did not resign")) == {}  # negated: no event named
    events = [_event("ASSAULT", 0.9)]
    assert main_event_type(events, headline={"PROTEST": 1.0}, headline_weight=2.0) == "PROTEST"
    assert main_event_type(events, headline={"PROTEST": 1.0}, headline_weight=0.0) == "ASSAULT"
