"""Event coding, step 2: roles. Who acted (source) and on whom (target), from the parse and the entities.

The source is the grammatical subject (or passive agent, or possessor of a nominal trigger "Blinken's
visit", or the subject of the light verb in "held talks"), climbing through complement clauses; the target
is the object, a to/against/with/on phrase, the destination of a visit, or the actor of an event that is
itself the object ("condemned the launch" -> whoever launched). A definite nominal trigger with no actors of
its own ("the launch") repeats the latest event of its type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from spacy.tokens import Span, Token

from pipeline.enrich.dictionaries import agent_sector
from pipeline.enrich.events.actors import AGENT_NOUNS, EntityIndex, conj_root, phrase_text
from pipeline.enrich.events.lexicon import TriggerMatch
from pipeline.enrich.events.triggers import Frame, claims_responsibility, clause_verb
from pipeline.records import Actor

_TARGET_PREPS = frozenset({"to", "against", "on", "toward", "towards", "upon"})
# "with" names a counterpart only for acts done with someone ("met with", "lodged a protest with", "clashed
# with"); elsewhere it is an instrument or company ("welcomed him with a guard of honour").
_WITH_TYPES = frozenset({"CONSULT", "COOPERATE", "AGREE", "ACCUSE", "REJECT", "SANCTION", "PROTEST"})
_WITH_LEMMAS = frozenset({"clash", "fight", "battle", "skirmish"})
_AT_TYPES = frozenset({"ASSAULT", "PROTEST", "ACCUSE", "THREATEN"})  # "fired at", "shouted at"
# Acts whose several subjects are each other's counterparts ("A and B signed an agreement", "A and B met").
_MUTUAL_TYPES = frozenset({"AGREE", "CONSULT", "COOPERATE"})
# "Yoon faces impeachment": the subject of these verbs undergoes the nominal event.
_UNDERGO_VERBS = frozenset({"face", "risk", "undergo", "survive", "suffer", "receive"})
# A nominal trigger in these phrases on a verb is that verb's subject's act: "arrived *for a visit*",
# "left *for meetings*", "culminating *in three summits*".
_PURPOSE_PREPS = frozenset({"for", "in", "into"})
_CLIMB_DEPS = frozenset({"xcomp", "conj", "advcl", "pcomp", "prep", "pobj", "acl", "dobj", "acomp"})
_NOUNS = frozenset({"NOUN", "PROPN"})


# -- actors --------------------------------------------------------------------------------------------


def fill_actors(
    frame: Frame, index: EntityIndex, previous: Sequence[Frame], by_head: Mapping[int, TriggerMatch]
) -> None:
    head = frame.actor_head or frame.head
    verb = clause_verb(head)
    # A noun with a subject of its own is a verb the tagger mistook ("EU and UN *hand* over supplies").
    nominal = head.pos_ in _NOUNS and verb is head and not _has_subject(head)
    sources = _sources_of(head, verb, index)
    targets = _targets_of(frame, verb, index, by_head)
    if sources and targets and all(same_actor(t, sources[0]) for t in targets):
        # "Saudi Arabia lifted *its* blockade of Yemen": the trigger is the actor's own; its complement names the
        # other party.
        targets = _head_complement_parties(frame, index)
    if frame.obliged is not None:
        told = _subject_parties(frame.obliged, index)
        targets = told or targets
    if not targets and frame.content_head is not None:
        # "offered to host talks with Belarusian officials": the counterpart is named in the content.
        content_verb = clause_verb(frame.content_head)
        targets = _targets_of(frame, content_verb, index, by_head)
        if content_verb.lemma_.lower() in _SENDING_VERBS:
            # "offered to send troops to help the Philippine army": the forces sent are the offerer's own.
            targets = [t for t in targets if t.label is not None or t.country_code is not None]
        for obj in (c for c in content_verb.children if c.dep_ == "dobj"):
            targets += _targets_of(frame, obj, index, by_head)
    if nominal and not sources:
        sources = _where_clause_parties(head, index)
    undergoer = _undergoer(head, verb, index)
    if undergoer is not None:
        sources, targets = [], [undergoer, *targets]
    if not sources and not targets and nominal:
        # "the launch", "his visit": a definite mention of an event already coded repeats it.
        antecedent = _antecedent(frame, previous)
        if antecedent is not None:
            sources, targets = [a for a in [antecedent.source] if a is not None], list(antecedent.targets)
    if not sources and frame.event_type == "COERCE" and _is_passive(verb) and _political_patients(targets):
        # "Ingabire was arrested in Rwanda": an arrest, detention or deportation whose agent is unsaid is the
        # state's where it happened (the coding convention for state coercion with its authorities unnamed).
        # Only of someone named or of a group with a public role: "a suspect was arrested" is crime news.
        state = _state_where(verb, index)
        sources = [state] if state is not None else []
        frame.fallback_source = state is not None
    if not sources and not nominal and undergoer is None and not _is_passive(verb) and verb.dep_ == "ROOT":
        leading = _leading_actor(frame, index, targets)
        sources = [leading] if leading is not None else []
        frame.fallback_source = leading is not None
    source = sources[0] if sources else None
    if len(sources) > 1:
        # An agreement reached or failed by several subjects is between them ("A and B failed to reach agreement").
        # So is one agreed to by both ("Armenia and Azerbaijan agreed to a ceasefire").
        agreed = frame.match.trigger.event_type == "AGREE"
        if frame.event_type in _MUTUAL_TYPES or agreed:
            if not targets:
                targets = sources[1:]
        else:
            frame.co_sources = [s for s in sources[1:] if index.is_political(s)]
    if frame.match.trigger.swap and source is not None and targets:
        source, targets = targets[0], [source]
    elif head.lemma_.lower() == "welcome" and source is not None and (visitor := _welcomed_guest(verb, index)):
        # Welcoming a visitor is hosting them: a meeting in which the visitor is the actor (PLOVER CONSULT). Not
        # welcoming someone's offer or decision: that is support of it.
        frame.event_type, frame.mode = "CONSULT", None
        source, targets = visitor, [source]
    if source is not None and not index.is_political(source) and not _acts_among_states(source, frame, index):
        frame.nonpolitical, source = True, None
    elif source is None and not nominal and _named_nonactor_subject(verb, index):
        frame.nonpolitical = True  # "the storm destroyed", "oil prices rallied", "the train derailed"
    frame.source = source
    kept: list[Actor] = []
    for target in targets:
        usable = _usable_target(target, frame, index)
        if usable is None or (source is not None and same_actor(usable, source)):
            continue
        if all(not same_actor(usable, k) for k in kept):
            kept.append(usable)
    frame.targets = kept


def _political_patients(targets: Sequence[Actor]) -> bool:
    return bool(targets) and all(
        t.name[:1].isupper() or (t.role is not None and t.role not in _NONPOLITICAL_SECTORS) for t in targets
    )


_NONPOLITICAL_SECTORS = frozenset({"CRM", "BUS", "UAF"})


def _state_where(verb: Token, index: EntityIndex) -> Actor | None:
    """The country a passive clause says it happened in ("was arrested in Rwanda", "in Kigali"), as its state."""
    for prep in (c for c in verb.children if c.dep_ == "prep" and c.lower_ == "in"):
        for pobj in (c for c in prep.children if c.dep_ == "pobj"):
            entity = index.entity_at(pobj)
            if entity is not None and entity.label == "GPE":
                return index.state_actor(index.country_of(entity))
    return None


def _welcomed_guest(verb: Token, index: EntityIndex) -> Actor | None:
    """The person or state a "welcome" has as its own object ("welcomed Kenya's president"), if any."""
    for obj in (c for c in verb.children if c.dep_ == "dobj"):
        actor = index.actor_at(obj)
        if actor is not None and actor.label in {"PERSON", "GPE"}:
            return actor
    return None


def _named_nonactor_subject(verb: Token, index: EntityIndex) -> bool:
    subject = _subject(verb)
    if subject is None or subject.pos_ == "PRON" or subject.i in index.excluded:
        return False
    return not _subject_parties(subject, index)


def _usable_target(actor: Actor, frame: Frame, index: EntityIndex) -> Actor | None:
    """A target is an actor: a building or region is never one; a town is a place, except that the
    destination of a visit stands for its country and a capital may stand for its state ("with Manila")."""
    if actor.label in {"FAC", "LOC"}:
        return None
    if actor.label == "GPE" and not index.is_country(actor.name):
        if frame.mode == "visit":
            return index.state_actor(actor.country_code)
        if frame.event_type in _TOWN_TARGET_TYPES | _RESTRICTION_TYPES and actor.country_code:
            # "threatened to shell Haifa", "declared a ceasefire in Benghazi": the town is what is attacked or
            # restricted, with its country.
            return actor
        return actor if index.is_political(actor) else None
    if actor.label == "ORG" and not index.is_political(actor) and frame.event_type in _MUTUAL_TYPES:
        return None  # a company met or agreed with is business news; one banned, sued or attacked is a target
    return actor


def _acts_among_states(source: Actor, frame: Frame, index: EntityIndex) -> bool:
    """A person the dictionaries do not know and the text gives no office, acting where a state is named in
    the same sentence ("Lopez-Gatell defended Mexico's handling", "Wilson signed an agreement with Israel"):
    a political actor of that sentence, where an unknown person alone ("Porter rejected an allegation") is not
    taken to be one."""
    if source.label != "PERSON":
        return False
    sent = frame.sent
    return any(
        sent.start <= span.start < sent.end and entity.label in {"GPE", "NORP"} and index.is_country(entity.name)
        for span, entity in index.mention_spans
    )


def _is_passive(verb: Token) -> bool:
    return any(c.dep_ in {"auxpass", "nsubjpass"} for c in verb.children) or _bare_participle(verb)


def _bare_participle(verb: Token) -> bool:
    """ "46 people had been arrested and 12 police officers injured": a participle coordinated with a
    passive, with a subject and no auxiliary of its own, is a passive too; its subject is who it happened to."""
    if verb.tag_ not in {"VBN", "VBD"} or verb.dep_ != "conj":
        return False
    if not any(c.dep_ == "auxpass" for c in verb.head.children):
        return False
    return not any(c.dep_ in {"aux", "auxpass"} for c in verb.children) and any(
        c.dep_ == "nsubj" for c in verb.children
    )


def _undergoer(head: Token, verb: Token, index: EntityIndex) -> Actor | None:
    subject: Token | None = None
    if _bare_participle(verb):
        subject = next(c for c in verb.children if c.dep_ == "nsubj")
    elif head.pos_ in _NOUNS and head.dep_ == "dobj" and head.head.lemma_.lower() in _UNDERGO_VERBS:
        subject = _subject(head.head)
    return index.actor_at(subject) if subject is not None else None


def _sources_of(head: Token, verb: Token, index: EntityIndex) -> list[Actor]:
    if head is not verb or head.pos_ in _NOUNS:
        # Who claimed an attack is its actor, whatever names the attack ("claimed the Easter bombings").
        claimant = _claimant(head)
        if claimant is not None:
            return _subject_parties(claimant, index)
        actor = _nominal_source(head, index)
        if actor is not None:
            return [actor]
        if head is verb:
            return _purpose_sources(head, index)
    if _bare_participle(verb):
        return []
    tok: Token = verb
    came_by_conj = False
    for _ in range(6):
        subject = _subject(tok)
        if subject is not None:
            parties = _subject_parties(subject, index)
            if parties or not (came_by_conj and tok.dep_ == "ccomp"):
                return parties
            # "Morimoto said the missile had come down and accused Pyongyang": the parser hangs the second
            # verb on the reported clause; its subject is the speaker's.
            tok = tok.head
            came_by_conj = False
            continue
        agent = next((c for c in tok.children if c.dep_ == "agent"), None)
        if agent is not None:
            pobj = next((c for c in agent.children if c.dep_ == "pobj"), None)
            return _subject_parties(pobj, index) if pobj is not None else []
        if came_by_conj and tok.dep_ == "ccomp":
            # "Fuentes said 46 people had been arrested ... and accused the organisers": the parser hangs the
            # second verb on the reported clause, whose subject is passive or no actor; it is the speaker's.
            tok, came_by_conj = tok.head, False
            continue
        if any(c.dep_ in {"nsubjpass", "auxpass"} for c in tok.children):
            return []  # a passive without its agent: whoever did it is not said
        if tok.dep_ == "acl" or (tok.dep_ == "pobj" and tok.pos_ in _NOUNS):
            owner = _nominal_source(tok.head if tok.dep_ == "acl" else tok, index)
            if owner is not None:
                return [owner]
        if tok.dep_ == "relcl":
            actor = index.actor_at(tok.head)
            return [actor] if actor is not None else []
        if tok.dep_ not in _CLIMB_DEPS or tok.head.i == tok.i:
            return []
        came_by_conj = tok.dep_ == "conj"
        tok = tok.head
    return []


def _claimant(noun: Token) -> Token | None:
    """Who claimed responsibility for a nominal act: the subject of "claimed" (the act is theirs)."""
    if not claims_responsibility(noun):
        return None
    return _subject(conj_root(noun).head.head.head)


def _purpose_sources(noun: Token, index: EntityIndex) -> list[Actor]:
    """ "arrived in Nairobi for a state visit", "culminating in three summits": the nominal event is the act
    of the subject of the verb its phrase hangs on."""
    prep = noun.head
    if noun.dep_ != "pobj" or prep.lower_ not in _PURPOSE_PREPS or prep.head.pos_ != "VERB":
        return []
    verb = prep.head
    if _is_passive(verb):
        return []
    return _sources_of(verb, verb, index)


def _subject_parties(subject: Token, index: EntityIndex) -> list[Actor]:
    """The actors a subject names: "the two leaders" (named before), "the leaders of A, B and C", "A and
    B", or one actor; a subject that is no actor itself may be one's ("Trump's rhetoric")."""
    if subject.i in index.excluded:
        # "BUENOS AIRES — Brazil and Argentina signed": the parser makes the dateline the subject and the
        # real one its apposition.
        apposed = next((c for c in subject.children if c.dep_ == "appos"), None)
        if apposed is None:
            return []
        subject = apposed
    pair = index.pair_at(subject)
    if pair:
        return pair
    of_object = next(
        (
            gc
            for c in subject.children
            if c.dep_ == "prep" and c.lower_ == "of"
            for gc in c.children
            if gc.dep_ == "pobj"
        ),
        None,
    )
    if of_object is not None and _conjuncts(of_object):
        named = [index.actor_at(t) for t in (of_object, *_conjuncts(of_object))]
        states = [index.state_actor(a.country_code) or a for a in named if a is not None and a.country_code]
        if len(states) > 1:
            return states
    actor = index.actor_at(subject)
    if actor is None and subject.lemma_.lower() in _MEETING_NOUNS:
        # "The summit between the EU and Turkey failed to reach agreement": the meeting's parties did.
        parties = [
            a
            for prep in subject.children
            if prep.dep_ == "prep" and prep.lower_ == "between"
            for pobj in prep.children
            if pobj.dep_ == "pobj"
            for a in _coordinated_actors(pobj, index.actor_at)
        ]
        if len(parties) > 1:
            return parties
    if actor is None:
        owner = next((c for c in subject.children if c.dep_ == "poss"), None)
        actor = index.actor_at(owner) if owner is not None else None
    actors = [actor] if actor is not None else []
    for other in _conjuncts(subject):
        extra = index.actor_at(other)
        if extra is not None and all(not same_actor(extra, a) for a in actors):
            actors.append(extra)
    if actor is not None and actor.label == "PERSON" and len(actors) == 1:
        actors = _coordinated_people(subject, index) or actors
    return actors


