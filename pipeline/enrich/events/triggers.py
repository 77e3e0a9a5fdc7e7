"""Event coding, step 1: from trigger matches to frames.

A ``Frame`` is one trigger on its way to becoming an event. Here it gets its modality: negated and generic
triggers are dropped; future, hedged, conditional and reported ones are marked; following the PLOVER
codebook an announced or future event is recoded as its intent type ("will meet" -> AGREE, "vowed to
attack" -> THREATEN), a trigger that is the content of a speech act ("urged Russia to *withdraw*") is folded
into that speech act, and ending a conflictual action ("lifted the curfew") becomes a concession.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from spacy.attrs import ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span, Token

from pipeline.enrich.events.actors import conj_root
from pipeline.enrich.events.lexicon import TriggerMatch
from pipeline.enrich.events.taxonomy import Taxonomy
from pipeline.records import Actor, Location

# Verbs that merely carry a nominal trigger: "held talks", "staged a protest", "launched an attack".
_LIGHT_VERBS = frozenset({
    "hold", "conduct", "stage", "carry", "launch", "make", "pay", "begin", "start", "continue", "organize",
    "organise", "lead", "undertake", "mount", "take", "give", "issue", "host", "announce", "declare",
    "impose", "file", "open", "reach", "sign", "have", "attend", "join", "deliver", "provide", "send",
    "resume", "renew", "escalate", "intensify", "step", "use", "fire", "lodge", "register",
    # Authorising an act is taking it: "approved the extradition", "ordered the deployment".
    "approve", "authorize", "authorise", "order", "complete", "extend",
    # Setting money or goods aside for an act is doing it: "allocating EUR 95m in humanitarian support".
    "allocate", "earmark", "disburse", "contribute", "donate", "channel",
})  # fmt: skip
# Verbs and adjectives whose to-complement is not (yet) done: "plans to meet", "is ready to sign".
_FUTURE_GOVERNORS = frozenset({
    "plan", "intend", "prepare", "aim", "hope", "want", "expect", "schedule", "set", "due", "willing", "ready",
    "prepared", "poised", "eager", "keen", "seek", "try", "going",
})  # fmt: skip
# Attempts ("attempted to impose martial law") are coded as what was attempted; these only raise a possibility.
_HEDGE_GOVERNORS = frozenset({"consider", "mull", "weigh", "propose", "threaten", "contemplate"})
_FAIL_GOVERNORS = frozenset({"fail", "cancel", "postpone", "avoid", "halt", "stop"})
_MODAL_FUTURE = frozenset({"will", "shall", "'ll", "wo"})
_MODAL_HEDGE = frozenset({"would", "could", "might", "may", "should", "can", "must"})
_GENERIC_MODIFIERS = frozenset({"any", "further", "future", "possible", "potential", "every", "new"})
_EMBED_DEPS = frozenset({"xcomp", "ccomp", "pcomp", "pobj", "prep", "dobj", "acl", "advcl", "conj"})
# Arcs by which a trigger sits inside the complement of another: its content, object or topic.
_CONTENT_DEPS = _EMBED_DEPS | frozenset({"amod", "compound", "nmod", "relcl", "acomp", "attr", "oprd", "dative"})
# A nominal trigger in one of these phrases is a topic, not an event: "talks on trade", "focused on
# investment", "a memorandum on cooperation", "under EU sanctions".
_TOPIC_PREPS = frozenset({"on", "about", "over", "regarding", "concerning", "under"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those", "his", "her", "its", "their"})
# Speech acts whose that-clause, when it states a fact, is a claim rather than a threat ("warned that
# Pyongyang was collaborating" is neither a threat nor Pyongyang's collaborating coded as an event).
_CLAIM_TYPES = frozenset({"THREATEN"})
_OPEN_QUOTES = '“"«'
_CLOSE_QUOTES = '”"»'


@dataclass
class Frame:
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
    # The CAMEO code when the frame's reading decides it rather than its type: a concession announced or agreed
    # to, not done ("will release", "agreed to a ceasefire") is 035, express intent to yield; denying an
    # accusation ("rejected the charges") is 016, deny responsibility.
    cameo: str | None = None
    fallback_source: bool = False
    nonpolitical: bool = False  # its actor is a storm, a company, a club or a town: not an event of ours
    reference: bool = False  # "condemned *the launch*": refers to an event coded elsewhere, not a new one
    background: bool = False  # "two nationals *who had been arrested*": told as background, not the news
    content_head: Token | None = None  # the folded content of a speech act ("offered to *host* talks")
    obliged: Token | None = None  # who is told they must act ("Russia says *Israel* must end attacks")
    event_objects: list[int] = field(default_factory=list)  # heads of triggers that are this one's object
    actor_head: Token | None = None  # where to look for actors when not the trigger ("*lifted* the curfew")
    source: Actor | None = None
    co_sources: list[Actor] = field(default_factory=list)  # "A and B paid": B did the same, as its own event
    targets: list[Actor] = field(default_factory=list)
    location: Location | None = None
    date: str | None = None
    date_text: str | None = None

    @property
    def head(self) -> Token:
        return self.match.head


# -- modality and speech acts --------------------------------------------------------------------------


def speech_act_contents(
    matches: Sequence[TriggerMatch], by_head: Mapping[int, TriggerMatch], taxonomy: Taxonomy
) -> tuple[dict[int, TriggerMatch], set[int]]:
    """Map speech-act trigger head -> the trigger that is its content ("urged X to *withdraw*", "agreed to
    set up a *joint* committee"), and the heads of triggers that are only what someone claimed or talked
    about ("warned that Pyongyang was *collaborating*", "criticised Russia for expanding its *cooperation*",
    "*discussing* a hotline and *joint* exercises"): neither is an event of its own."""
    contents: dict[int, TriggerMatch] = {}
    claimed: set[int] = set()
    for match in matches:
        tok, path = match.head, []
        for _ in range(6):
            if tok.dep_ not in _CONTENT_DEPS or tok.head.i == tok.i:
                break
            path.append(tok.dep_)
            tok = tok.head
            parent = by_head.get(tok.i)
            if parent is None or parent is match:
                continue
            parent_type = parent.trigger.event_type
            if parent_type == "CONSULT" and path[-1] in {"dobj", "pobj", "prep"}:
                claimed.add(match.head.i)  # the subject of talks
                break
            if parent_type == "ACCUSE":
                # What someone is criticised for is part of the criticism ("for expanding its cooperation",
                # "of interfering"); an event that is criticised is its target ("condemned the launch").
                # So is what an accusation says ("accusations that it had used the equipment to *aid* the
                # rebels"): alleged, not reported as done.
                if "prep" in path or "pcomp" in path or (path[-1] == "acl" and parent.head.pos_ == "NOUN"):
                    claimed.add(match.head.i)
                break
            if not taxonomy.is_speech_act(parent_type) or "conj" in path:
                break
            # A that-clause is content only when it is prospective ("warned that it would retaliate");
            # otherwise it states a fact: a separate event after "said", a claim after "warned".
            if "ccomp" in path and not (_is_future(match.head) or _is_hedged(match.head)):
                if parent_type in _CLAIM_TYPES:
                    claimed.update({match.head.i, parent.head.i})
                break
            contents.setdefault(parent.head.i, match)
            claimed.add(match.head.i)  # folded into the speech act: not an event of its own
            break
    return contents, claimed


def clause_verb(head: Token) -> Token:
    """The verb whose tense and subject apply to a trigger: itself, or the light verb of a nominal one."""
    noun = _phrase_head(head)
    light = noun.head.lemma_.lower() in _LIGHT_VERBS
    if noun.pos_ in {"NOUN", "PROPN", "NUM"} and noun.dep_ in {"dobj", "attr", "nsubjpass"} and light:
        return noun.head
    if head.pos_ == "ADP" and head.head.i != head.i:
        return head.head  # "spoke *by telephone*"
    means = head if head.dep_ == "pobj" else noun
    if means.dep_ == "pobj" and means.head.lower_ == "with":
        # "pounded the hideouts *with airstrikes*", "provided Brazil *with $1.5 billion in loan guarantees*": the
        # means of the clause's act (the parser often hangs "with" on the object instead of the verb).
        attached = means.head.head
        if attached.pos_ == "VERB":
            return attached
        if attached.dep_ == "dobj" and attached.head.pos_ == "VERB":
            return attached.head
    return head


_MEASURE_PREPS = frozenset({"in", "of"})


def _phrase_head(head: Token) -> Token:
    """The noun phrase a nominal trigger heads or modifies: "launched a *mediation* effort" -> effort,
    "provided $3 million in *humanitarian* funding" -> million."""
    tok = head
    if tok.dep_ in {"amod", "compound"} and tok.head.pos_ in {"NOUN", "PROPN"}:
        tok = tok.head
    if tok.dep_ == "pobj" and tok.head.lower_ in _MEASURE_PREPS:
        container = tok.head.head
        if container.like_num or container.ent_type_ == "MONEY" or container.lemma_.lower() in _CONTAINER_NOUNS:
            tok = container  # "$3 million in funding", "95 million euros in support", "a new round of exercises"
    return tok


_CONTAINER_NOUNS = frozenset({"round", "series", "wave", "spate", "string", "set", "package", "program", "programme"})


def aux_words(verb: Token) -> set[str]:
    return {c.lower_ for c in verb.children if c.dep_ in {"aux", "auxpass"}}


def _governor(verb: Token) -> Token | None:
    return verb.head if verb.dep_ in {"xcomp", "ccomp"} and verb.head.i != verb.i else None


def _is_future(tok: Token) -> bool:
    verb = _tense_verb(tok)
    if aux_words(verb) & _MODAL_FUTURE:
        return True
    if "would" in aux_words(verb) and verb.dep_ == "ccomp" and not _is_conditional(tok):
        return True  # reported speech: "said London would fund" is "London will fund"
    gov = _governor(verb)
    if gov is not None and gov.lemma_.lower() in _FUTURE_GOVERNORS:
        return True
    # "is going to meet"
    return gov is not None and gov.lower_ == "going"


def _tense_verb(tok: Token) -> Token:
    """The verb whose tense a trigger takes: its clause verb, or for "left *for meetings*" the verb its
    phrase hangs on."""
    verb = clause_verb(tok)
    if verb.pos_ in {"NOUN", "PROPN"} and verb.dep_ == "pobj" and verb.head.head.pos_ in {"VERB", "AUX", "ADJ"}:
        return verb.head.head
    return verb


def _is_hedged(tok: Token) -> bool:
    verb = _tense_verb(tok)
    modals = aux_words(verb) & _MODAL_HEDGE
    if modals and not (modals == {"would"} and verb.dep_ == "ccomp"):
        return True
    gov = _governor(verb)
    return gov is not None and gov.lemma_.lower() in _HEDGE_GOVERNORS


def _is_conditional(tok: Token) -> bool:
    verb = clause_verb(tok)
    for node in (verb, *list(verb.ancestors)[:2]):
        if any(c.dep_ == "mark" and c.lower_ in {"if", "unless", "whether"} for c in node.children):
            return True
    return False


def _is_negated(tok: Token) -> bool:
    verb = clause_verb(tok)
    nodes = [tok, verb]
    if tok.pos_ in {"NOUN", "PROPN"} and tok.dep_ in {"dobj", "attr"}:
        nodes.append(tok.head)  # "is not facing impeachment"
    for node in nodes:
        for child in node.children:
            if child.dep_ == "neg":
                return True
            if child.dep_ == "det" and child.lower_ == "no":
                return True
    gov = _governor(verb)
    return gov is not None and gov.lemma_.lower() in _FAIL_GOVERNORS


_REFUSABLE_QUADS = frozenset({"verbal-cooperation", "material-cooperation"})
_NOT_WORDS = frozenset({"not", "n't", "never", "n’t"})
_REFUSING_AUX = frozenset({"will", "wo", "would", "shall", "'ll", "do", "does", "can", "ca"})


def _is_refusal(tok: Token, event_type: str, taxonomy: Taxonomy) -> bool:
    """A cooperative act its own clause says its actor does not or will not do: "will not lift the ban",
    "has never agreed to talks". Not "no aid arrived" (no actor refuses) nor a failure ("failed to meet")."""
    if tok.pos_ != "VERB" or taxonomy.quad_class(event_type) not in _REFUSABLE_QUADS:
        return False
    if not any(c.dep_ == "neg" and c.lower_ in _NOT_WORDS for c in tok.children):
        return False
    # A stance, not a report that something did not happen: "will not", "would not", "does not" refuse; "did
    # not resign" only says it has not happened.
    return any(c.dep_ == "aux" and c.lower_ in _REFUSING_AUX for c in tok.children)


_OBLIGATION_AUX = frozenset({"must", "should"})
_SAYING_VERBS = frozenset({"say", "insist", "tell", "warn", "add", "stress", "argue", "declare", "state", "write"})


def _obligation(tok: Token) -> tuple[Token | None, Token | None]:
    """(the party obliged, the verb saying so) when a trigger's clause says another party must or should act."""
    verb = clause_verb(tok)
    if not any(c.dep_ == "aux" and c.lower_ in _OBLIGATION_AUX for c in verb.children) or verb.dep_ != "ccomp":
        return None, None
    speaker_verb = verb.head
    if speaker_verb.lemma_.lower() not in _SAYING_VERBS:
        return None, None
    obliged = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    speaker = next((c for c in speaker_verb.children if c.dep_ == "nsubj"), None)
    if obliged is None or speaker is None or obliged.pos_ == "PRON" or obliged.lower_ == speaker.lower_:
        return None, None  # "it must", "we should": the speaker's own intent, not a demand
    return obliged, speaker_verb


def _is_reported(tok: Token) -> bool:
    verb = clause_verb(tok)
    return verb.dep_ == "ccomp"


def _is_background(tok: Token) -> bool:
    """A trigger told as background to the news: in a relative clause ("a journalist *who was arrested* last
    year", "a soldier *killed* in Afghanistan a decade ago"), in the past perfect ("they *had attacked*"), or in
    a phrase saying what came before or around it ("freed the pastor *following his arrest*", "resigned
    *after weeks of protests*")."""
    verb = clause_verb(tok)
    if verb.dep_ == "relcl" or (verb.dep_ == "acl" and verb.tag_ == "VBN" and verb.head.pos_ in {"NOUN", "PROPN"}):
        return True
    if any(c.dep_ == "aux" and c.lower_ in {"had", "'d"} and c.tag_ == "VBD" for c in verb.children):
        return True
    node = tok
    for _ in range(4):  # up through "after weeks of protests": pobj -> prep -> pobj -> prep
        if node.dep_ not in {"pobj", "prep", "compound", "amod"} or node.head.i == node.i:
            return False
        node = node.head
        if node.dep_ == "prep" and node.lower_ in _CIRCUMSTANCE_PREPS:
            return True
    return False


# Prepositions whose phrase sets the scene for the clause's news: what came before it, or around it.
_CIRCUMSTANCE_PREPS = frozenset({"after", "following", "before", "since", "amid", "despite"})


def _is_generic(tok: Token) -> bool:
    """A nominal trigger that names no actual event: "any further launches", "possible talks"."""
    if tok.pos_ not in {"NOUN", "PROPN"}:
        return False
    if tok.dep_ == "dobj" and tok.head.lemma_.lower() in _LIGHT_VERBS and not _is_future(tok.head):
        return False  # "launched further airstrikes": carried out, however worded
    return any(c.lower_ in _GENERIC_MODIFIERS and c.dep_ in {"det", "amod"} for c in tok.children)


def _is_topic(tok: Token) -> bool:
    """A nominal trigger that is what something is about ("talks on *trade*"), not an event itself."""
    return tok.pos_ in {"NOUN", "PROPN"} and tok.dep_ == "pobj" and tok.head.lower_ in _TOPIC_PREPS


_PEACEKEEPING = "074"
_FORCES = frozenset({"troop", "soldier", "peacekeeper", "force", "contingent", "battalion", "unit", "team"})


def _keeps_the_peace(frame: Frame, head: Token) -> bool:
    """ "is deploying 300 troops to the UN peacekeeping mission", "British troops have arrived in Mali to join
    the peacekeeping mission": forces sent to keep the peace are military protection given (CAMEO 074, PLOVER
    AID), not a show of force or a visit."""
    if frame.event_type not in {"MOBILIZE", "CONSULT"} or (frame.event_type == "CONSULT" and frame.mode != "visit"):
        return False
    if not any(t.lower_.startswith("peacekeep") for t in head.subtree):
        return False
    subjects = [c for c in head.children if c.dep_ in {"nsubj", "nsubjpass"}]
    return frame.event_type == "MOBILIZE" or any(t.lemma_.lower() in _FORCES for s in subjects for t in s.subtree)


def _failed_agreement(head: Token, match: TriggerMatch) -> bool:
    if match.trigger.event_type != "AGREE":
        return False
    gov = _governor(clause_verb(head))
    return gov is not None and gov.lemma_.lower() == "fail"


_ILLS = frozenset({
    "epidemic", "pandemic", "outbreak", "virus", "disease", "ebola", "malaria", "cholera", "covid", "coronavirus",
    "poverty", "hunger", "famine", "corruption", "inflation", "unemployment", "climate", "drought", "fire",
    "wildfire", "flood", "cause", "illiteracy", "malnutrition", "crime", "terrorism", "extremism", "radicalism",
    "trafficking", "smuggling", "piracy", "racism", "discrimination",
})  # fmt: skip
_FIGHT_LEMMAS = frozenset({"fight", "combat", "battle", "tackle"})


def _fights_an_ill(head: Token, match: TriggerMatch) -> bool:
    """ "to fight the Ebola epidemic", "fighting the root causes", "the battle against poverty", "progress
    fighting terrorism": a struggle against a disease or a social ill, named without a foe, is no use of force."""
    if match.trigger.event_type != "ASSAULT" or head.lemma_.lower() not in _FIGHT_LEMMAS:
        return False
    objects = [c for c in head.children if c.dep_ == "dobj"]
    objects += [p for c in head.children if c.dep_ == "prep" and c.lower_ == "against" for p in c.children]
    return any(o.lemma_.lower() in _ILLS or any(c.lemma_.lower() in _ILLS for c in o.children) for o in objects)


def _is_unrealised(tok: Token) -> bool:
    """An infinitive hanging on a noun names a plan, offer or right, not something done: "an offer to
    *host* a conference", "efforts to *attack*"."""
    verb = clause_verb(tok)
    return verb.dep_ == "acl" and any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)


