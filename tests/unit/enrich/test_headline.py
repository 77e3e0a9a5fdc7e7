"""What a headline's parse must keep to keep its event types (issue 24: titles parsed the cheapest way that keeps
their types)."""

from __future__ import annotations

from spacy.language import Language

from pipeline.enrich.events.headline import headline_types, headlines_types, sentence_case


def test_a_month_in_a_headline_is_a_date_not_a_march(nlp: Language) -> None:
    # The small model's DATE label is what keeps "March" from being read as a protest: a headline parse without
    # it (the news NER alone names people, organisations and places) gives this title a PROTEST share of its own.
    march, january = headlines_types(
        nlp,
        ["Strike Force commander meets rebels in March talks", "Strike Force commander meets rebels in January talks"],
    )
    assert march == january


def test_headlines_are_parsed_by_the_whole_pipeline(nlp: Language) -> None:
    titles = ["Guinea and Nauru Have Promised to Ratify a New Treaty", "Army pulls forces out of contested region"]
    recased = [sentence_case(nlp.make_doc(title)) for title in titles]
    assert headlines_types(nlp, titles) == [headline_types(doc) for doc in nlp.pipe(recased)]
