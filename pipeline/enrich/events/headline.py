"""The event types a headline names: the coder's trigger step (lexicon and modality) read on the title.

A news headline names the story's main event ("Army pulls forces out of contested region"), so the trigger
types of the headline are one of the votes of ``events.classifier.main_event_type`` and join the story prior
that nudges the coder's confidences (``events.classifier.with_headline``). Headlines are not coded
as events of their own (they restate the body and name no date or place); only their trigger frames count,
with the same modality rules as the body (negated triggers dropped, "will meet" read as AGREE).

Title Case ("Guinea and Nauru Have Promised to Ratify a New Treaty") misleads the tagger into proper nouns
whose lemmas match no trigger (and the entity recogniser into one long name), so a Title Case headline is
lower-cased except its first word, acronyms and the country, capital and demonym names the gazetteer knows,
before it is parsed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.enrich.events.lexicon import lexicon_index
from pipeline.enrich.events.taxonomy import get_taxonomy
from pipeline.enrich.events.triggers import frames_from_matches

TITLE_CASE_SHARE = 0.6  # a headline with at least this share of capitalised words is in Title Case
_LONGEST_NAME = 4  # words in the longest country name looked up ("Central African Republic" and the like)


def sentence_case(doc: Doc) -> str:
    """The headline's text in sentence case when it is in Title Case (see the module's docstring); otherwise
    unchanged."""
    words = [t for t in doc if t.is_alpha]
    if not words or sum(t.text[:1].isupper() for t in words) < TITLE_CASE_SHARE * len(words):
        return doc.text
    keep = {0} | {t.i for t in doc if t.text.isupper()} | _country_names(doc)
    return "".join((t.text if t.i in keep else t.text.lower()) + t.whitespace_ for t in doc)


def _country_names(doc: Doc) -> set[int]:
    """Token indices of the longest runs the gazetteer reads as a country, capital or demonym."""
    from pipeline.enrich.entities.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    found: set[int] = set()
    start = 0
    while start < len(doc):
        for size in range(min(_LONGEST_NAME, len(doc) - start), 0, -1):
            text = doc[start : start + size].text
            if gazetteer.country(text) or gazetteer.capital_country(text) or gazetteer.demonym(text):
                found.update(range(start, start + size))
                start += size - 1
                break
        start += 1
    return found


def headline_types(doc: Doc) -> dict[str, float]:
    """Share of trigger weight per event type among the reported-event frames of a parsed headline."""
    matches = lexicon_index().find(doc)
    weights: dict[str, float] = {}
    for frame in frames_from_matches(matches, get_taxonomy()):
        weights[frame.event_type] = weights.get(frame.event_type, 0.0) + frame.match.trigger.weight
    total = sum(weights.values())
    return {event_type: weight / total for event_type, weight in weights.items()} if total else {}


def headlines_types(nlp: Language, titles: Sequence[str], batch_size: int = 64) -> list[dict[str, float]]:
    """``headline_types`` of many headlines: one parse each, of the text ``sentence_case`` makes of it (which
    reads only the words, so the tokenizer alone prepares it)."""
    recased = [sentence_case(nlp.make_doc(title)) for title in titles]
    docs: Iterable[Doc] = nlp.pipe(recased, batch_size=batch_size)
    return [headline_types(doc) for doc in docs]
