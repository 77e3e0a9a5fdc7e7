"""Silver labels for the news NER: what the small OntoNotes model reads in CoNLL's training sentences, for the
labels CoNLL has none of, so one model reads both kinds of entity.

CoNLL++ gold (PER, ORG, LOC, MISC) is kept as it is, with two refinements where the small model's span is
exactly a gold span: a gold MISC it reads as NORP, EVENT, WORK_OF_ART, LAW or PRODUCT takes that label ("Iraqi"
NORP, "World Cup" EVENT), and a gold LOC it reads as FAC becomes FAC ("Camp David"): finer labels of the same
names, which the pipeline reads downstream and which count as MISC and LOC in a CoNLL comparison
(``conll.CONLL_LABEL_OF``). A silver span of a label CoNLL lacks is added where it overlaps no gold span (gold is the
better reader of names, and annotators marked every name, so a silver PERSON, ORG, GPE or LOC is never added).
LANGUAGE is left out: nothing downstream reads it, and CoNLL marks languages MISC.

Silver labels go on the training split only: dev stays gold, for selection and evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.train.conll import TokenSpan

# Labels CoNLL has no counterpart of, read downstream: NORP and FAC by actors and places, DATE by event time, the
# numbers and the names (EVENT, LAW, ...) by the trigger lexicon, which keeps triggers out of them.
SILVER_LABELS = frozenset(
    {
        "NORP",
        "FAC",
        "DATE",
        "TIME",
        "CARDINAL",
        "ORDINAL",
        "MONEY",
        "PERCENT",
        "QUANTITY",
        "EVENT",
        "LAW",
        "WORK_OF_ART",
        "PRODUCT",
    }
)
# A gold span of the key label takes a silver label of these when the silver span is exactly it.
REFINEMENTS = {
    "MISC": frozenset({"NORP", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"}),
    "LOC": frozenset({"FAC"}),
}


def with_silver(gold: Iterable[TokenSpan], silver: Iterable[TokenSpan]) -> list[TokenSpan]:
    """The gold spans, refined where a silver span is exactly one (``REFINEMENTS``), and the silver spans of
    ``SILVER_LABELS`` that overlap no gold span, in order."""
    gold = list(gold)
    silver_by_bounds = {(start, end): label for start, end, label in silver}
    spans: list[TokenSpan] = []
    covered: set[int] = set()
    for start, end, label in gold:
        refined = silver_by_bounds.get((start, end), "")
        spans.append((start, end, refined if refined in REFINEMENTS.get(label, ()) else label))
        covered.update(range(start, end))
    for (start, end), label in silver_by_bounds.items():
        if label in SILVER_LABELS and covered.isdisjoint(range(start, end)):
            spans.append((start, end, label))
    return sorted(spans)