def _is_reference(tok: Token) -> bool:
    """A definite nominal trigger that is an argument of a verb ("condemned *the launch*", "welcomed *the
    visit*", "*the talks* focused on"): a mention of an event reported elsewhere."""
    if tok.pos_ not in {"NOUN", "PROPN"} or tok.head.lemma_.lower() in _LIGHT_VERBS:
        return False
    if claims_responsibility(tok):
        return False  # "claimed responsibility for the attack": the claimant's own act, reported here
    definite = any(c.dep_ in {"det", "poss"} and c.lower_ in _DEFINITE for c in tok.children)
    owned = any(c.dep_ == "poss" for c in tok.children)
    # "the 2023 Camp David summit": a noun with its own name or date introduces an event of its own.
    specific = any(c.dep_ in {"compound", "nmod", "nummod", "amod"} and c.ent_type_ for c in tok.children)
    return definite and not owned and not specific and tok.dep_ in {"dobj", "nsubj", "nsubjpass", "pobj"}


def claims_responsibility(noun: Token) -> bool:
    """ "claimed responsibility for *the attack*", "for both the Farah and the Ghazni *attacks*": an act its actor
    owns up to."""
    noun = conj_root(noun)  # the parser hangs "the Ghazni attacks" on "the Farah" as its conjunct
    prep = noun.head
    return (
        noun.dep_ == "pobj"
        and prep.lower_ == "for"
        and prep.head.lemma_.lower() == "responsibility"
        and prep.head.head.lemma_.lower() in {"claim", "take", "accept", "bear", "admit", "assume"}
    )