_MEETING_NOUNS = frozenset({"summit", "talk", "meeting", "negotiation", "conference", "dialogue"})


def _coordinated_people(subject: Token, index: EntityIndex) -> list[Actor]:
    """People coordinated inside one subject phrase the parser did not split ("Argentine Foreign Minister
    Lucía Ferraro and Brazilian Foreign Minister Paulo Andrade"), in text order."""
    phrase = list(subject.subtree)
    if not any(t.dep_ == "cc" and t.lower_ == "and" for t in phrase):
        return []
    people: list[Actor] = []
    for tok in phrase:
        entity = index.entity_at(tok)
        if entity is None or entity.label != "PERSON":
            continue
        actor = index.actor_from_entity(entity)
        if all(not same_actor(actor, p) for p in people):
            people.append(actor)
    return people if len(people) > 1 else []


def _of_object(tok: Token) -> Token | None:
    of_phrase = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    return next((c for c in of_phrase.children if c.dep_ == "pobj"), None) if of_phrase is not None else None


def _where_clause_parties(noun: Token, index: EntityIndex) -> list[Actor]:
    """ "the 2023 Camp David summit, where the leaders of the US, Japan, and South Korea agreed": those who
    acted in the where-clause took part in the event it describes."""
    for clause in noun.children:
        if clause.dep_ == "relcl" and any(c.lower_ == "where" for c in clause.children):
            subject = _subject(clause)
            if subject is not None:
                return _subject_parties(subject, index)
    return []


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


