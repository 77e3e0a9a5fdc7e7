"""The news NER next to the OntoNotes model: which entity comes from which source, and the shipped model."""

from __future__ import annotations

import json

import spacy
from spacy.tokens import Doc, Span

from pipeline.enrich.news_ner import NEWS_KEY, ONTONOTES_KEY, SHIPPED_MODEL, merge_entities

_blank = spacy.blank("en")


def doc_with(text: str, ontonotes: list[tuple[str, str]]) -> Doc:
    doc = _blank(text)
    doc.ents = [_span(doc, surface, label) for surface, label in ontonotes]
    return doc


def _span(doc: Doc, surface: str, label: str) -> Span:
    start = doc.text.index(surface)
    span = doc.char_span(start, start + len(surface), label=label)
    assert span is not None
    return span


def merged(text: str, ontonotes: list[tuple[str, str]], news: list[tuple[str, str]]) -> list[tuple[str, str]]:
    doc = doc_with(text, ontonotes)
    merge_entities(doc, [_span(doc, surface, label) for surface, label in news])
    return [(e.text, e.label_) for e in doc.ents]


def test_news_types_win_and_ontonotes_keeps_what_conll_lacks() -> None:
    text = "Juventus beat Ajax in Rome on Sunday as Italian fans cheered Del Piero."
    ontonotes = [("Juventus", "PERSON"), ("Ajax", "GPE"), ("Rome", "GPE"), ("Sunday", "DATE"), ("Italian", "NORP")]
    news = [("Juventus", "ORG"), ("Ajax", "ORG"), ("Rome", "LOC"), ("Italian", "MISC"), ("Del Piero", "PER")]
    assert merged(text, ontonotes, news) == [
        ("Juventus", "ORG"),
        ("Ajax", "ORG"),
        ("Rome", "GPE"),  # the OntoNotes place label of the same span
        ("Sunday", "DATE"),
        ("Italian", "NORP"),  # MISC is no output entity; OntoNotes' NORP inside it stays
        ("Del Piero", "PERSON"),
    ]


def test_ontonotes_names_the_news_model_did_not_find_go() -> None:
    text = "Reuters said Mr Smith flew to the Alps."
    ontonotes = [("Reuters", "ORG"), ("Smith", "GPE"), ("the Alps", "LOC")]
    news = [("Reuters", "ORG"), ("Smith", "PER")]
    assert merged(text, ontonotes, news) == [("Reuters", "ORG"), ("Smith", "PERSON")]


def test_an_ontonotes_name_the_article_writes_in_full_elsewhere_stays() -> None:
    text = "Later Yoon left. Yoon Suk Yeol had spoken, and Kim stayed."
    ontonotes = [("Yoon", "PERSON"), ("Yoon Suk Yeol", "PERSON"), ("Kim", "PERSON")]
    news = [("Yoon Suk Yeol", "PER")]
    assert merged(text, ontonotes, news) == [("Yoon", "PERSON"), ("Yoon Suk Yeol", "PERSON")]


def test_a_facility_ontonotes_knows_is_no_person() -> None:
    text = "They met at Camp David with Jimmy Carter."
    ontonotes = [("Camp David", "FAC"), ("Jimmy Carter", "PERSON")]
    news = [("Camp David", "PER"), ("Jimmy Carter", "PER")]
    assert merged(text, ontonotes, news) == [("Camp David", "FAC"), ("Jimmy Carter", "PERSON")]


def test_a_place_without_an_ontonotes_label_is_typed_by_the_gazetteer() -> None:
    text = "Talks in Kharkiv and on the Korean Peninsula."
    news = [("Kharkiv", "LOC"), ("Korean Peninsula", "LOC")]
    assert merged(text, [], news) == [("Kharkiv", "GPE"), ("Korean Peninsula", "LOC")]


def test_a_place_ontonotes_reads_inside_a_misc_name_goes() -> None:
    text = "The Iraqi team won the World Cup in Paris."
    ontonotes = [("Iraqi", "GPE"), ("Paris", "GPE")]
    news = [("Iraqi", "MISC"), ("World Cup", "MISC"), ("Paris", "LOC")]
    assert merged(text, ontonotes, news) == [("Paris", "GPE")]


def test_both_sources_stay_on_the_doc() -> None:
    doc = doc_with("Obama spoke.", [("Obama", "GPE")])
    merge_entities(doc, [_span(doc, "Obama", "PER")])
    assert [(s.text, s.label_) for s in doc.spans[ONTONOTES_KEY]] == [("Obama", "GPE")]
    assert [(s.text, s.label_) for s in doc.spans[NEWS_KEY]] == [("Obama", "PER")]


def test_the_shipped_model_loads_with_its_provenance() -> None:
    nlp = spacy.load(SHIPPED_MODEL)
    assert set(nlp.get_pipe("ner").labels) == {"PER", "ORG", "LOC", "MISC"}
    meta = json.loads((SHIPPED_MODEL / "meta.json").read_text())
    assert meta["provenance"]["command"].startswith("pipeline train ner")
    assert len(meta["provenance"]["commit"]) == 40
    assert {s["file"] for s in meta["sources"]} == {"conllpp_train.txt", "conllpp_dev.txt"}
    size = sum(f.stat().st_size for f in SHIPPED_MODEL.rglob("*") if f.is_file())
    assert size <= 25 * 1024 * 1024
    assert [(e.text, e.label_) for e in nlp("Angela Merkel met Siemens executives in Munich.").ents] == [
        ("Angela Merkel", "PER"),
        ("Siemens", "ORG"),
        ("Munich", "LOC"),
    ]


def test_the_enrichment_pipeline_runs_the_news_model(nlp: spacy.language.Language) -> None:
    assert nlp.pipe_names[-1] == "news_ner"
    doc = nlp("Angela Merkel met Siemens executives in Munich on Monday.")
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Angela Merkel", "PERSON"),
        ("Siemens", "ORG"),
        ("Munich", "GPE"),
        ("Monday", "DATE"),
    ]


def test_a_person_span_beginning_an_ontonotes_body_of_staff_is_that_body() -> None:
    text = "South Korea's Joint Chiefs of Staff said Catherine of Aragon was a queen."
    ontonotes = [("South Korea's", "GPE"), ("Joint Chiefs of Staff", "ORG"), ("Catherine of Aragon", "PERSON")]
    news = [("South Korea", "LOC"), ("Joint Chiefs", "PER"), ("Catherine of Aragon", "PER")]
    assert merged(text, ontonotes, news) == [
        ("South Korea", "GPE"),
        ("Joint Chiefs of Staff", "ORG"),
        ("Catherine of Aragon", "PERSON"),
    ]
