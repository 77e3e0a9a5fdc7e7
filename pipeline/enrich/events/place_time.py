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
from pipeline.enrich.events.actors import PLACE_LABELS, EntityIndex
from pipeline.enrich.events.roles import infer_host_country
from pipeline.enrich.events.triggers import Frame, aux_words, clause_verb
from pipeline.records import Location

_LOCATIVE_PREPS = frozenset({"in", "at", "near", "outside", "across", "throughout", "inside", "around", "into"})
# Verbs whose object is where something arrives ("the convoy reached El Fasher") and verbs of sending or
# moving whose to-phrase is ("sent troops to the border", "aid flown into Gaza"): the event's place.
_ARRIVAL_VERBS = frozenset({"reach", "enter"})
_MOTION_VERBS = frozenset({
    "send", "deliver", "ship", "fly", "airlift", "dispatch", "deploy", "move", "bring", "carry", "truck",
    "travel", "go", "head", "arrive", "return", "transfer", "channel", "route", "drop",
})  # fmt: skip
# Material help happens where it arrives; the reporter's dateline city is not that place ("PORT SUDAN — aid
# reached El Fasher"), so these types are not placed at the dateline.
_DESTINATION_TYPES = frozenset({"AID"})
_DATELINE = re.compile(
    r"^\s*(?P<place>[A-Z][A-Za-z.'\- ]{1,40}?)(?:,\s*[A-Z][A-Za-z.'\- ]{1,30})?\s*(?:\([^)]{1,40}\)\s*)?"
    r"(?::|—|–|\s--?\s)"
)


# -- place and time ----------------------------------------------------------------------------------------


def read_dateline(doc: Doc, index: EntityIndex) -> Location | None:
    """The place of the dateline ("SEOUL —", "Seoul:", "NAIROBI (Wire) —"), if the text opens with one. Its
    words are marked in ``index`` as naming no actor (the parser often takes them for the subject)."""
    # The first 80 tokens hold at least the first 80 characters; Doc.text would join every token of the article.
    match = _DATELINE.match(doc[:80].text_with_ws[:80])
    if match is None:
        return None
    start = match.start("place")
    words = doc.char_span(0, match.end(), alignment_mode="expand")
    place: Location | None = None
    for span, entity in index.mention_spans:
        if span.start_char == start and entity.label in PLACE_LABELS:
            place = index.location_from_entity(entity)
            break
        if span.start_char > start:
            break
    if place is None:
        place = _gazetteer_place(match.group("place"))
    country = place.country_code if place is not None else None
    if country is not None:
        index.later_stories = _later_stories(doc, index, country)
        index.dateline_story_end = index.later_stories[0][0] if index.later_stories else None
    if words is not None:
        index.set_dateline(range(words.start, words.end), country)
    return place


def _later_stories(doc: Doc, index: EntityIndex, country: str) -> list[tuple[int, str]]:
    """Where a wire text moves to another country's story, and that country: a paragraph that opens with a
    place of another country, as a dateline of its own ("TBILISI -") or a locative ("In Tbilisi, police ...").
    A paragraph that merely names another country goes on with the same story."""
    stories: list[tuple[int, str]] = []
    current = country
    text = doc.text
    for sent in list(doc.sents)[1:]:
        if sent.start_char == 0 or "\n" not in text[max(0, sent.start_char - 3) : sent.start_char + 1]:
            continue
        opening = [t for t in sent[:6] if not t.is_space]
        if not opening:
            continue
        place_at = 1 if opening[0].lower_ in {"in", "at"} else 0
        if place_at >= len(opening):
            continue
        entity = index.entity_at(opening[place_at])
        if entity is None or entity.label not in PLACE_LABELS:
            continue
        if place_at == 0 and not any(t.text in {"—", "–", "-", ":"} for t in opening[1:5]):
            continue  # "Uruguay said ...": a country acting, not a dateline
        code = index.country_of(entity)
        if code and code != current:
            stories.append((sent.start_char, code))
            current = code
    return stories


def _gazetteer_place(name: str) -> Location | None:
    """A dateline the model did not tag ("SANTIAGO —"): the gazetteer's reading of the name."""
    from pipeline.enrich.entities.gazetteer import get_gazetteer

    found = get_gazetteer().place(" ".join(w.capitalize() for w in name.split()))
    if found is None:
        return None
    return Location(
        place=found.name, country_code=found.country_code, geonames_id=found.geonames_id, lat=found.lat, lon=found.lon
    )