def _target_preps(frame: Frame) -> frozenset[str]:
    preps = set(_TARGET_PREPS)
    lemma = frame.head.lemma_.lower()
    if frame.event_type in _WITH_TYPES or lemma in _WITH_LEMMAS:
        preps.add("with")
    if frame.event_type in _AT_TYPES:
        preps.add("at")
    if frame.event_type == "CONSULT":
        preps.discard("on")  # "talks on trade"
    if frame.event_type == "ACCUSE":
        preps.add("into")  # "an investigation into the ministry", "inquiry into Kempinski's dealings"
    if frame.event_type == "SUPPORT":
        preps.add("for")  # "voiced support for Kyiv", "condolences for the British people"
    if frame.mode == "visit":
        preps |= {"in", "for"}
    if lemma in _LEAVING_LEMMAS and frame.event_type in {"RETREAT", "CONCEDE"}:
        preps.add("from")  # "withdrew its troops from Syria": the place left is the other party
    return frozenset(preps)


_LEAVING_LEMMAS = frozenset({"withdraw", "pull", "evacuate", "retreat", "withdrawal", "pullout", "evacuation"})
_OWN_FORCE_POSSESSIVES = frozenset({"its", "their", "his", "her", "our"})
_FORCE_NOUNS = frozenset({
    "troop", "soldier", "force", "forces", "personnel", "contingent", "army", "military", "peacekeeper",
})  # fmt: skip


