"""Event coding, step 2: roles. Who acted (source) and on whom (target), from the parse and the entities.

The source is the grammatical subject (or passive agent, or possessor of a nominal trigger "Blinken's
visit", or the subject of the light verb in "held talks"), climbing through complement clauses; the target
is the object, a to/against/with/on phrase, the destination of a visit, or the actor of an event that is
itself the object ("condemned the launch" -> whoever launched). A definite nominal trigger with no actors of
its own ("the launch") repeats the latest event of its type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spacy.tokens import Token

from pipeline.enrich.event_actors import EntityIndex
from pipeline.enrich.event_lexicon import TriggerMatch
from pipeline.enrich.event_triggers import Frame, clause_verb
from pipeline.records import Actor

_TARGET_PREPS = frozenset({"to", "against", "with", "on", "at", "toward", "towards", "upon", "over"})


# -- actors --------------------------------------------------------------------------------------------


def fill_actors(
    frame: Frame, index: EntityIndex, previous: Sequence[Frame], by_head: Mapping[int, TriggerMatch]
) -> None:
    head = frame.actor_head or frame.head
    verb = clause_verb(head)
    source = _source_of(head, verb, index)
    targets = _targets_of(frame, verb, index, by_head)
    nominal = head.pos_ in {"NOUN", "PROPN"} and verb is head
    if source is None and not targets and nominal:
        # "the launch", "his visit": a definite mention of an event already coded repeats it.
        antecedent = _antecedent(frame, previous)
        if antecedent is not None:
            source, targets = antecedent.source, list(antecedent.targets)
    if source is None and not nominal:
        source = _leading_actor(frame, index, targets)
        frame.fallback_source = source is not None
    if frame.match.trigger.swap and source is not None and targets:
        source, targets = targets[0], [source]
    frame.source = source
    frame.targets = [t for t in targets if source is None or not same_actor(t, source)]


def _source_of(head: Token, verb: Token, index: EntityIndex) -> Actor | None:
    if head is not verb or head.pos_ in {"NOUN", "PROPN"}:
        actor = _nominal_source(head, index)
        if actor is not None:
            return actor
        if head is verb:
            return None
    tok: Token = verb
    for _ in range(5):
        subject = _subject(tok)
        if subject is not None:
            return index.actor_at(subject)
        agent = next((c for c in tok.children if c.dep_ == "agent"), None)
        if agent is not None:
            pobj = next((c for c in agent.children if c.dep_ == "pobj"), None)
            if pobj is not None:
                return index.actor_at(pobj)
        if tok.dep_ == "acl" or (tok.dep_ == "pobj" and tok.pos_ in {"NOUN", "PROPN"}):
            owner = _nominal_source(tok.head if tok.dep_ == "acl" else tok, index)
            if owner is not None:
                return owner
        if tok.dep_ == "relcl":
            return index.actor_at(tok.head)
        if tok.dep_ not in {"xcomp", "conj", "advcl", "pcomp", "prep", "pobj", "acl", "dobj", "ccomp"}:
            return None
        if tok.head.i == tok.i:
            return None
        tok = tok.head
    return None


def _subject(verb: Token) -> Token | None:
    """The verb's subject; with two (a dateline parsed as a subject: "Seoul - North Korea fired"), the
    one nearest the verb."""
    subjects = [c for c in verb.children if c.dep_ in {"nsubj", "csubj"}]
    if not subjects:
        return None
    before = [c for c in subjects if c.i < verb.i]
    return before[-1] if before else subjects[0]


def _nominal_source(noun: Token, index: EntityIndex) -> Actor | None:
    """Actor of a nominal trigger: possessor, actor modifier ("US condemnation") or "by" phrase."""
    for child in noun.children:
        if child.dep_ == "poss":
            return index.actor_at(child)
    for child in noun.children:
        if child.dep_ in {"compound", "amod", "nmod"}:
            entity = index.entity_at(child)
            if entity is not None and entity.label in {"GPE", "NORP", "ORG", "PERSON"}:
                return index.actor_from_entity(entity)
        if child.dep_ == "prep" and child.lower_ == "by":
            pobj = next((c for c in child.children if c.dep_ == "pobj"), None)
            if pobj is not None:
                return index.actor_at(pobj)
    return None


def _targets_of(frame: Frame, verb: Token, index: EntityIndex, by_head: Mapping[int, TriggerMatch]) -> list[Actor]:
    anchors = sorted({verb.i, *frame.match.token_ids})
    doc = verb.doc
    candidates: list[Token] = []
    for i in anchors:
        tok = doc[i]
        for child in tok.children:
            if child.i in frame.match.token_ids:
                continue
            if child.dep_ in {"dobj", "dative", "nsubjpass", "obj"} and tok.pos_ == "VERB":
                candidates.append(child)
            elif child.dep_ == "prep" and child.lower_ in _TARGET_PREPS | _visit_preps(frame):
                candidates.extend(c for c in child.children if c.dep_ == "pobj")
            elif child.dep_ == "ccomp" and frame.event_type in {"THREATEN", "ACCUSE", "REQUEST"}:
                candidates.extend(c for c in child.children if c.dep_ == "nsubj")
            elif child.dep_ == "conj" and child.pos_ == "PROPN" and candidates and not _has_subject(child):
                # A small-model parse error: in "met with X, a ..., and Y" the second name is often hung on the
                # verb as its conjunct. A name with no clause of its own coordinated there is another object.
                candidates.append(child)
    actors: list[Actor] = []
    for cand in candidates:
        for tok in (cand, *_conjuncts(cand)):
            actor = index.actor_at(tok)
            if actor is None and tok.i in by_head:
                frame.event_objects.append(tok.i)  # resolved once every trigger has its actors
            if actor is not None and all(not same_actor(actor, a) for a in actors):
                actors.append(actor)
    return actors


def link_event_objects(frames: Sequence[Frame], frame_by_head: Mapping[int, Frame]) -> None:
    """Objects that are events themselves: in "condemned the launch" the target is whoever launched."""
    for frame in frames:
        for i in frame.event_objects:
            other = frame_by_head.get(i)
            if other is None or other.source is None:
                continue
            if frame.source is not None and same_actor(frame.source, other.source):
                continue
            if all(not same_actor(other.source, t) for t in frame.targets):
                frame.targets.append(other.source)


def _has_subject(tok: Token) -> bool:
    return any(c.dep_ in {"nsubj", "nsubjpass"} for c in tok.children)


def _visit_preps(frame: Frame) -> frozenset[str]:
    return frozenset({"in", "for"}) if frame.mode == "visit" else frozenset()


def _conjuncts(tok: Token) -> list[Token]:
    return [t for t in tok.subtree if t.dep_ == "conj" and t.head.i != t.i and _conj_root(t) is tok]


def _conj_root(tok: Token) -> Token:
    while tok.dep_ == "conj":
        tok = tok.head
    return tok


def _antecedent(frame: Frame, previous: Sequence[Frame]) -> Frame | None:
    head = frame.head
    definite = any(c.dep_ in {"det", "poss"} and c.lower_ in {"the", "this", "that", "his", "her", "its", "their"}
                   for c in head.children)  # fmt: skip
    # "the 2023 Camp David summit", "three summits": a noun with its own name, date or count is a new event.
    specific = any(
        c.dep_ in {"compound", "nmod", "nummod"} and c.i not in frame.match.token_ids and c.ent_type_
        for c in head.children
    )
    if not definite or specific:
        return None
    for other in reversed(previous):
        if other.event_type == frame.event_type and other.mode == frame.mode and other.source is not None:
            return other
    return None


def _leading_actor(frame: Frame, index: EntityIndex, targets: Sequence[Actor]) -> Actor | None:
    for tok in frame.sent:
        if tok.i >= frame.head.i:
            break
        entity = index.entity_at(tok)
        if entity is None or entity.label not in {"PERSON", "ORG", "GPE", "NORP"}:
            continue
        if tok.dep_ in {"compound", "amod"} and tok.head.i < frame.head.i and index.entity_at(tok.head) is None:
            pass  # a modifier of a common noun still names the acting party ("Israeli troops")
        actor = index.actor_from_entity(entity)
        if all(not same_actor(actor, t) for t in targets):
            return actor
    return None


def same_actor(a: Actor, b: Actor) -> bool:
    return a.name == b.name


def infer_host_country(frame: Frame) -> None:
    """People met during a visit without a stated country are taken to be the hosts: they act for the
    country the meeting takes place in (PLOVER CONSULT: the visitor is the actor, the host the recipient)."""
    if frame.event_type != "CONSULT" or frame.location is None or not frame.location.country_code:
        return
    host = frame.location.country_code
    if frame.source is None or frame.source.country_code in {None, host}:
        return
    frame.targets = [
        t.model_copy(update={"country_code": host}) if t.label == "PERSON" and not t.country_code else t
        for t in frame.targets
    ]


def assign_roles(frames: Sequence[Frame], index: EntityIndex, matches: Sequence[TriggerMatch]) -> None:
    """Source and targets of every frame, in text order (a definite "the launch" looks back)."""
    by_head = {m.head.i: m for m in matches}
    for i, frame in enumerate(frames):
        fill_actors(frame, index, frames[:i], by_head)
    link_event_objects(frames, {frame.head.i: frame for frame in frames})
