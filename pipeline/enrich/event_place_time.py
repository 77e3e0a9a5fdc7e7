"""Event coding, step 3: place and time of a frame.

Place: a locative phrase on the trigger's clause ("in Seoul"), a place named in the trigger's noun phrase
("the Camp David summit"), the noun a where-clause hangs on, the dateline ("SEOUL —"), or the destination
of a visit. Date: the DATE entity closest in the tree, normalised by ``dates``; else the publication day for
past and present events that are not background (future and background events stay undated).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from spacy.tokens import Doc, Span, Token

from pipeline.enrich.dates import normalize_date
from pipeline.enrich.event_actors import PLACE_LABELS, EntityIndex
from pipeline.enrich.event_roles import infer_host_country
from pipeline.enrich.event_triggers import Frame, aux_words, clause_verb
from pipeline.records import Location

_LOCATIVE_PREPS = frozenset({"in", "at", "near", "outside", "across", "throughout", "inside", "around", "into"})
_DATELINE = re.compile(
    r"^\s*(?P<place>[A-Z][A-Za-z.'\- ]{1,40}?)(?:,\s*[A-Z][A-Za-z.'\- ]{1,30})?\s*(?:\([^)]{1,40}\)\s*)?"
    r"(?::|—|–|\s--?\s)"
)


# -- place and time ----------------------------------------------------------------------------------------


def dateline_place(doc: Doc, index: EntityIndex) -> Location | None:
    match = _DATELINE.match(doc.text[:80])
    if match is None:
        return None
    start = match.start("place")
    for span, entity in index.mention_spans:
        if span.start_char == start and entity.label in PLACE_LABELS:
            return index.location_from_entity(entity)
        if span.start_char > start:
            break
    return None


def fill_location(frame: Frame, index: EntityIndex, dateline: Location | None) -> None:
    verb = clause_verb(frame.head)
    anchors = {verb.i, *frame.match.token_ids}
    doc = verb.doc
    for i in sorted(anchors):
        for child in doc[i].children:
            if child.dep_ != "prep" or child.lower_ not in _LOCATIVE_PREPS:
                continue
            for pobj in (c for c in child.children if c.dep_ == "pobj"):
                entity = index.entity_at(pobj)
                if entity is not None and entity.label in PLACE_LABELS:
                    frame.location = index.location_from_entity(entity)
                    return
        for child in doc[i].children:
            # "the Camp David summit": a place named inside the trigger's own noun phrase.
            if child.dep_ == "compound" and doc[i].pos_ == "NOUN":
                entity = index.entity_at(child)
                if entity is not None and entity.label in {"FAC", "LOC"}:
                    frame.location = index.location_from_entity(entity)
                    return
    where_place = _where_clause_place(verb, index)
    if where_place is not None:
        frame.location = where_place
        return
    destination = _destination(frame, index)
    if dateline is not None and (
        destination is None or not destination.country_code or destination.country_code == dateline.country_code
    ):
        frame.location = dateline
        return
    frame.location = destination


def _where_clause_place(verb: Token, index: EntityIndex) -> Location | None:
    """Place of the noun a where-clause hangs on: "the Camp David summit, where the leaders agreed"."""
    if verb.dep_ != "relcl" or not any(c.lower_ == "where" for c in verb.children):
        return None
    noun = verb.head
    for tok in (noun, *[c for c in noun.children if c.dep_ in {"compound", "nmod"}]):
        entity = index.entity_at(tok)
        if entity is not None and entity.label in PLACE_LABELS:
            return index.location_from_entity(entity)
    return None


def _destination(frame: Frame, index: EntityIndex) -> Location | None:
    if frame.mode != "visit":
        return None
    for target in frame.targets:
        if target.label in PLACE_LABELS:
            return Location(place=target.name, country_code=target.country_code)
    return None


def _tree_distance(a: Token, b: Token) -> int:
    chain_a = [a, *a.ancestors]
    depth_a = {t.i: d for d, t in enumerate(chain_a)}
    for d_b, tok in enumerate([b, *b.ancestors]):
        if tok.i in depth_a:
            return depth_a[tok.i] + d_b
    return 99


def fill_date(frame: Frame, published: datetime | None) -> None:
    head = frame.head
    best: tuple[int, Span] | None = None
    for ent in frame.sent.ents:
        if ent.label_ != "DATE":
            continue
        distance = min(_tree_distance(head, ent.root), _tree_distance(clause_verb(head), ent.root))
        if distance <= 4 and (best is None or distance < best[0]):
            best = (distance, ent)
    if best is not None:
        value = normalize_date(best[1].text, published, future=frame.future)
        if value is not None:
            frame.date, frame.date_text = value, best[1].text
            return
    if published is not None and not frame.future and not frame.conditional and not _background(head):
        frame.date = published.date().isoformat()


_EARLIER = frozenset({"once", "previously", "formerly", "earlier"})


def _background(head: Token) -> bool:
    """Told as background, before the time of reporting ("had formed a bond", "once included threats"):
    such an event happened, but not on the publication day, so without a written date it stays undated.
    A purpose or coordinated clause shares its governor's time ("had visited Kenya to discuss trade")."""
    verb = clause_verb(head)
    if verb.pos_ not in {"VERB", "AUX"} and verb.dep_ in {"dobj", "pobj", "attr"}:
        verb = verb.head  # a nominal trigger: the time is its verb's
    for _ in range(4):
        if verb.pos_ in {"VERB", "AUX"}:
            # Past perfect, except in reported speech, where it is only the backshifted past ("said it had
            # heightened surveillance" is recent news).
            if verb.tag_ == "VBN" and "had" in aux_words(verb) and verb.dep_ != "ccomp":
                return True
            if any(c.dep_ == "advmod" and c.lower_ in _EARLIER for c in verb.children):
                return True
        if verb.dep_ not in {"advcl", "xcomp", "conj"} or verb.head is verb:
            return False
        verb = verb.head
    return False


def place_and_time(frames: Sequence[Frame], doc: Doc, index: EntityIndex, published: datetime | None) -> None:
    dateline = dateline_place(doc, index)
    for frame in frames:
        fill_location(frame, index, dateline)
        infer_host_country(frame)
        fill_date(frame, published)