def _targets_of(frame: Frame, verb: Token, index: EntityIndex, by_head: Mapping[int, TriggerMatch]) -> list[Actor]:
    anchors = sorted({verb.i, *frame.match.token_ids, *([frame.actor_head.i] if frame.actor_head is not None else [])})
    doc = verb.doc
    preps = _target_preps(frame)
    candidates: list[Token] = []
    located: set[int] = set()
    for i in anchors:
        tok = doc[i]
        if tok.pos_ == "ADP" and i in frame.match.token_ids and tok.i != frame.head.i:
            candidates.extend(c for c in tok.children if c.dep_ == "pobj")  # "called *on* Belarus"
        for child in tok.children:
            if child.i in frame.match.token_ids:
                continue
            if child.dep_ == "dative" and child.pos_ == "ADP" and tok.pos_ == "VERB":
                candidates.extend(c for c in child.children if c.dep_ == "pobj")  # "provided $2m *to* Fiji"
            elif child.dep_ in {"dobj", "dative", "nsubjpass", "obj"} and tok.pos_ == "VERB":
                if child.dep_ == "dobj" and index.actor_at(child) is None:
                    # "pledged support to the Palestinians", "established ties with Nauru", "launched an
                    # investigation into X": the object is the act, its complement the party.
                    carries_trigger = any(c.i in frame.match.token_ids for c in child.children)
                    # "launched a mediation effort between A and B": the trigger's own act is between them;
                    # "discussed a hotline between the coast guards" names a topic, not the other party.
                    candidates.extend(_complement_parties(child, preps | ({"between"} if carries_trigger else set())))
                candidates.append(child)
            elif child.dep_ == "prep" and child.lower_ == "between":
                # "restrictions between it and Israel", "talks between A and B": the parties, less the actor.
                candidates.extend(c for c in child.children if c.dep_ == "pobj")
            elif child.dep_ == "prep" and (child.lower_ in preps or _relation_with(child, tok, frame)):
                found = [c for c in child.children if c.dep_ == "pobj"]
                candidates.extend(found)
                if child.lower_ in _PLACE_PREPS:
                    located.update(c.i for c in found)  # "at the Foreign Ministry building": where, not whose
            elif frame.event_type in {"THREATEN", "ACCUSE", "REQUEST"} and _content_clause(child):
                # "demanded that the US ease sanctions", "its demand that US ease sanctions": who is told to act.
                candidates.extend(c for c in child.children if c.dep_ == "nsubj")
            elif child.dep_ == "conj" and child.pos_ == "PROPN" and candidates and not _has_subject(child):
                # A small-model parse error: in "met with X, a ..., and Y" the second name is often hung on the
                # verb as its conjunct. A name with no clause of its own coordinated there is another object.
                candidates.append(child)
    candidates = [_partitive_whole(cand) for cand in candidates]  # "some of the peacekeepers": the peacekeepers
    verb_lemma = verb.lemma_.lower()
    giving = verb_lemma in _GIVING_VERBS
    leaving = frame.event_type == "RETREAT" and verb_lemma in _LEAVING_LEMMAS
    if giving:
        # "donated $1m to the World Food Programme": whom it goes to before what is given.
        candidates.sort(key=lambda c: c.dep_ != "pobj" or c.head.lower_ != "to")
    actors: list[Actor] = []
    for cand in candidates:
        if _own_forces(cand, leaving=leaving):
            continue  # "withdrew its troops", "sent their soldiers": the actor's own, not the other party
        for tok in (cand, *_conjuncts(cand)):
            if frame.event_type in _TOPIC_TYPES and _is_thing(tok, index):
                continue  # "to discuss Syria-related topics": what is discussed, however national, is no party
            actor = index.actor_at(tok)
            if actor is None and tok.pos_ in _NOUNS and tok.i not in by_head and cand.i not in located:
                actor = _object_party(tok, frame, index)
            if actor is None and tok.pos_ == "PROPN" and tok.dep_ in {"dobj", "nsubjpass"} and not tok.ent_type_:
                # "Ingabire was arrested": a name the model did not tag is still who it was done to.
                actor = Actor(name=phrase_text(tok), country_code=None, label=None)
            if actor is None and tok.i in by_head:
                frame.event_objects.append(tok.i)  # resolved once every trigger has its actors
                if frame.event_type not in _TOPIC_TYPES:
                    # "rejected a request by Mr. Erdogan", "rejected accusations by the US": whose act it was,
                    # even when that act is no event of its own (a request that is only rejected).
                    pronoun = any(c.dep_ == "poss" and c.pos_ == "PRON" for c in tok.children)
                    actor = None if pronoun else _nominal_source(tok, index)  # "on their release": unclear whose
                    if actor is None:
                        actor = _imposed_on(tok, index)  # "rejected an appeal lodged by the opposition"
            if actor is not None and all(not same_actor(actor, a) for a in actors):
                actors.append(actor)
    if not actors:
        # "banned all Pakistani newspapers" (the trigger "ban > newspaper"): the trigger's own object, when a
        # country's, is on the receiving end.
        for i in sorted(frame.match.token_ids - {frame.head.i}):
            tok = doc[i]
            if tok.pos_ in _NOUNS and tok.dep_ == "dobj" and tok.lemma_.lower() in _PEER_NOUNS:
                # "called his Lebanese counterpart(, Michel Aoun)": the peer is the other party.
                peer = index.actor_at(tok)
                if peer is not None:
                    actors.append(peer)
                    break
            if tok.pos_ in _NOUNS and tok.dep_ in {"dobj", "nsubjpass"} and frame.event_type not in _TOPIC_TYPES:
                country = index.country_modifier(tok, agent=False)
                if country is not None:
                    actors.append(Actor(name=phrase_text(tok), country_code=country, label=None))
                    break
    if not actors:
        actors.extend(_trigger_object_owner(frame, index))
    if not actors:
        actors.extend(_head_complement_parties(frame, index))
    if not actors and frame.event_type in _PURPOSE_TYPES:
        actors.extend(_purpose_partners(verb, index))
    if not actors and giving:
        actors.extend(_nested_recipients(verb, index))
    if not actors and frame.event_type in _RESTRICTION_TYPES:
        actors.extend(_restricted_places(frame, verb, index))
    if not actors and frame.event_type in _PATIENT_TYPES:
        # "banned national newspapers" (the trigger "ban > newspaper"): its own object, when people or a body
        # of them, was acted on ("imposed martial law", "rejected the offer": a thing, no party).
        own = [doc[i] for i in sorted(frame.match.token_ids - {frame.head.i}) if doc[i].dep_ in {"dobj", "nsubjpass"}]
        actors.extend(
            Actor(name=phrase_text(t), country_code=None, label=None, role=agent_sector(t.lemma_.lower()))
            for t in own[:1]
            if t.pos_ in _NOUNS and _names_agents(t.lemma_.lower())
        )
    if not actors:
        patient = _patient(candidates, frame, index, by_head, located)
        if patient is not None:
            actors.append(patient)
    return actors


