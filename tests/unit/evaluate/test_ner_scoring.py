"""``pipeline evaluate ner`` scores as CoNLL does: exact span and type, every mention, demonyms no places."""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language

from pipeline.evaluate.ner import Scores, news_spans, pipeline_spans, read_conll
from pipeline.records import Entity, Mention

CONLL = """-DOCSTART- -X- -X- O

Iraqi JJ B-NP B-MISC
troops NNS I-NP O
left VBD B-VP O
Basra NNP B-NP B-LOC
. . O O

Basra NNP B-NP B-LOC
is VBZ B-VP O
quiet JJ B-ADJP O
"""


def entity(name: str, label: str, *mentions: tuple[int, int, str]) -> Entity:
    return Entity(
        name=name,
        label=label,
        mention_count=len(mentions),
        mentions=[Mention(start=s, end=e, text=t) for s, e, t in mentions],
    )


def test_documents_are_text_with_gold_spans_of_scored_types(tmp_path: Path) -> None:
    path = tmp_path / "dev.txt"
    path.write_text(CONLL, encoding="utf-8")
    [document] = read_conll(path)
    assert document.text == "Iraqi troops left Basra .\nBasra is quiet"
    assert document.gold == {(18, 23, "LOC"), (26, 31, "LOC")}  # MISC is not scored
    assert (document.tokens, document.sentences) == (8, 2)


def test_every_mention_counts_and_a_demonym_read_as_a_place_is_a_false_positive() -> None:
    gold = {(18, 23, "LOC"), (26, 31, "LOC")}
    predicted = pipeline_spans(
        [
            entity("Iraq", "GPE", (0, 5, "Iraqi")),
            entity("Basra", "GPE", (18, 23, "Basra"), (26, 31, "Basra")),
        ]
    )
    scores = Scores()
    scores.add(gold, predicted)
    assert scores.prf("LOC") == {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    as_norp = Scores()
    as_norp.add(gold, pipeline_spans([entity("Iraqi", "NORP", (0, 5, "Iraqi"))]))
    assert as_norp.prf()["precision"] == 0.0 and as_norp.prf()["support"] == 2  # NORP is not scored


def test_the_news_models_finer_labels_count_as_conll_ones() -> None:
    import spacy

    doc = spacy.blank("en")("Iraqi troops left Camp David on Monday")
    doc.ents = [doc.char_span(0, 5, "NORP"), doc.char_span(18, 28, "FAC"), doc.char_span(32, 38, "DATE")]
    # FAC is a LOC; NORP (a MISC in CoNLL) and DATE are not scored
    assert news_spans(doc.ents) == {(18, 28, "LOC")}


def test_a_span_off_by_a_word_or_a_type_scores_nothing() -> None:
    scores = Scores()
    scores.add({(0, 11, "PER")}, {(0, 5, "PER"), (0, 11, "ORG")})
    assert scores.prf()["f1"] == 0.0


def test_errors_are_categorised_by_their_relation_to_gold_and_to_the_news_model() -> None:
    from pipeline.evaluate.ner_errors import classify, summary

    text = "Mr Bush met Chechnya and Pirelli"
    gold = {(3, 7, "PER"), (12, 20, "LOC"), (25, 32, "ORG")}
    predicted = {(0, 7, "PER"), (12, 20, "PER"), (25, 32, "ORG"), (8, 11, "ORG")}
    news = {(0, 7, "PER"), (12, 20, "LOC"), (25, 32, "ORG")}
    counts = summary(classify(text, gold, predicted, news))
    assert counts == {
        ("fp", "PER", "boundary", "model"): 1,  # "Mr Bush": the news model's own span
        ("fp", "PER", "type", "pipeline"): 1,  # the news model said LOC
        ("fp", "ORG", "spurious", "pipeline"): 1,
        ("fn", "PER", "boundary", "model"): 1,
        ("fn", "LOC", "type", "pipeline"): 1,  # the news model had it right
    }


def test_speed_is_measured_by_wall_clock_and_cpu_with_and_without_the_news_model(nlp: Language) -> None:
    from pipeline.evaluate.ner import ConllDocument, enrich_speed

    documents = [
        ConllDocument(text="Peter Blackburn met EU officials in Brussels .", gold=set(), tokens=8, sentences=1)
    ]
    figures = enrich_speed(nlp, documents)
    assert figures["enrich_documents_per_second"] > 0 and figures["enrich_documents_per_cpu_second"] > 0
    if "news_ner" in nlp.pipe_names:
        assert figures["enrich_documents_per_cpu_second_without_news_model"] > 0
