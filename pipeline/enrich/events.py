"""PLOVER event coding: sentence-level triggers + dependency parse -> ``Event`` records.

For every trigger of the lexicon (``pipeline/data/plover.yaml``, matched by ``event_lexicon``):

1. Modality: negated triggers are dropped, conditional / hypothetical ones kept with lower confidence.
   Following the PLOVER codebook, an announced or future event is coded as its intent type ("will meet" ->
   AGREE, "agreed to withdraw" -> CONCEDE, "vowed to attack" -> THREATEN), and a trigger that is the content
   of a speech act ("urged Russia to withdraw", "threatened to impose sanctions") is folded into that speech
   act (it sets its mode) instead of becoming an event of its own.
2. Actors (``event_actors``): the source is the grammatical subject (or passive agent, or possessor of a
   nominal trigger "Blinken's visit", or the subject of the light verb in "held talks"), climbing through
   complement clauses; the target is the object, a to/against/with/on phrase, the destination of a visit,
   or the actor of an event that is itself the object ("condemned the launch" -> whoever launched). A
   definite nominal trigger with no actors of its own ("the launch") is taken to repeat the latest event
   of its type. Without a syntactic subject, the first actor of the sentence before the trigger is used.
3. Place: a locative phrase on the trigger's clause ("in Seoul"), else the dateline ("Seoul: ..."), else
   the destination of a visit. Date: the DATE entity closest in the tree, normalised by ``dates``; else the
   publication day for past and present events (future ones stay undated).
4. Confidence (0..1, see ``_confidence``): the trigger's lexicon weight plus bonuses for grounded actors,
   times penalties for hedging; events below ``MIN_CONFIDENCE`` are dropped.

Event ids come from (type, source, target, place, day) keyed on country codes where known, so two articles
reporting the same event agree on its id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from spacy.tokens import Doc, Span, Token

from pipeline.enrich.dates import normalize_date
from pipeline.enrich.event_actors import PLACE_LABELS, EntityIndex
from pipeline.enrich.event_classifier import story_prior
from pipeline.enrich.event_lexicon import TriggerMatch, lexicon_index
from pipeline.enrich.taxonomy import Taxonomy, get_taxonomy
from pipeline.ids import event_id
from pipeline.records import Actor, ArticleRef, Entity, Event, Evidence, Lineage, Location, RawArticle

MIN_CONFIDENCE = 0.3

# Verbs that merely carry a nominal trigger: "held talks", "staged a protest", "launched an attack".
_LIGHT_VERBS = frozenset({
    "hold", "conduct", "stage", "carry", "launch", "make", "pay", "begin", "start", "continue", "organize",
    "organise", "lead", "undertake", "mount", "take", "give", "issue", "host", "announce", "declare",
    "impose", "file", "open", "reach", "sign", "have", "attend", "join", "deliver", "provide", "send",
    "resume", "renew", "escalate", "intensify", "step",
})  # fmt: skip
_FUTURE_GOVERNORS = frozenset({"plan", "intend", "prepare", "aim", "hope", "want", "expect", "schedule", "set"})
# Attempts ("attempted to impose martial law") are coded as what was attempted; these only raise a possibility.
_HEDGE_GOVERNORS = frozenset({"consider", "mull", "weigh", "propose", "threaten", "contemplate"})
_FAIL_GOVERNORS = frozenset({"fail", "cancel", "postpone", "avoid", "halt", "stop"})
_MODAL_FUTURE = frozenset({"will", "shall", "'ll", "wo"})
_MODAL_HEDGE = frozenset({"would", "could", "might", "may", "should", "can", "must"})
_GENERIC_MODIFIERS = frozenset({"any", "further", "future", "possible", "potential", "every", "new"})
_TARGET_PREPS = frozenset({"to", "against", "with", "on", "at", "toward", "towards", "upon", "over"})
_LOCATIVE_PREPS = frozenset({"in", "at", "near", "outside", "across", "throughout", "inside", "around", "into"})
_EMBED_DEPS = frozenset({"xcomp", "ccomp", "pcomp", "pobj", "prep", "dobj", "acl", "advcl", "conj"})
_DATELINE = re.compile(
    r"^\s*(?P<place>[A-Z][A-Za-z.'\- ]{1,40}?)(?:,\s*[A-Z][A-Za-z.'\- ]{1,30})?\s*(?:\([^)]{1,40}\)\s*)?"
    r"(?::|—|–|\s--?\s)"
)


@dataclass
class _Frame:
    """A trigger being turned into an event."""

    match: TriggerMatch
    sent: Span
    event_type: str
    mode: str | None
    future: bool = False
    hedged: bool = False
    conditional: bool = False
    reported: bool = False
    converted: bool = False
    fallback_source: bool = False
    event_objects: list[int] = field(default_factory=list)  # heads of triggers that are this one's object
    actor_head: Token | None = None  # where to look for actors when not the trigger ("*lifted* the curfew")
    source: Actor | None = None
    targets: list[Actor] = field(default_factory=list)
    location: Location | None = None
    date: str | None = None
    date_text: str | None = None

    @property
    def head(self) -> Token:
        return self.match.head


def code_events(
    doc: Doc,
    entities: Sequence[Entity],
    article: RawArticle,
    lineage: Lineage,
    *,
    type_prior: Mapping[str, float] | None = None,
) -> list[Event]:
    """Events found in one parsed article. ``entities`` are the article's canonical entities (with mentions
    carrying character offsets into ``doc.text``), so actors and places are resolved by offset lookup.

    ``type_prior`` is a document-level distribution over event types; by default the story classifier's
    (``event_classifier``), when a trained model is present. It nudges confidences, never creates types.
    """
    taxonomy = get_taxonomy()
    index = EntityIndex.build(doc, entities)
    matches = lexicon_index().find(doc)
    if not matches:
        return []
    if type_prior is None:
        type_prior = story_prior(doc.text)
    by_head = {m.head.i: m for m in matches}
    contents = _speech_act_contents(matches, by_head, taxonomy)
    embedded = {id(content) for content in contents.values()}
    dateline = _dateline(doc, index)
    published = article.published_at

    # A verb that ends a conflictual action ("withdrew its complaint") is part of that concession.
    enders = {ender.i for m in matches if (ender := _ended_by(m, taxonomy)) is not None}
    frames: list[_Frame] = []
    frame_by_head: dict[int, _Frame] = {}
    for match in matches:
        if id(match) in embedded or match.head.i in enders or not _in_sentence(match):
            continue
        frame = _frame_for(match, contents.get(match.head.i), taxonomy)
        if frame is None:
            continue
        _fill_actors(frame, index, frames, by_head)
        _fill_location(frame, index, dateline)
        _infer_host_country(frame)
        _fill_date(frame, published)
        frames.append(frame)
        frame_by_head[match.head.i] = frame
    _link_event_objects(frames, frame_by_head)

    events: dict[str, Event] = {}
    for frame in frames:
        for event in _events_from(frame, article, lineage, taxonomy, type_prior):
            kept = events.get(event.event_id)
            if kept is None or event.confidence > kept.confidence:
                events[event.event_id] = event
    return sorted(_fold_untargeted(events.values()), key=lambda e: (e.evidence.start, -e.confidence))


def _fold_untargeted(events: Iterable[Event]) -> list[Event]:
    """Drop an event without a target when the article reports the same action (type, mode, source,
    place, day) with one: "Blinken's visit" and "during his visit" are one visit to South Korea."""
    events = list(events)

    def action(event: Event) -> tuple[object, ...]:
        return (event.event_type, event.mode, _actor_key(event.source), _place_key(event.location), event.date)

    targeted = {action(e) for e in events if e.target is not None and e.source is not None}
    return [e for e in events if e.target is not None or e.source is None or action(e) not in targeted]


# -- modality and speech acts --------------------------------------------------------------------------


def _speech_act_contents(
    matches: Sequence[TriggerMatch], by_head: Mapping[int, TriggerMatch], taxonomy: Taxonomy
) -> dict[int, TriggerMatch]:
    """Map speech-act trigger head -> the trigger that is its content ("urged X to *withdraw*")."""
    contents: dict[int, TriggerMatch] = {}
    for match in matches:
        tok, path = match.head, []
        for _ in range(3):
            if tok.dep_ not in _EMBED_DEPS or tok.head.i == tok.i:
                break
            path.append(tok.dep_)
            tok = tok.head
            parent = by_head.get(tok.i)
            if parent is None or parent is match:
                continue
            if not taxonomy.is_speech_act(parent.trigger.event_type) or "conj" in path:
                break
            # A that-clause is content only when it is prospective ("warned that it would retaliate");
            # otherwise it reports a separate event ("warned that Pyongyang was collaborating").
            if "ccomp" in path and not (_is_future(match.head) or _is_hedged(match.head)):
                break
            contents.setdefault(parent.head.i, match)
            break
    return contents


def _clause_verb(head: Token) -> Token:
    """The verb whose tense and subject apply to a trigger: itself, or the light verb of a nominal one."""
    light = head.head.lemma_.lower() in _LIGHT_VERBS
    if head.pos_ in {"NOUN", "PROPN"} and head.dep_ in {"dobj", "attr", "nsubjpass"} and light:
        return head.head
    return head


def _aux_words(verb: Token) -> set[str]:
    return {c.lower_ for c in verb.children if c.dep_ in {"aux", "auxpass"}}


def _governor(verb: Token) -> Token | None:
    return verb.head if verb.dep_ in {"xcomp", "ccomp"} and verb.head.i != verb.i else None


def _is_future(tok: Token) -> bool:
    verb = _clause_verb(tok)
    if _aux_words(verb) & _MODAL_FUTURE:
        return True
    gov = _governor(verb)
    if gov is not None and gov.lemma_.lower() in _FUTURE_GOVERNORS:
        return True
    # "is going to meet"
    return gov is not None and gov.lower_ == "going"


def _is_hedged(tok: Token) -> bool:
    verb = _clause_verb(tok)
    if _aux_words(verb) & _MODAL_HEDGE:
        return True
    gov = _governor(verb)
    return gov is not None and gov.lemma_.lower() in _HEDGE_GOVERNORS


def _is_conditional(tok: Token) -> bool:
    verb = _clause_verb(tok)
    for node in (verb, *list(verb.ancestors)[:2]):
        if any(c.dep_ == "mark" and c.lower_ in {"if", "unless", "whether"} for c in node.children):
            return True
    return False


def _is_negated(tok: Token) -> bool:
    verb = _clause_verb(tok)
    for node in {tok, verb}:
        for child in node.children:
            if child.dep_ == "neg":
                return True
            if child.dep_ == "det" and child.lower_ == "no":
                return True
    gov = _governor(verb)
    return gov is not None and gov.lemma_.lower() in _FAIL_GOVERNORS


def _is_reported(tok: Token) -> bool:
    verb = _clause_verb(tok)
    return verb.dep_ == "ccomp"


def _is_generic(tok: Token) -> bool:
    """A nominal trigger that names no actual event: "any further launches", "possible talks"."""
    if tok.pos_ not in {"NOUN", "PROPN"}:
        return False
    return any(c.lower_ in _GENERIC_MODIFIERS and c.dep_ in {"det", "amod"} for c in tok.children)


def _frame_for(match: TriggerMatch, content: TriggerMatch | None, taxonomy: Taxonomy) -> _Frame | None:
    head = match.head
    if _is_negated(head) or _is_generic(head):
        return None
    frame = _Frame(match=match, sent=head.sent, event_type=match.trigger.event_type, mode=match.trigger.mode)
    frame.future = _is_future(head)
    frame.hedged = _is_hedged(head)
    frame.conditional = _is_conditional(head)
    frame.reported = _is_reported(head)
    if content is not None:
        _apply_content(frame, content, taxonomy)
        return frame
    ender = _ended_by(match, taxonomy)
    if ender is not None:
        becomes, _, _ = taxonomy.cessation()
        frame.event_type, frame.mode, frame.converted = becomes or frame.event_type, None, True
        frame.actor_head = ender
        return frame
    if taxonomy.is_speech_act(frame.event_type):
        return frame
    new_type, new_mode = taxonomy.intent(frame.event_type, frame.mode)
    if frame.future or ((frame.hedged or frame.conditional) and new_type == "THREATEN"):
        # Codebook 2.3: a future cooperative act is AGREE, a future or hypothetical conflictual one THREATEN;
        # the hedge is then what makes it a threat, so only a mild penalty remains.
        if frame.conditional and new_type == "THREATEN":
            frame.conditional, frame.hedged = False, True
        frame.converted = new_type != frame.event_type
        frame.event_type, frame.mode = new_type, new_mode
    return frame


def _ended_by(match: TriggerMatch, taxonomy: Taxonomy) -> Token | None:
    """The word ending a conflictual action ("lifted the curfew", "suspension of attacks"), if any."""
    becomes, verbs, nouns = taxonomy.cessation()
    if becomes is None or not taxonomy.is_conflict(match.trigger.event_type):
        return None
    head = match.head
    governor = head.head
    if head.dep_ in {"dobj", "nsubjpass", "pobj"} and governor.pos_ == "VERB" and _verb_key(governor) in verbs:
        return governor
    if head.dep_ == "pobj" and governor.lower_ == "of" and governor.head.lemma_.lower() in nouns:
        return governor.head
    if head.dep_ == "pobj" and governor.lower_ == "to" and governor.head.lemma_.lower() == "end":
        return governor.head  # "an end to the strike"
    return None


def _verb_key(verb: Token) -> str:
    particle = next((c.lower_ for c in verb.children if c.dep_ == "prt"), None)
    lemma = verb.lemma_.lower()
    return f"{lemma} {particle}" if particle else lemma


def _apply_content(frame: _Frame, content: TriggerMatch, taxonomy: Taxonomy) -> None:
    inner_type, inner_mode = content.trigger.event_type, content.trigger.mode
    if frame.event_type in {"REQUEST", "REJECT"}:
        frame.mode = frame.mode or taxonomy.demand_mode(inner_type)
    elif frame.event_type == "THREATEN":
        frame.mode = frame.mode or taxonomy.intent(inner_type, inner_mode)[1]
    elif frame.event_type == "AGREE":
        # Promising a concession is a CONCEDE, promising force a THREATEN (codebook 3.1, 3.4).
        new_type, new_mode = taxonomy.intent(inner_type, inner_mode)
        if new_type != "AGREE":
            frame.event_type, frame.mode, frame.converted = new_type, new_mode, True


def _in_sentence(match: TriggerMatch) -> bool:
    return match.head.sent is not None


# -- actors --------------------------------------------------------------------------------------------


def _fill_actors(
    frame: _Frame, index: EntityIndex, previous: Sequence[_Frame], by_head: Mapping[int, TriggerMatch]
) -> None:
    head = frame.actor_head or frame.head
    verb = _clause_verb(head)
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
    frame.targets = [t for t in targets if source is None or not _same_actor(t, source)]


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


def _targets_of(frame: _Frame, verb: Token, index: EntityIndex, by_head: Mapping[int, TriggerMatch]) -> list[Actor]:
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
            if actor is not None and all(not _same_actor(actor, a) for a in actors):
                actors.append(actor)
    return actors


def _link_event_objects(frames: Sequence[_Frame], frame_by_head: Mapping[int, _Frame]) -> None:
    """Objects that are events themselves: in "condemned the launch" the target is whoever launched."""
    for frame in frames:
        for i in frame.event_objects:
            other = frame_by_head.get(i)
            if other is None or other.source is None:
                continue
            if frame.source is not None and _same_actor(frame.source, other.source):
                continue
            if all(not _same_actor(other.source, t) for t in frame.targets):
                frame.targets.append(other.source)


def _has_subject(tok: Token) -> bool:
    return any(c.dep_ in {"nsubj", "nsubjpass"} for c in tok.children)


def _visit_preps(frame: _Frame) -> frozenset[str]:
    return frozenset({"in", "for"}) if frame.mode == "visit" else frozenset()


def _conjuncts(tok: Token) -> list[Token]:
    return [t for t in tok.subtree if t.dep_ == "conj" and t.head.i != t.i and _conj_root(t) is tok]


def _conj_root(tok: Token) -> Token:
    while tok.dep_ == "conj":
        tok = tok.head
    return tok


def _antecedent(frame: _Frame, previous: Sequence[_Frame]) -> _Frame | None:
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


def _leading_actor(frame: _Frame, index: EntityIndex, targets: Sequence[Actor]) -> Actor | None:
    for tok in frame.sent:
        if tok.i >= frame.head.i:
            break
        entity = index.entity_at(tok)
        if entity is None or entity.label not in {"PERSON", "ORG", "GPE", "NORP"}:
            continue
        if tok.dep_ in {"compound", "amod"} and tok.head.i < frame.head.i and index.entity_at(tok.head) is None:
            pass  # a modifier of a common noun still names the acting party ("Israeli troops")
        actor = index.actor_from_entity(entity)
        if all(not _same_actor(actor, t) for t in targets):
            return actor
    return None


def _same_actor(a: Actor, b: Actor) -> bool:
    return a.name == b.name


# -- place and time ----------------------------------------------------------------------------------------


def _dateline(doc: Doc, index: EntityIndex) -> Location | None:
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


def _fill_location(frame: _Frame, index: EntityIndex, dateline: Location | None) -> None:
    verb = _clause_verb(frame.head)
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


def _infer_host_country(frame: _Frame) -> None:
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


def _destination(frame: _Frame, index: EntityIndex) -> Location | None:
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


def _fill_date(frame: _Frame, published: datetime | None) -> None:
    head = frame.head
    best: tuple[int, Span] | None = None
    for ent in frame.sent.ents:
        if ent.label_ != "DATE":
            continue
        distance = min(_tree_distance(head, ent.root), _tree_distance(_clause_verb(head), ent.root))
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
    verb = _clause_verb(head)
    if verb.pos_ not in {"VERB", "AUX"} and verb.dep_ in {"dobj", "pobj", "attr"}:
        verb = verb.head  # a nominal trigger: the time is its verb's
    for _ in range(4):
        if verb.pos_ in {"VERB", "AUX"}:
            # Past perfect, except in reported speech, where it is only the backshifted past ("said it had
            # heightened surveillance" is recent news).
            if verb.tag_ == "VBN" and "had" in _aux_words(verb) and verb.dep_ != "ccomp":
                return True
            if any(c.dep_ == "advmod" and c.lower_ in _EARLIER for c in verb.children):
                return True
        if verb.dep_ not in {"advcl", "xcomp", "conj"} or verb.head is verb:
            return False
        verb = verb.head
    return False


# -- output ------------------------------------------------------------------------------------------------


def _confidence(frame: _Frame, type_prior: Mapping[str, float] | None) -> float:
    """Heuristic confidence: lexicon weight of the trigger (0.4-0.75: specific phrases above bare lemmas),
    +0.1 for a source actor, +0.05 if it is tied to a country, +0.05 for a target; then x0.5 conditional,
    x0.75 hedged (modal, "considering"), x0.85 reported inside a that-clause or converted by tense,
    x0.85 when the source is only the sentence's leading actor; a document-level prior p(type), when
    given, scales by (0.8 + 0.4 p)."""
    score = frame.match.trigger.weight
    if frame.source is not None:
        score += 0.1
        if frame.source.country_code:
            score += 0.05
    if frame.targets:
        score += 0.05
    if frame.conditional:
        score *= 0.5
    if frame.hedged:
        score *= 0.75
    if frame.reported or frame.converted:
        score *= 0.85
    if frame.fallback_source:
        score *= 0.85
    if type_prior is not None:
        score *= 0.8 + 0.4 * type_prior.get(frame.event_type, 0.0)
    return round(max(0.0, min(1.0, score)), 3)


def _actor_key(actor: Actor | None) -> str | None:
    """Identity of an actor within an event id. A person is themself (Blinken meeting Choi and Blinken
    meeting Cho are two events); a country, or a body acting for one, is its country code, so differently
    worded reports ("Seoul", "South Korea", "the South Korean government") agree."""
    if actor is None:
        return None
    if actor.label == "PERSON":
        return f"{actor.country_code or ''}:{actor.name}"
    return actor.country_code or actor.name


def _place_key(location: Location | None) -> str | None:
    if location is None:
        return None
    return location.country_code or location.place


def _evidence(sent: Span) -> Evidence:
    tokens = [t for t in sent if not t.is_space]
    start = tokens[0].idx if tokens else sent.start_char
    end = tokens[-1].idx + len(tokens[-1].text) if tokens else sent.end_char
    return Evidence(sentence=sent.doc.text[start:end], start=start, end=end)


def _events_from(
    frame: _Frame,
    article: RawArticle,
    lineage: Lineage,
    taxonomy: Taxonomy,
    type_prior: Mapping[str, float] | None,
) -> list[Event]:
    confidence = _confidence(frame, type_prior)
    if confidence < MIN_CONFIDENCE:
        return []
    evidence = _evidence(frame.sent)
    cameo = taxonomy.cameo_root(frame.event_type, frame.mode)
    out: list[Event] = []
    targets: list[Actor | None] = list(frame.targets) or [None]
    for target in targets:
        kind = f"{frame.event_type}/{frame.mode}" if frame.mode else frame.event_type  # a visit is not a meeting
        eid = event_id(kind, _actor_key(frame.source), _actor_key(target), _place_key(frame.location), frame.date)
        out.append(
            Event(
                event_id=eid,
                event_type=frame.event_type,
                mode=frame.mode,
                cameo_root=cameo,
                source=frame.source,
                target=target,
                location=frame.location,
                date=frame.date,
                date_text=frame.date_text,
                evidence=evidence,
                confidence=confidence,
                article_id=article.article_id,
                article_ids=[article.article_id],
                articles=[ArticleRef.of(article)],
                article_published_at=article.published_at,
                lineage=lineage,
            )
        )
    return out