def _names_agents(lemma: str) -> bool:
    """A common noun for people acting together or in a role ("officials", "rebels", "riot police")."""
    return lemma in AGENT_NOUNS or agent_sector(lemma) is not None


def _is_thing(tok: Token, index: EntityIndex) -> bool:
    """A common noun that names no agent ("topics", "the plan"), as opposed to "officials" or "rebels" (or a
    name the tagger took for a noun: "Choi Sang-*mok*")."""
    if tok.pos_ != "NOUN" or tok.ent_type_ or index.entity_at(tok) is not None:
        return False
    return not _names_agents(tok.lemma_.lower())


def _trigger_object_owner(frame: Frame, index: EntityIndex) -> list[Actor]:
    """Whose the thing named in the trigger phrase is: "rejected *the Afghan government's* dialogue offer",
    "defended *Iran's* position", "rejects demands *from the rebel group*", "will not lift the ban imposed *on
    the LTTE*". The trigger's own noun is no party, but its owner, or whom it was laid on, is."""
    if frame.event_type in _TOPIC_TYPES:
        return []
    doc = frame.head.doc
    for i in sorted(frame.match.token_ids - {frame.head.i}):
        noun = doc[i]
        if noun.pos_ not in _NOUNS:
            continue
        owner = _object_party(noun, frame, index)
        if owner is None:
            owner = _imposed_on(noun, index)
        if owner is not None and _plausible_place(owner, frame, index):
            return [owner]
    # "lifted sanctions imposed on Eritrea": a nominal trigger's own participle names whom it was laid on.
    if frame.head.pos_ in _NOUNS:
        laid_on = _imposed_on(frame.head, index, _LAID_ON_PREPS)
        if laid_on is not None:
            return [laid_on]
    return []