def _ids_of_substrings(text: str) -> frozenset[int]:
    """String ids of every substring of ``text`` (the empty one too): the token texts ``in text`` holds for."""
    return frozenset(get_string_id(text[i:j]) for i in range(len(text) + 1) for j in range(i, len(text) + 1))


_OPEN_QUOTE_IDS = _ids_of_substrings(_OPEN_QUOTES)
_CLOSE_QUOTE_IDS = _ids_of_substrings(_CLOSE_QUOTES)


def quoted_tokens(doc: Doc) -> set[int]:
    """Tokens inside quotation marks: what people are quoted as saying is not itself a reported event."""
    inside: set[int] = set()
    open_at: int | None = None
    # Token texts compared as string ids (ORTH) in one array: no Token object made per token.
    for i, orth in enumerate(doc.to_array(ORTH).tolist()):
        if open_at is None and orth in _OPEN_QUOTE_IDS:
            open_at = i
            continue
        if open_at is not None and orth in _CLOSE_QUOTE_IDS:
            inside.update(range(open_at + 1, i))
            open_at = None
    return inside


def _in_question(sent: Span) -> bool:
    """ "Will Russia invade Ukraine?": a question reports nothing."""
    last = next((t for t in reversed(sent) if not t.is_space and t.text not in _CLOSE_QUOTES), None)
    return last is not None and last.text == "?"


