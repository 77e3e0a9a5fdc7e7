"""The project's news NER, and how its entities become the pipeline's (OntoNotes labels).

Two kinds of news model (``pipeline train ner``), told apart by their labels (``reads_ontonotes_labels``):

**One pass** (0.2.0, trained on CoNLL++ gold PER/ORG/LOC/MISC plus the small OntoNotes model's labels that
CoNLL lacks on the same training sentences: NORP, FAC, DATE, TIME, CARDINAL, ORDINAL, MONEY, PERCENT,
QUANTITY, EVENT, LAW, WORK_OF_ART, PRODUCT; ``pipeline/train/silver.py``). It is the only entity reader: the
small model's ``ner`` is not loaded (``nlp.load_nlp``), and ``doc.ents`` is its spans relabelled
(``ontonotes_entities``): PER is PERSON, ORG is ORG, LOC is GPE for a country or a place the gazetteer knows
and LOC otherwise, MISC is no output entity, the OntoNotes labels it learnt stay.

**Beside the small model** (0.1.0, CoNLL's four labels; shipped while 0.2.0 misses the NER gate: see
docs/enrichment.md). The component runs after the OntoNotes ``ner`` and rewrites ``doc.ents``
(``merge_entities``):

- a news PER/ORG/LOC span is the entity, labelled PERSON/ORG, and for LOC with the OntoNotes place label of the
  same span (GPE, LOC or FAC) or else GPE for a country or a place the gazetteer knows, LOC otherwise (and a
  PER that OntoNotes calls FAC over the same words is the facility: "Camp David"; a PER that begins an
  OntoNotes ORG going on with "of" and a capitalised word is that organisation: "Joint Chiefs" of "Joint
  Chiefs of Staff"); an OntoNotes span overlapping it goes;
- a news MISC span is not an output entity, but an OntoNotes place inside it goes ("Iraqi" is MISC, no place;
  NORP stays);
- an OntoNotes span of a label CoNLL lacks (NORP, FAC, dates, numbers ...) stays; an OntoNotes PERSON/ORG/GPE/LOC
  the news model did not find goes (on those the news model is the better reader, so its silence is evidence),
  unless the article writes that name in full elsewhere and the news model found it there ("Yoon" alone, of
  "Yoon Suk Yeol").

The news model's spans stay on the doc for evaluation and debugging (``doc.spans["news_ner"]``), and beside
the small model its entities too (``doc.spans["ontonotes"]``). The news model never sees whitespace tokens
(line breaks): it was trained without them, so they are left out of its input and its spans are mapped back.
Models that read CoNLL's labels alone and run with no OntoNotes ``ner`` (spaCy's French, WikiNER-trained)
go through the one-pass mapping (``conll_labels_to_ontonotes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch

import pipeline
from pipeline.enrich.entities.gazetteer import get_gazetteer

# The model the package ships (trained by ``pipeline train ner --install``).
SHIPPED_MODEL = Path(pipeline.__file__).resolve().parent / "models" / "en_news_ner"
ONTONOTES_KEY = "ontonotes"
NEWS_KEY = "news_ner"

# CoNLL's labels the mapping rewrites (LOC by the gazetteer, MISC dropped); every other label is OntoNotes' own.
NEWS_TO_ONTONOTES = {"PER": "PERSON", "ORG": "ORG"}
ONTONOTES_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# What the news model decides beside the small one: OntoNotes spans of these labels survive only inside a news
# span of theirs.
NEWS_DECIDES = frozenset({"PERSON", "ORG", "GPE", "LOC"})
# What a news model must read to be the one entity reader: without them dates, demonyms and numbers would
# vanish from the pipeline's entities, so a model lacking one runs beside the small model's ner instead.
ONE_PASS_LABELS = frozenset({"NORP", "DATE", "CARDINAL"})


CONLL_LABELS_COMPONENT = "conll_labels_to_ontonotes"


@Language.component(CONLL_LABELS_COMPONENT)
def conll_labels_to_ontonotes(doc: Doc) -> Doc:
    """For a pipeline whose NER speaks CoNLL labels (spaCy's French, WikiNER-trained: PER/ORG/LOC/MISC): its
    entities relabelled the way the news model's are, so entity resolution reads them alike."""
    doc.ents = ontonotes_entities(doc, list(doc.ents))
    return doc


@Language.factory("news_ner", default_config={"model": str(SHIPPED_MODEL), "batch_size": 64})
def make_news_ner(nlp: Language, name: str, model: str, batch_size: int) -> NewsNer:
    return NewsNer(spacy.load(model), batch_size)


def reads_ontonotes_labels(model: str) -> bool:
    """Whether the news model ``model`` (a directory or an installed package) reads the OntoNotes labels CoNLL
    lacks (``ONE_PASS_LABELS``), so that it can be the one entity reader; from its meta, without loading it."""
    path = Path(model) if Path(model).exists() else spacy.util.get_package_path(model)
    labels = spacy.util.load_meta(path / "meta.json").get("labels", {}).get("ner", [])
    return set(labels) >= ONE_PASS_LABELS


class NewsNer:
    """Runs the news model on the doc's words and sets the doc's entities from its spans: alone (one pass), or
    merged with the small model's when the news model reads CoNLL's labels only."""

    def __init__(self, news_nlp: Language, batch_size: int) -> None:
        self.news_nlp = news_nlp
        self.batch_size = batch_size
        labels = set(getattr(news_nlp.get_pipe("ner"), "labels", ())) if "ner" in news_nlp.pipe_names else set()
        self.one_pass = labels >= ONE_PASS_LABELS

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, batch_size or self.batch_size):
            inputs = [_words_doc(self.news_nlp, doc) for doc in batch]
            predicted = self.news_nlp.pipe(words for words, _ in inputs)
            for doc, (_, positions), news_doc in zip(batch, inputs, predicted, strict=True):
                news_spans = [
                    Span(doc, positions[ent.start], positions[ent.end - 1] + 1, label=ent.label_)
                    for ent in news_doc.ents
                ]
                if self.one_pass:
                    doc.spans[NEWS_KEY] = news_spans
                    doc.ents = ontonotes_entities(doc, news_spans)
                else:
                    merge_entities(doc, news_spans)
                yield doc