def _head_complement_parties(frame: Frame, index: EntityIndex) -> list[Actor]:
    """Whom a nominal trigger's own complement names: "lifted its blockade *of Yemen*", "opened investigations
    *against hundreds of banks*", "suspended aid *to Kabul*". Only a party: "a ceasefire of two weeks" names
    none."""
    if frame.event_type in _TOPIC_TYPES:
        return []
    doc = frame.head.doc
    nouns = [doc[i] for i in sorted(frame.match.token_ids | {frame.head.i}) if doc[i].pos_ in _NOUNS]
    preps = [c for noun in nouns for c in noun.children if c.dep_ == "prep" and c.lower_ in _NOMINAL_COMPLEMENT_PREPS]
    for prep in preps:
        for pobj in (c for c in prep.children if c.dep_ == "pobj"):
            parties = _coordinated_actors(pobj, lambda t: index.actor_at(t) or _place_party(t, frame, index))
            if parties:
                return parties
    return []


_NOMINAL_COMPLEMENT_PREPS = frozenset({"of", "on", "upon", "against", "to", "into"})


# Acts a meeting or a summons is held for: "summoned the Indian envoy *to complain*", "called X *to discuss*".
_PURPOSE_TYPES = frozenset({"CONSULT", "ACCUSE", "REQUEST"})


def _purpose_partners(verb: Token, index: EntityIndex) -> list[Actor]:
    """ "called Sergey Lavrov *to discuss* ...", "received the UAE ambassador *to discuss* ...", "summoned a
    senior Indian diplomat *to complain* ...": talks, complaints or requests made for a purpose are to whom the
    governing verb names as its object."""
    if verb.dep_ not in {"advcl", "xcomp"} or verb.head.pos_ != "VERB":
        return []
    objects = [c for c in verb.head.children if c.dep_ == "dobj"]
    return [a for obj in objects for a in _coordinated_actors(obj, index.actor_at)]


def _plausible_place(actor: Actor, frame: Frame, index: EntityIndex) -> bool:
    """A town counts when it is a capital or the sentence names its country: "declared a state of siege in
    Pando" by Bolivia's president is not about Uruguay's Pando, the only one the gazetteer has."""
    if actor.label != "GPE" or index.is_country(actor.name) or index.is_capital(actor.name):
        return True
    return actor.country_code in _countries_named(frame.sent, index)


def _imposed_on(noun: Token, index: EntityIndex, preps: frozenset[str] | None = None) -> Actor | None:
    """ "the ban imposed on the LTTE", "proposals laid out by the National Assembly": a participle on the noun
    names whom it was laid on, or who made it (``preps`` narrows which)."""
    allowed = _IMPOSED_PREPS if preps is None else preps
    for clause in (c for c in noun.children if c.dep_ == "acl" and c.tag_ == "VBN"):
        for prep in (c for c in clause.children if c.dep_ in {"prep", "agent"} and c.lower_ in allowed):
            for pobj in (c for c in prep.children if c.dep_ == "pobj"):
                actor = index.actor_at(pobj)
                if actor is not None:
                    return actor
    return None


_IMPOSED_PREPS = frozenset({"on", "upon", "against", "by"})
_LAID_ON_PREPS = frozenset({"on", "upon", "against"})


def _content_clause(child: Token) -> bool:
    """A clause saying what is demanded, threatened or alleged: a verb's complement, or a "that" clause on the
    trigger noun ("its demand that US ease sanctions")."""
    if child.dep_ == "ccomp":
        return True
    return (
        child.dep_ == "acl"
        and child.head.pos_ == "NOUN"
        and any(c.dep_ == "mark" and c.lower_ == "that" for c in child.children)
    )


def _nested_recipients(verb: Token, index: EntityIndex) -> list[Actor]:
    """ "sent 100 vehicles and a team of paratroopers to Lebanon": the parser often hangs the destination on the
    last thing sent rather than on the verb; it is still where (to whom) they went."""
    found: list[Actor] = []
    for obj in (c for c in verb.children if c.dep_ == "dobj"):
        for tok in obj.subtree:
            if tok.dep_ != "prep" or tok.lower_ != "to" or tok.head.pos_ not in _NOUNS or _depth(tok, obj) > 4:
                continue
            for pobj in (c for c in tok.children if c.dep_ == "pobj"):
                actor = index.actor_at(pobj)
                if actor is not None and all(not same_actor(actor, a) for a in found):
                    found.append(actor)
    return found


def _depth(tok: Token, top: Token) -> int:
    depth = 0
    while tok.i != top.i and tok.head.i != tok.i:
        tok, depth = tok.head, depth + 1
    return depth


def _restricted_places(frame: Frame, verb: Token, index: EntityIndex) -> list[Actor]:
    """ "declared a ceasefire in Tripoli", "imposed a curfew in parts of North West Frontier Province",
    "eased restrictions across Gaza": a restriction or its end is laid on the place it covers, when no party
    is named."""
    doc = verb.doc
    nouns = [doc[i] for i in sorted(frame.match.token_ids) if doc[i].pos_ in _NOUNS]
    # The verb's "in" phrase counts only beside a restriction noun ("imposed a curfew in X"): "was arrested in
    # London" says where, not what was restricted.
    anchors = [verb, *nouns] if nouns else []
    for anchor in anchors:
        for prep in anchor.children:
            if prep.dep_ != "prep" or prep.lower_ not in _COVERING_PREPS:
                continue
            for pobj in (c for c in prep.children if c.dep_ == "pobj"):
                place = _place_party(_partitive_whole(pobj), frame, index)
                if place is not None and _plausible_place(place, frame, index):
                    return [place]
    return []