def frame_for(
    match: TriggerMatch, content: TriggerMatch | None, taxonomy: Taxonomy, sent: Span | None = None
) -> Frame | None:
    """The frame of a trigger, or None when it reports no event. ``sent``: the trigger's sentence, when the caller
    has it already (``Token.sent`` finds a sentence's bounds anew at every call)."""
    head = match.head
    if _is_generic(head) or _is_topic(head) or _is_unrealised(head) or _fights_an_ill(head, match):
        return None
    negated = _is_negated(head)
    refused_type, refuser = match.trigger.event_type, head
    if negated and (ender := ended_by(match, taxonomy)) is not None:
        # "will not lift the embargo", "will not end the strike": the concession of ending it is refused.
        refused_type, refuser = taxonomy.cessation()[0] or refused_type, ender
    refusal = negated and _is_refusal(refuser, refused_type, taxonomy)
    failed = negated and not refusal and _failed_agreement(head, match)
    if negated and not refusal and not failed:
        return None
    sent = head.sent if sent is None else sent
    if _in_question(sent):
        return None
    frame = Frame(match=match, sent=sent, event_type=match.trigger.event_type, mode=match.trigger.mode)
    if failed:
        # "failed to reach agreement on a trade deal": talks that end without one reject each side's terms
        # (CAMEO 12), not nothing.
        frame.event_type, frame.mode, frame.converted = "REJECT", None, True
        frame.reported = _is_reported(head)
        return frame
    obliged, speaker_verb = _obligation(head)
    if obliged is not None and speaker_verb is not None and not refusal:
        # "Russia says Israel must end attacks": saying another party must act is demanding it (CAMEO 10, PLOVER
        # REQUEST), whatever the act; the speaker is the source, the party obliged the target.
        frame.event_type, frame.mode, frame.converted = "REQUEST", taxonomy.demand_mode(frame.event_type), True
        frame.actor_head, frame.obliged = speaker_verb, obliged
        return frame
    if refusal:
        # Codebook (REJECT): declining to cooperate, concede or meet is a rejection of that act, not nothing;
        # "will not lift the ban" refuses a concession now, whatever its tense.
        frame.event_type, frame.mode, frame.converted = "REJECT", taxonomy.demand_mode(refused_type), True
        if refuser is not head:
            frame.actor_head = refuser
        frame.reported = _is_reported(head)
        return frame
    if _keeps_the_peace(frame, head):
        frame.event_type, frame.mode, frame.converted, frame.cameo = "AID", None, True, _PEACEKEEPING
    frame.reference = _is_reference(head)
    frame.future = _is_future(head)
    frame.hedged = _is_hedged(head)
    frame.conditional = _is_conditional(head)
    frame.reported = _is_reported(head)
    frame.background = _is_background(head)
    if frame.event_type == "REJECT" and _denies_accusation(head):
        frame.cameo = _DENY_RESPONSIBILITY
    if content is not None:
        _apply_content(frame, content, taxonomy)
        frame.content_head = content.head
        return frame
    ender = ended_by(match, taxonomy)
    if ender is not None:
        becomes, _, _ = taxonomy.cessation()
        frame.event_type, frame.mode, frame.converted = becomes or frame.event_type, None, True
        frame.actor_head = ender
        obliged, speaker_verb = _obligation(ender)
        if obliged is not None and speaker_verb is not None:  # "says Israel must end attacks": a demand
            frame.event_type, frame.mode = "REQUEST", taxonomy.demand_mode(frame.event_type)
            frame.actor_head, frame.obliged = speaker_verb, obliged
        return frame
    curtailer = curtailed_by(match, taxonomy)
    curtails = taxonomy.curtailing()
    if curtailer is not None and curtails is not None:
        frame.event_type, frame.mode, frame.converted = curtails.becomes, curtails.mode, True
        frame.actor_head = curtailer
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
        frame.cameo = _INTENT_TO_YIELD if new_type == "CONCEDE" else None
    return frame