def _words_doc(news_nlp: Language, doc: Doc) -> tuple[Doc, list[int]]:
    """The doc's non-whitespace tokens as a new Doc, and each one's index in ``doc``."""
    tokens = list(doc)  # indexing a Doc makes a new Token object each time
    positions = [token.i for token in tokens if not token.is_space]
    words = [tokens[i].text for i in positions]
    spaces = [bool(tokens[i].whitespace_) or (i + 1 < len(tokens) and tokens[i + 1].is_space) for i in positions]
    return Doc(news_nlp.vocab, words=words, spaces=spaces), positions


def ontonotes_entities(doc: Doc, spans: Iterable[Span]) -> list[Span]:
    """The model's spans with the OntoNotes labels the pipeline reads (rules in the module docstring), in order;
    MISC spans left out."""
    gazetteer = get_gazetteer()
    entities: list[Span] = []
    for span in spans:
        if span.label_ == "LOC":
            label: str | None = "GPE" if gazetteer.country(span.text) or gazetteer.places(span.text) else "LOC"
        else:
            label = ontonotes_label(span.label_)
        if label is not None:
            entities.append(Span(doc, span.start, span.end, label=label))
    return sorted(entities, key=lambda span: span.start)


def ontonotes_label(label: str) -> str | None:
    """The OntoNotes label of a span the model labelled ``label`` other than LOC (whose label is the
    gazetteer's call): PERSON for PER, None for MISC (no output entity), any OntoNotes label as it is."""
    if label == "MISC":
        return None
    return NEWS_TO_ONTONOTES.get(label, label)