def _countries_named(sent: Span, index: EntityIndex) -> set[str]:
    """The countries a sentence names, as states, capitals or nationalities ("the Libyan army")."""
    found: set[str] = set()
    for span, entity in index.mention_spans:
        if sent.start <= span.start < sent.end and entity.label in {"GPE", "NORP"}:
            code = index.country_of(entity)
            if code and (entity.label == "NORP" or index.is_country(entity.name) or index.is_capital(entity.name)):
                found.add(code)
    return found


_COVERING_PREPS = frozenset({"in", "on", "over", "across", "throughout", "around"})
# Restrictions laid on a place, and their end: curfews, sieges, ceasefires, sanctions, withdrawals.
_RESTRICTION_TYPES = frozenset({"COERCE", "CONCEDE", "RETREAT", "SANCTION"})
# Verbs of handing something over: whoever it goes to is the other party.
_GIVING_VERBS = frozenset({
    "send", "deploy", "dispatch", "donate", "deliver", "provide", "supply", "give", "ship", "hand", "transfer",
    "contribute", "return", "allocate", "grant", "lend", "airlift", "extend",
})  # fmt: skip


def _relation_with(prep: Token, tok: Token, frame: Frame) -> bool:
    """ "established ties *with* Palau", "established ties on Saturday *with* Bhutan": a relation noun of the
    trigger names its other party, whether the parser hangs "with" on the noun or on the verb."""
    if prep.lower_ != "with" or tok.i not in frame.match.token_ids:
        return False
    doc = tok.doc
    return tok.pos_ == "NOUN" or any(doc[i].lemma_.lower() in _RELATION_NOUNS for i in frame.match.token_ids)


_RELATION_NOUNS = frozenset({"tie", "relation", "relationship", "border"})


def _own_forces(noun: Token, leaving: bool = False) -> bool:
    """ "withdrew its troops", "sent their soldiers": the actor's own forces, no other party. Forces withdrawn
    without a possessor ("the UN withdrew peacekeepers from the Golan") are the withdrawer's own too."""
    if noun.lemma_.lower() not in _FORCE_NOUNS:
        return False
    possessors = [c for c in noun.children if c.dep_ == "poss"]
    if any(c.lower_ in _OWN_FORCE_POSSESSIVES for c in possessors):
        return True
    return leaving and not possessors and noun.dep_ == "dobj"


def _complement_parties(noun: Token, preps: frozenset[str]) -> list[Token]:
    return [
        pobj
        for prep in noun.children
        if prep.dep_ == "prep" and prep.lower_ in preps | _COMPLEMENT_PREPS
        for pobj in prep.children
        if pobj.dep_ == "pobj"
    ]


def _partitive_whole(noun: Token) -> Token:
    """ "some of the U.N. peacekeepers", "parts of west Darfur": the whole the part belongs to."""
    if noun.lemma_.lower() in _PARTITIVES:
        whole = _of_object(noun)
        if whole is not None:
            return whole
    return noun


_COMPLEMENT_PREPS = frozenset({"into", "with"})
_PARTITIVES = frozenset({
    "some", "many", "most", "all", "part", "parts", "number", "several", "dozens", "hundreds", "one",
})  # fmt: skip


def _patient(
    candidates: Sequence[Token],
    frame: Frame,
    index: EntityIndex,
    by_head: Mapping[int, TriggerMatch],
    located: set[int],
) -> Actor | None:
    """What was acted on when no party was: "attacked an army camp", "rejected the draft resolution",
    "released prisoners". Of acts that hand something over or ease it ("provided medical supplies", "lifted
    curfew hours") the object is the thing, not who receives it, so there only people count
    ("freed Chadian citizens")."""
    if frame.event_type in _TOPIC_TYPES:
        return None
    # "would not withdraw the bill": what a refusal withholds is no party to it; nor are the charges denied,
    # nor what is offered ("offered to send troops"). Who is to be freed is ("will release two guards").
    releasing = frame.match.trigger.mode == "release"
    if (frame.converted or frame.cameo or frame.content_head is not None) and not releasing:
        return None
    for cand in candidates:
        if cand.pos_ not in _NOUNS or cand.i in by_head or cand.i in located or cand.i in frame.match.token_ids:
            continue
        if cand.ent_type_ in _NOT_PARTIES:
            continue
        lemma = cand.lemma_.lower()
        if lemma in _TIME_NOUNS:
            continue  # "rejected it on Thursday" parsed with Thursday as the object
        people = _names_agents(lemma) or (releasing and cand.tag_ == "NNS")
        if (frame.event_type in _PATIENT_TYPES and not releasing) or people:
            return Actor(name=phrase_text(cand), country_code=index.country_modifier(cand, agent=people), label=None)
    return None


# Types whose object is on the receiving end even when it is a thing: what was attacked, rejected, accused.
# Not a protest's: "protested against the plan" is against whoever made it.
_PATIENT_TYPES = frozenset({"ASSAULT", "COERCE", "REJECT", "RETREAT", "ACCUSE", "THREATEN", "SANCTION"})
_NOT_PARTIES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})
_TIME_NOUNS = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday",
    "tomorrow", "week", "month", "year", "day", "night", "morning", "evening", "weekend",
})  # fmt: skip