def ended_by(match: TriggerMatch, taxonomy: Taxonomy) -> Token | None:
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


def curtailed_by(match: TriggerMatch, taxonomy: Taxonomy) -> Token | None:
    """The word cutting a cooperative exchange ("suspended aid", "a suspension of aid"), if any."""
    spec = taxonomy.curtailing()
    if spec is None or match.trigger.event_type not in spec.types:
        return None
    head = match.head
    if head.pos_ not in {"NOUN", "PROPN"}:
        return None
    governor = head.head
    if head.dep_ in {"dobj", "nsubjpass"} and governor.pos_ == "VERB" and _verb_key(governor) in spec.verbs:
        return governor
    if head.dep_ == "pobj" and governor.lower_ in {"of", "in", "to"} and governor.head.lemma_.lower() in spec.nouns:
        return governor.head
    return None


def _verb_key(verb: Token) -> str:
    particle = next((c.lower_ for c in verb.children if c.dep_ == "prt"), None)
    lemma = verb.lemma_.lower()
    return f"{lemma} {particle}" if particle else lemma


_INTENT_TO_YIELD = "035"
_DEMAND = "10"
_PUNITIVE = frozenset({"SANCTION", "COERCE", "ASSAULT"})
_DENY_RESPONSIBILITY = "016"


