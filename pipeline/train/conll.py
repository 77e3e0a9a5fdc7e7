"""Reading CoNLL-2003 files (CoNLL++ corrected): the common ground of NER training and evaluation.

Lines are ``token POS chunk tag``; tags are IOB (an ``I-`` without an open entity of its label starts one, so
both IOB1 and IOB2 files read the same). Documents split at ``-DOCSTART-``; blank lines end sentences.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TokenSpan = tuple[int, int, str]  # first token, end token (exclusive), label within one sentence

# How the news model's labels compare with CoNLL's (its selection on dev, ``pipeline evaluate ner``): the finer
# labels it learnt from silver data for gold MISC and LOC names count as those; labels absent here (DATE,
# CARDINAL, ...) have no CoNLL counterpart and are not scored.
CONLL_LABEL_OF = {
    "PER": "PER",
    "ORG": "ORG",
    "LOC": "LOC",
    "FAC": "LOC",
    "MISC": "MISC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "PRODUCT": "MISC",
}


@dataclass(slots=True)
class ConllSentence:
    words: list[str]
    entities: list[TokenSpan]


def read_documents(path: Path) -> Iterator[list[ConllSentence]]:
    """The file's documents, each a list of sentences with their entities (every label, MISC included)."""
    sentences: list[ConllSentence] = []
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if parts and parts[0] != "-DOCSTART-":
                rows.append((parts[0], parts[-1]))
                continue
            if rows:
                sentences.append(_sentence(rows))
                rows = []
            if parts and sentences:  # -DOCSTART-: the previous document is complete
                yield sentences
                sentences = []
    if rows:
        sentences.append(_sentence(rows))
    if sentences:
        yield sentences


def _sentence(rows: list[tuple[str, str]]) -> ConllSentence:
    entities: list[TokenSpan] = []
    open_entity: TokenSpan | None = None
    for index, (_, tag) in enumerate(rows):
        prefix, _, label = tag.partition("-")
        if prefix == "I" and open_entity is not None and open_entity[2] == label:
            open_entity = (open_entity[0], index + 1, label)
            continue
        if open_entity is not None:
            entities.append(open_entity)
        open_entity = (index, index + 1, label) if prefix in {"B", "I"} else None
    if open_entity is not None:
        entities.append(open_entity)
    return ConllSentence(words=[word for word, _ in rows], entities=entities)