_TOWN_TARGET_TYPES = frozenset({"ASSAULT", "THREATEN"})
_PEER_NOUNS = frozenset({"counterpart", "colleague"})
_SENDING_VERBS = frozenset({"send", "deploy", "dispatch", "station"})
# Acts done to a place: its people or state are on the receiving end ("attacked the cities in Saudi Arabia",
# "lifted its blockade of Yemen", "eased curfew in Amman").
_PLACE_TARGET_TYPES = frozenset({"ASSAULT", "COERCE", "MOBILIZE", "SANCTION", "CONCEDE", "RETREAT", "AID", "PROTEST"})
_OWNER_PREPS = frozenset({"of", "from", "by", "against", "in", "on", "into"})
_PLACE_PREPS = frozenset({"at", "in", "for"})
# What is discussed or agreed on is a topic, not a party: "discussed the war in Gaza".
_TOPIC_TYPES = frozenset({"CONSULT"})


def _object_party(tok: Token, frame: Frame, index: EntityIndex, depth: int = 0) -> Actor | None:
    """The party an object that is no actor itself stands for: whose offer, request or demand was rejected
    ("rejected an offer from the Afghan government", "support Indonesia's offer", "a U.S. State Department
    call"), which country's people or things were acted on ("banned all Pakistani newspapers", "airstrikes
    on PKK targets"), or the place an act was done to ("the cities in Saudi Arabia")."""
    if depth > 2 or frame.event_type in _TOPIC_TYPES:
        return None
    for child in sorted(tok.children, key=lambda c: (c.dep_ != "poss", abs(c.i - tok.i))):
        if child.dep_ == "poss" or (child.dep_ == "compound" and child.pos_ == "PROPN"):
            actor = index.actor_at(child) or _place_party(child, frame, index)
            if actor is not None:
                return actor
    for child in tok.children:
        if child.dep_ == "prep" and child.lower_ in _OWNER_PREPS:
            for pobj in (c for c in child.children if c.dep_ == "pobj"):
                where = child.lower_ in {"in", "on", "into"}  # "targets in Kirkuk": a place, if anything
                actor = _place_party(pobj, frame, index) if where else index.actor_at(pobj)
                if actor is None and pobj.pos_ in _NOUNS:
                    actor = _object_party(pobj, frame, index, depth + 1)
                if actor is not None:
                    return actor
    country = index.country_modifier(tok, agent=False)
    if country is not None:
        return Actor(name=phrase_text(tok), country_code=country, label=None)
    return _place_party(tok, frame, index)


def _place_party(tok: Token, frame: Frame, index: EntityIndex) -> Actor | None:
    entity = index.entity_at(tok)
    if entity is None or entity.label not in {"GPE", "LOC"} or frame.event_type not in _PLACE_TARGET_TYPES:
        return None
    code = index.country_of(entity)
    return Actor(name=entity.name, country_code=code, label="GPE") if code else None


def link_event_objects(frames: Sequence[Frame], frame_by_head: Mapping[int, Frame]) -> None:
    """Objects that are events themselves: in "condemned the launch" the target is whoever launched. Of an
    agreement between two parties, a critic from one of their countries is taken to criticise their own
    ("opposition lawmakers in the Argentine Congress criticised the agreement")."""
    for frame in frames:
        for i in frame.event_objects:
            other = frame_by_head.get(i)
            if other is None or other.source is None:
                continue
            parties = [other.source, *other.targets]
            critical = frame.event_type in {"ACCUSE", "REJECT", "PROTEST", "THREATEN", "SANCTION"}
            own = frame.source.country_code if frame.source is not None and critical else None
            party = next((p for p in parties if own and p.country_code == own), other.source)
            if frame.source is not None and same_actor(frame.source, party):
                continue
            if all(not same_actor(party, t) for t in frame.targets):
                frame.targets.append(party)


def _has_subject(tok: Token) -> bool:
    return any(c.dep_ in {"nsubj", "nsubjpass"} for c in tok.children)


def _visit_preps(frame: Frame) -> frozenset[str]:
    return frozenset({"in", "for"}) if frame.mode == "visit" else frozenset()


def _conjuncts(tok: Token) -> list[Token]:
    return [t for t in tok.subtree if t.dep_ == "conj" and t.head.i != t.i and conj_root(t).i == tok.i]


def _coordinated_actors(tok: Token, find: Callable[[Token], Actor | None]) -> list[Actor]:
    """The actors ``find`` reads from ``tok`` and the words coordinated with it ("A and B")."""
    return [actor for t in (tok, *_conjuncts(tok)) if (actor := find(t)) is not None]


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
    """Without a subject (a headline, a fragment), the first political actor of the sentence that is not a
    mere place stands in ("Israeli troops" counts: a modifier of a common noun names the acting party)."""
    for tok in frame.sent:
        if tok.i >= frame.head.i:
            break
        entity = index.entity_at(tok)
        if entity is None or entity.label not in {"PERSON", "ORG", "GPE", "NORP"}:
            continue
        if tok.dep_ == "pobj" and tok.head.lower_ in {"in", "at", "near", "from", "outside"}:
            continue  # "in Seoul": a place
        actor = index.actor_from_entity(entity)
        if index.is_political(actor) and all(not same_actor(actor, t) for t in targets):
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