def merge_entities(doc: Doc, news_spans: list[Span]) -> None:
    """Set ``doc.ents`` from the news model's spans and the doc's OntoNotes entities (rules in the module
    docstring); both inputs are kept as span groups."""
    ontonotes = list(doc.ents)
    doc.spans[ONTONOTES_KEY] = ontonotes
    doc.spans[NEWS_KEY] = news_spans
    gazetteer = get_gazetteer()
    same_bounds = {(span.start, span.end): span.label_ for span in ontonotes}
    decided = [False] * len(doc)  # tokens inside a news PER/ORG/LOC span
    misc = [False] * len(doc)  # tokens inside a news MISC span
    ontonotes_orgs = {span.start: span for span in ontonotes if span.label_ == "ORG"}
    merged: list[Span] = []
    chosen: list[Span] = []
    for span in news_spans:
        if span.label_ == "PER" and (body := _body_of_office(doc, span, ontonotes_orgs.get(span.start), news_spans)):
            span = body  # "Joint Chiefs" PER of OntoNotes' "Joint Chiefs of Staff" ORG
        if span.label_ == "MISC":
            misc[span.start : span.end] = [True] * len(span)
            continue
        decided[span.start : span.end] = [True] * len(span)
        chosen.append(span)
    # A model's entities never overlap one another, but a body of office can reach over the next one, and
    # doc.ents refuses overlapping spans (E1010, which failed the whole article): the longest span wins,
    # then the first.
    for span in filter_spans(chosen):
        if span.label_ == "LOC":
            label = same_bounds.get((span.start, span.end), "")
            if label not in ONTONOTES_PLACE_LABELS:
                label = "GPE" if gazetteer.country(span.text) or gazetteer.places(span.text) else "LOC"
        elif span.label_ == "PER" and same_bounds.get((span.start, span.end)) == "FAC":
            label = "FAC"  # "Camp David": CoNLL has no facility label to teach the news model; OntoNotes has
        else:
            label = NEWS_TO_ONTONOTES[span.label_]
        merged.append(Span(doc, span.start, span.end, label=label))
    named = _name_parts(news_spans)
    for span in ontonotes:
        if any(decided[span.start : span.end]):
            continue
        if span.label_ in NEWS_DECIDES and tuple(t.lower_ for t in span) not in named:
            continue
        if any(misc[span.start : span.end]) and span.label_ in ONTONOTES_PLACE_LABELS:
            continue  # "Iraqi" or "World Cup" read as a place by OntoNotes; the news model says MISC
        merged.append(span)
    doc.ents = sorted(merged, key=lambda span: span.start)


def _body_of_office(doc: Doc, person: Span, organisation: Span | None, news_spans: Iterable[Span]) -> Span | None:
    """The OntoNotes organisation that a news PER span begins and that goes on with "of" and a capitalised
    word ("Joint Chiefs" of "Joint Chiefs of Staff"): a name followed by "of Staff" is a body, not a person.
    Not when the news model found a name of its own in the rest ("Simon Parke of England": England is a
    place, so Simon Parke is a person from there)."""
    if organisation is None or organisation.end <= person.end + 1 or doc[person.end].lower_ != "of":
        return None
    if not doc[organisation.end - 1].is_title:
        return None
    if any(person.end < other.end and other.start < organisation.end for other in news_spans):
        return None
    return Span(doc, organisation.start, organisation.end, label="ORG")


def _name_parts(spans: list[Span]) -> set[tuple[str, ...]]:
    """The news model's PER/ORG/LOC names with their leading and trailing words, lower case: an OntoNotes name
    the news model missed is kept when the article writes it in full elsewhere ("Yoon" of "Yoon Suk Yeol")."""
    parts: set[tuple[str, ...]] = set()
    for span in spans:
        if span.label_ == "MISC":
            continue
        words = tuple(t.lower_ for t in span)
        parts.update(words[:n] for n in range(1, len(words) + 1))
        parts.update(words[-n:] for n in range(1, len(words) + 1))
    return parts