_ACCUSATION_NOUNS = frozenset({
    "accusation", "allegation", "charge", "claim", "responsibility", "involvement", "wrongdoing", "report",
})  # fmt: skip


def _denies_accusation(head: Token) -> bool:
    """ "denied charges that", "rejected allegations of": a denial of what it is accused of."""
    return head.pos_ == "VERB" and any(
        c.dep_ in {"dobj", "nsubjpass"} and c.lemma_.lower() in _ACCUSATION_NOUNS for c in head.children
    )


def _apply_content(frame: Frame, content: TriggerMatch, taxonomy: Taxonomy) -> None:
    inner_type, inner_mode = content.trigger.event_type, content.trigger.mode
    if frame.event_type in {"REQUEST", "REJECT"}:
        frame.mode = frame.mode or taxonomy.demand_mode(inner_type)
        if frame.event_type == "REJECT" and inner_type == "ACCUSE":
            frame.cameo = _DENY_RESPONSIBILITY  # "denied the charges", "rejected accusations"
        if frame.event_type == "REQUEST" and inner_type in _PUNITIVE and ended_by(content, taxonomy) is None:
            # "called for sanctions against Turkey": asking for punishment of a party is a demand against it
            # (CAMEO 10), not an appeal (02), however the trigger alone is coded.
            frame.cameo = _DEMAND
    elif frame.event_type == "THREATEN":
        frame.mode = frame.mode or taxonomy.intent(inner_type, inner_mode)[1]
    elif frame.event_type == "AGREE":
        # Promising a concession is a CONCEDE, promising force a THREATEN (codebook 3.1, 3.4). Agreeing to end
        # a conflictual act ("agreed to lift sanctions") promises the concession of ending it; offering troops
        # ("offered to send troops to help") offers help, not force.
        if ended_by(content, taxonomy) is not None:
            frame.event_type, frame.mode, frame.converted = "CONCEDE", None, True
            frame.cameo = _INTENT_TO_YIELD
            return
        if inner_type == "MOBILIZE":
            return
        new_type, new_mode = taxonomy.intent(inner_type, inner_mode)
        if new_type != "AGREE":
            frame.event_type, frame.mode, frame.converted = new_type, new_mode, True
            frame.cameo = _INTENT_TO_YIELD if new_type == "CONCEDE" else None


def in_sentence(match: TriggerMatch) -> bool:
    return match.head.sent is not None


def frames_from_matches(matches: Sequence[TriggerMatch], taxonomy: Taxonomy) -> list[Frame]:
    """One frame per trigger that reports an event; speech-act contents and cessation verbs are folded into
    the frame they belong to rather than becoming frames of their own."""
    if not matches:
        return []
    by_head = {m.head.i: m for m in matches}
    contents, claimed = speech_act_contents(matches, by_head, taxonomy)
    # A verb that ends a conflictual action ("withdrew its complaint") is part of that concession; one that cuts
    # a cooperative exchange ("suspended aid") is part of that sanction.
    enders = {ender.i for m in matches if (ender := ended_by(m, taxonomy) or curtailed_by(m, taxonomy)) is not None}
    quoted = quoted_tokens(matches[0].head.doc)
    frames: list[Frame] = []
    for match in matches:
        if match.head.i in enders:
            continue
        sent = match.head.sent  # what in_sentence reads: raises on a doc without sentence boundaries
        if match.head.i in claimed or match.head.i in quoted:
            continue
        frame = frame_for(match, contents.get(match.head.i), taxonomy, sent)
        if frame is not None:
            frames.append(frame)
    return frames
