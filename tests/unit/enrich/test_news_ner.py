"""The news NER: beside the OntoNotes model (which entity comes from which source), or alone as the one entity
reader (its labels mapped to the OntoNotes ones); and the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from pipeline.enrich.entities.news_ner import (
    NEWS_KEY,
    ONTONOTES_KEY,
    SHIPPED_MODEL,
    conll_labels_to_ontonotes,
    merge_entities,
    ontonotes_entities,
)
from pipeline.enrich.nlp import load_nlp, model_lineage
from pipeline.settings import Settings

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


ISSUE_21_SENTENCE = (
    "Top seed Peter Nicol of Scotland overcame Simon Parke of England 15-7 15-12 15-12 in the final on Sunday."
)


def test_a_person_of_a_place_the_news_model_found_is_no_body_of_office() -> None:
    # Issue 21 item 14: OntoNotes read "Simon Parke of England" as an ORG, so the body-of-office rule made the
    # news PER an ORG over "England", which the news model had found as a LOC: two spans over one token, and
    # doc.ents raised E1010, failing the article.
    ontonotes = [("Peter Nicol", "PERSON"), ("Scotland", "GPE"), ("Simon Parke of England", "ORG"), ("Sunday", "DATE")]
    news = [("Peter Nicol", "PER"), ("Scotland", "LOC"), ("Simon Parke", "PER"), ("England", "LOC")]
    assert [text for text, _ in merged(ISSUE_21_SENTENCE, ontonotes, news)] == [
        "Peter Nicol",
        "Scotland",
        "Simon Parke",
        "England",
        "Sunday",
    ]
    assert dict(merged(ISSUE_21_SENTENCE, ontonotes, news))["Simon Parke"] == "PERSON"


def test_the_issue_sentence_is_enriched_by_the_whole_pipeline(nlp: spacy.language.Language) -> None:
    people = [e.text for e in nlp(ISSUE_21_SENTENCE).ents if e.label_ == "PERSON"]
    assert people == ["Peter Nicol", "Simon Parke"]


# Title-case words and "of" so that bodies of office ("X Y of Z") come up, not only plain overlaps.
_FUZZ_WORDS = ["Joint", "Chiefs", "of", "Staff", "Simon", "Parke", "England", "the", "said", "Paris", "15-7", "."]
_FUZZ_DOC = _blank(" ".join(_FUZZ_WORDS * 2))
_ONTONOTES_LABELS = ["PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "DATE", "CARDINAL"]


def _spans(labels: list[str]) -> st.SearchStrategy[list[tuple[int, int, str]]]:
    bounds = st.tuples(st.integers(0, len(_FUZZ_DOC) - 1), st.integers(1, 6)).map(
        lambda start_length: (start_length[0], min(len(_FUZZ_DOC), start_length[0] + start_length[1]))
    )
    return st.lists(st.tuples(bounds, st.sampled_from(labels)).map(lambda b: (b[0][0], b[0][1], b[1])), max_size=10)


@settings(max_examples=300, deadline=None)
@given(ontonotes=_spans(_ONTONOTES_LABELS), news=_spans(["PER", "ORG", "LOC", "MISC"]))
def test_overlapping_spans_never_fail_the_merge(
    ontonotes: list[tuple[int, int, str]], news: list[tuple[int, int, str]]
) -> None:
    doc = Doc(_FUZZ_DOC.vocab, words=[t.text for t in _FUZZ_DOC])
    doc.ents = filter_spans(Span(doc, start, end, label=label) for start, end, label in ontonotes)
    merge_entities(doc, [Span(doc, start, end, label=label) for start, end, label in news])
    inputs = {(start, end) for start, end, _ in ontonotes + news}
    # Every entity is one of the inputs' spans, a body of office being an OntoNotes span.
    assert all((e.start, e.end) in inputs for e in doc.ents)


# One pass: a news model that reads the OntoNotes labels too (0.2.0, ``pipeline train ner`` with silver labels)
# is the only entity reader, its spans relabelled by ``ontonotes_entities``.


def mapped(text: str, news: list[tuple[str, str]]) -> list[tuple[str, str]]:
    doc = _blank(text)
    spans = [_span(doc, surface, label) for surface, label in news]
    return [(e.text, e.label_) for e in ontonotes_entities(doc, spans)]


def test_conll_labels_become_ontonotes_ones_and_the_learnt_ontonotes_labels_stay() -> None:
    text = "Juventus beat Ajax in Rome on Sunday as 40,000 Italian fans cheered Del Piero at the Stadio Olimpico."
    news = [
        ("Juventus", "ORG"),
        ("Ajax", "ORG"),
        ("Rome", "LOC"),
        ("Sunday", "DATE"),
        ("40,000", "CARDINAL"),
        ("Italian", "NORP"),
        ("Del Piero", "PER"),
        ("the Stadio Olimpico", "FAC"),
    ]
    assert mapped(text, news) == [
        ("Juventus", "ORG"),
        ("Ajax", "ORG"),
        ("Rome", "GPE"),  # a place the gazetteer knows
        ("Sunday", "DATE"),
        ("40,000", "CARDINAL"),
        ("Italian", "NORP"),
        ("Del Piero", "PERSON"),
        ("the Stadio Olimpico", "FAC"),
    ]


def test_a_place_is_typed_by_the_gazetteer() -> None:
    text = "Talks in Kharkiv, in Ukraine and on the Korean Peninsula."
    news = [("Kharkiv", "LOC"), ("Ukraine", "LOC"), ("Korean Peninsula", "LOC")]
    assert mapped(text, news) == [("Kharkiv", "GPE"), ("Ukraine", "GPE"), ("Korean Peninsula", "LOC")]


def test_a_misc_name_is_no_output_entity_but_its_finer_labels_are() -> None:
    text = "The Iraqi team won the World Cup and the Nobel Prize with an Apple iPhone under the Geneva Conventions."
    news = [
        ("Iraqi", "NORP"),
        ("World Cup", "EVENT"),
        ("Nobel Prize", "MISC"),
        ("iPhone", "PRODUCT"),
        ("Geneva Conventions", "LAW"),
    ]
    assert mapped(text, news) == [
        ("Iraqi", "NORP"),
        ("World Cup", "EVENT"),
        ("iPhone", "PRODUCT"),
        ("Geneva Conventions", "LAW"),
    ]


def test_french_conll_labels_are_mapped_alike() -> None:
    doc = _blank("Emmanuel Macron a parlé à Lyon avec la SNCF et des Européens.")
    doc.ents = [
        _span(doc, "Emmanuel Macron", "PER"),
        _span(doc, "Lyon", "LOC"),
        _span(doc, "SNCF", "ORG"),
        _span(doc, "Européens", "MISC"),
    ]
    assert [(e.text, e.label_) for e in conll_labels_to_ontonotes(doc).ents] == [
        ("Emmanuel Macron", "PERSON"),
        ("Lyon", "GPE"),
        ("SNCF", "ORG"),
    ]


def _untrained_news_model(path: Path, labels: list[str]) -> str:
    """A news model with these NER labels (untrained: only which labels it reads matters here)."""
    model = spacy.blank("en")
    ner = model.add_pipe("ner")
    for label in labels:
        ner.add_label(label)
    model.initialize()
    model.meta.update({"name": "news_ner", "version": "0.2.0"})
    model.to_disk(path)
    return str(path)


ONE_PASS = ["PER", "ORG", "LOC", "MISC", "NORP", "FAC", "DATE", "CARDINAL"]


def test_a_news_model_reading_the_ontonotes_labels_is_the_one_entity_reader(tmp_path: Path) -> None:
    model = _untrained_news_model(tmp_path / "one-pass", ONE_PASS)
    nlp = load_nlp(Settings(news_ner_model=model))
    assert "ner" not in nlp.component_names and nlp.pipe_names[-1] == "news_ner"
    doc = nlp("Angela Merkel met German ministers in Munich on Monday.")
    assert ONTONOTES_KEY not in doc.spans and NEWS_KEY in doc.spans
    assert not {e.label_ for e in doc.ents} & {"PER", "MISC"}
    name, version = model_lineage(nlp)
    assert name.endswith("+news_ner") and version.endswith("+0.2.0")
    # a parse process leaves the news NER to its worker and loads no entity reader at all
    assert "ner" not in load_nlp(Settings(news_ner_model=model), news_ner=False).component_names


def test_a_news_model_reading_conll_labels_alone_runs_beside_the_small_models_ner(tmp_path: Path) -> None:
    model = _untrained_news_model(tmp_path / "conll", ["PER", "ORG", "LOC", "MISC"])
    nlp = load_nlp(Settings(news_ner_model=model))
    assert nlp.pipe_names[-2:] == ["ner", "news_ner"]
    assert ONTONOTES_KEY in nlp("Angela Merkel met German ministers on Monday.").spans


def test_without_a_news_model_the_small_model_reads_the_entities() -> None:
    nlp = load_nlp(Settings(news_ner_model="none"))
    assert "ner" in nlp.pipe_names and "news_ner" not in nlp.pipe_names
    labels = {e.label_ for e in nlp("Angela Merkel met German ministers in Munich on Monday.").ents}
    assert {"PERSON", "NORP", "GPE", "DATE"} <= labels


_MAP_WORDS = ["Joint", "Chiefs", "of", "Staff", "Simon", "Parke", "England", "the", "said", "Paris", "15-7", "."]
_MAP_DOC = _blank(" ".join(_MAP_WORDS * 2))
_MODEL_LABELS = ["PER", "ORG", "LOC", "MISC", "FAC", "NORP", "DATE", "CARDINAL", "EVENT"]


def _model_spans() -> st.SearchStrategy[list[tuple[int, int, str]]]:
    bounds = st.tuples(st.integers(0, len(_MAP_DOC) - 1), st.integers(1, 6)).map(
        lambda start_length: (start_length[0], min(len(_MAP_DOC), start_length[0] + start_length[1]))
    )
    return st.lists(
        st.tuples(bounds, st.sampled_from(_MODEL_LABELS)).map(lambda b: (b[0][0], b[0][1], b[1])), max_size=10
    )


@settings(max_examples=300, deadline=None)
@given(news=_model_spans())
def test_every_model_span_but_misc_becomes_one_entity(news: list[tuple[int, int, str]]) -> None:
    doc = Doc(_MAP_DOC.vocab, words=[t.text for t in _MAP_DOC])
    spans = filter_spans(Span(doc, start, end, label=label) for start, end, label in news)  # a model's: disjoint
    doc.ents = ontonotes_entities(doc, spans)
    assert [(e.start, e.end) for e in doc.ents] == sorted((s.start, s.end) for s in spans if s.label_ != "MISC")
    assert not {e.label_ for e in doc.ents} & {"PER", "MISC"}  # CoNLL-only labels never reach doc.ents