def fill_location(frame: Frame, index: EntityIndex, dateline: Location | None) -> None:
    verb = clause_verb(frame.head)
    anchors = {verb.i, *frame.match.token_ids}
    if verb.dep_ == "conj":
        anchors.add(verb.head.i)  # "In Minsk, the ministry accused ... and said": adjuncts are shared
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
    where_place = _where_clause_place(verb, index) or _arrival_place(frame, index)
    if where_place is not None:
        frame.location = where_place
        return
    destination = _destination(frame, index)
    if frame.event_type in _DESTINATION_TYPES:
        frame.location = destination
        return
    in_its_story = index.dateline_story_end is None or frame.sent.start_char < index.dateline_story_end
    if (
        dateline is not None
        and in_its_story
        and (destination is None or not destination.country_code or destination.country_code == dateline.country_code)
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


def _arrival_place(frame: Frame, index: EntityIndex) -> Location | None:
    """Where the event's material arrives: the object of "reached", the to-phrase of "sent", on the trigger's
    clause verb or the verb its noun hangs on ("aid *reached* El Fasher")."""
    head = frame.head
    verbs = [clause_verb(head)]
    if head.pos_ in {"NOUN", "PROPN"} and head.head.i != head.i:
        verbs.append(head.head)
    for verb in verbs:
        lemma = verb.lemma_.lower()
        if lemma in _ARRIVAL_VERBS:
            places = [c for c in verb.children if c.dep_ == "dobj"]
        elif lemma in _MOTION_VERBS:
            preps = [c for c in verb.children if c.dep_ == "prep" and c.lower_ in {"to", "into"}]
            places = [g for p in preps for g in p.children if g.dep_ == "pobj"]
        else:
            continue
        for tok in places:
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


# A speech act happens when it is made: a date inside its content or object ("agreed to meet *in March*",
# "called for a strike *on 2 December*") is the date of what was promised or demanded.
_SPEECH_TYPES = frozenset({"AGREE", "REQUEST", "REJECT", "THREATEN", "ACCUSE"})
_CONTENT_ARCS = frozenset({"xcomp", "ccomp", "dobj", "relcl", "acl"})


def _date_arcs(anchor: Token, date_root: Token) -> list[str] | None:
    """Dependency labels on the way up from a date to the lowest node it shares with the trigger."""
    above = {t.i for t in (anchor, *anchor.ancestors)}
    arcs: list[str] = []
    for tok in (date_root, *date_root.ancestors):
        if tok.i in above:
            return arcs
        arcs.append(tok.dep_)
    return None


def fill_date(frame: Frame, published: datetime | None, doc_entities: Sequence[Span]) -> None:
    """The frame's date from a DATE entity of its sentence; ``doc_entities`` is its doc's ``ents``."""
    head = frame.head
    candidates: list[tuple[int, int, Span, str]] = []
    for ent in _entities_within(doc_entities, frame.sent):
        if ent.label_ != "DATE":
            continue
        distance = min(_tree_distance(head, ent.root), _tree_distance(clause_verb(head), ent.root))
        arcs = _date_arcs(clause_verb(head), ent.root) or []
        if distance > 4 or "conj" in arcs[1:]:
            continue  # too far, or the date of a coordinated clause
        if frame.event_type in _SPEECH_TYPES and _CONTENT_ARCS & set(arcs[1:]):
            continue
        value = normalize_date(ent.text, published, future=frame.future)
        if value is not None:
            # Nearest first; at equal distance the more precise ("on Thursday" over "this year").
            candidates.append((distance, -len(value), ent, value))
    if candidates:
        _, _, ent, value = min(candidates, key=lambda c: (c[0], c[1]))
        frame.date, frame.date_text = value, ent.text
        return
    if published is not None and not frame.future and not frame.conditional and not _background(head):
        frame.date = published.date().isoformat()


def _entities_within(doc_entities: Sequence[Span], span: Span) -> list[Span]:
    """``span.ents`` from entities read once per doc: ``Span.ents`` builds all of ``Doc.ents`` again per call.
    The same walk as spaCy's, so the same entities (it stops at the first one running past the span)."""
    found = []
    for ent in doc_entities:
        if ent.start >= span.start:
            if ent.end <= span.end:
                found.append(ent)
            else:
                break
    return found


_EARLIER = frozenset({"once", "previously", "formerly", "earlier"})
# "during his presidency", "in his previous term": a tenure phrase places an event in the past.
_TENURE = frozenset({"presidency", "term", "tenure", "premiership", "administration", "rule", "reign", "mandate"})


def _background(head: Token) -> bool:
    """Told as background, before the time of reporting ("had formed a bond", "once included threats"):
    such an event happened, but not on the publication day, so without a written date it stays undated.
    A purpose or coordinated clause shares its governor's time ("had visited Kenya to discuss trade")."""
    verb = clause_verb(head)
    if verb.pos_ not in {"VERB", "AUX"} and verb.dep_ in {"dobj", "attr"}:
        verb = verb.head  # a nominal trigger: the time is its verb's
    elif verb.pos_ not in {"VERB", "AUX"} and verb.dep_ == "pobj" and verb.head.head.i != verb.head.i:
        verb = verb.head.head  # "culminating in three summits"
    for _ in range(5):
        if verb.pos_ in {"VERB", "AUX"}:
            # Past perfect, except in reported speech, where it is only the backshifted past ("said it had
            # heightened surveillance" is recent news).
            if verb.tag_ == "VBN" and "had" in aux_words(verb) and verb.dep_ != "ccomp":
                return True
            if any(c.dep_ == "advmod" and c.lower_ in _EARLIER for c in verb.children):
                return True
            if _in_tenure(verb):
                return True
        if verb.dep_ == "pcomp" and verb.head.lower_ == "for":
            return True  # the reason for something now: "faces impeachment for attempting to impose"
        if verb.dep_ not in {"advcl", "xcomp", "conj", "pcomp"} or verb.head.i == verb.i:
            return False
        verb = verb.head
    return False


def _in_tenure(verb: Token) -> bool:
    return any(
        c.dep_ == "prep"
        and c.lower_ in {"during", "in", "under", "throughout"}
        and any(
            g.dep_ == "pobj"
            and g.lemma_.lower() in _TENURE
            and any(p.dep_ == "poss" or p.lower_ == "previous" for p in g.children)
            for g in c.children
        )
        for c in verb.children
    )


def place_and_time(
    frames: Sequence[Frame], index: EntityIndex, dateline: Location | None, published: datetime | None
) -> None:
    doc_entities = index.doc.ents
    for frame in frames:
        fill_location(frame, index, dateline)
        infer_host_country(frame)
        fill_date(frame, published, doc_entities)
