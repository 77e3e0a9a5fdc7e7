"""Who did what to whom: actors and places for event triggers, from the parse and the article's entities.

Entities come from the entity resolver with character offsets; they are mapped onto tokens once per
document. A person or organisation is tied to the country it acts for when the text says so next to a
mention ("US Secretary of State Antony Blinken", "the South Korean military", "leaders of Japan", "in South
Korea, where President Yoon ...") and that grounding then holds for every mention of the same entity.
Pronouns and definite role nouns ("the US diplomat") are resolved to the closest fitting earlier mention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from pipeline.records import Actor, Entity, Location

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
ACTOR_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"})
# Arcs inside a noun phrase that can carry the country an actor belongs to.
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "poss", "appos", "npadvmod", "nummod"})
_PERSON_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers", "himself", "herself"})
_GROUP_PRONOUNS = frozenset({"it", "its", "they", "them", "their", "itself", "themselves"})
_RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom", "whose"})
# Common nouns that denote an agent (so "the military said", "protesters marched" have an actor) and the
# subset that names an office or role a person can be referred to by ("the US diplomat" = Blinken).
ROLE_NOUNS = frozenset({
    "diplomat", "minister", "president", "leader", "envoy", "secretary", "official", "ambassador",
    "spokesman", "spokeswoman", "spokesperson", "chancellor", "premier", "king", "queen", "prince", "general",
    "commander", "chief", "governor", "mayor", "senator", "lawmaker", "prosecutor", "judge", "representative",
})  # fmt: skip
AGENT_NOUNS = ROLE_NOUNS | frozenset({
    "government", "military", "army", "navy", "force", "troop", "soldier", "police", "authority", "regime",
    "administration", "ministry", "parliament", "court", "rebel", "militant", "insurgent", "fighter", "militia",
    "protester", "protestor", "demonstrator", "activist", "worker", "student", "teacher", "union", "opposition",
    "party", "group", "gunman", "attacker", "officer", "guard", "delegation", "coalition", "alliance", "agency",
    "junta", "cabinet", "legislature", "congress", "senate", "people", "resident", "villager", "farmer",
})  # fmt: skip


@dataclass
class EntityIndex:
    """The article's entities laid over the tokens of ``doc``."""

    doc: Doc
    by_token: dict[int, Entity] = field(default_factory=dict)
    mention_spans: list[tuple[Span, Entity]] = field(default_factory=list)
    grounded: dict[str, str] = field(default_factory=dict)  # entity name -> country code learned here

    @classmethod
    def build(cls, doc: Doc, entities: Sequence[Entity]) -> EntityIndex:
        index = cls(doc)
        for entity in entities:
            for mention in entity.mentions:
                span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
                if span is None or len(span) == 0:
                    continue
                index.mention_spans.append((span, entity))
                for tok in span:
                    index.by_token.setdefault(tok.i, entity)
        index.mention_spans.sort(key=lambda pair: pair[0].start)
        index._ground_all()
        return index

    def entity_at(self, tok: Token) -> Entity | None:
        return self.by_token.get(tok.i)

    def country_of(self, entity: Entity) -> str | None:
        return entity.country_code or self.grounded.get(entity.name)

    def actor_from_entity(self, entity: Entity) -> Actor:
        return Actor(name=entity.name, country_code=self.country_of(entity), label=entity.label)

    def location_from_entity(self, entity: Entity) -> Location:
        return Location(
            place=entity.name,
            country_code=entity.country_code,
            geonames_id=entity.geonames_id,
            lat=entity.lat,
            lon=entity.lon,
        )

    # -- grounding -------------------------------------------------------------------------------------

    def _ground_all(self) -> None:
        for span, entity in self.mention_spans:
            if entity.country_code or entity.name in self.grounded:
                continue
            if entity.label not in {"PERSON", "ORG"}:
                continue
            code = self.country_modifier(span.root, exclude=entity) or self._where_clause_country(span.root)
            if code:
                self.grounded[entity.name] = code

    def country_modifier(self, tok: Token, exclude: Entity | None = None, depth: int = 0) -> str | None:
        """Country named by a modifier inside ``tok``'s noun phrase: compound, adjective, possessor,
        apposition, or an ``of`` phrase ("leaders of the US")."""
        if depth > 3:
            return None
        related: list[Token] = [c for c in tok.children if c.dep_ in _MODIFIER_DEPS]
        related += [gc for c in tok.children if c.dep_ == "prep" and c.lower_ == "of" for gc in c.children
                    if gc.dep_ == "pobj"]  # fmt: skip
        if tok.dep_ == "appos":
            related.append(tok.head)
        for other in related:
            entity = self.entity_at(other)
            if entity is not None and entity is not exclude and entity.label in {"GPE", "NORP"}:
                code = self.country_of(entity)
                if code:
                    return code
            if entity is None or entity is exclude:
                code = self.country_modifier(other, exclude, depth + 1)
                if code:
                    return code
        return None

    def _where_clause_country(self, tok: Token) -> str | None:
        # "... in South Korea, where President Yoon Suk Yeol ..." ties the person to that country.
        for anc in tok.ancestors:
            if anc.dep_ == "relcl" and any(c.lower_ == "where" for c in anc.children):
                entity = self.entity_at(anc.head)
                if entity is not None and entity.label in {"GPE", "LOC"}:
                    return self.country_of(entity)
            if anc.dep_ in {"ROOT", "ccomp", "advcl"}:
                break
        return None

    # -- actors ------------------------------------------------------------------------------------------

    def actor_at(self, tok: Token) -> Actor | None:
        """The actor that argument head ``tok`` stands for, or None when it is not an agent."""
        lower = tok.lower_
        if lower in _RELATIVE_PRONOUNS and tok.head.dep_ == "relcl":
            return self.actor_at(tok.head.head)
        if tok.pos_ == "PRON" or lower in _PERSON_PRONOUNS | _GROUP_PRONOUNS:
            return self._resolve_pronoun(tok)
        entity = self.entity_at(tok)
        if entity is not None and entity.label in ACTOR_LABELS:
            return self.actor_from_entity(entity)
        if tok.pos_ not in {"NOUN", "PROPN"}:
            return None
        country = self.country_modifier(tok)
        lemma = tok.lemma_.lower()
        if lemma not in AGENT_NOUNS and lemma.endswith("s") and lemma[:-1] in AGENT_NOUNS:
            lemma = lemma[:-1]  # "Rebels" at a sentence start is tagged a proper noun and keeps its plural
        if lemma in ROLE_NOUNS and country and _is_definite(tok) and tok.tag_ in {"NN", "NNP"}:
            person = self.recent_person(tok.idx, country)
            if person is not None:
                return self.actor_from_entity(person)
        if lemma in AGENT_NOUNS or country:
            return Actor(name=_phrase_text(tok), country_code=country, label=None)
        return None

    def recent_person(self, before_char: int, country: str | None = None) -> Entity | None:
        best: Entity | None = None
        for span, entity in self.mention_spans:
            if span.start_char >= before_char:
                break
            if entity.label == "PERSON" and (country is None or self.country_of(entity) == country):
                best = entity
        return best

    def _resolve_pronoun(self, tok: Token) -> Actor | None:
        lower = tok.lower_
        # In "X said it had ...", the pronoun is normally X.
        speaker = _speaker_subject(tok)
        if speaker is not None and speaker.i != tok.i:
            actor = self.actor_at(speaker)
            if actor is not None and (lower in _GROUP_PRONOUNS) == (actor.label != "PERSON"):
                return actor
        if lower in _PERSON_PRONOUNS:
            person = self.recent_person(tok.idx)
            return self.actor_from_entity(person) if person is not None else None
        if lower in _GROUP_PRONOUNS:
            best: Entity | None = None
            for span, entity in self.mention_spans:
                if span.start_char >= tok.idx:
                    break
                if entity.label in {"GPE", "ORG", "NORP"} and span.root.dep_ not in {"compound", "amod", "poss"}:
                    best = entity
            return self.actor_from_entity(best) if best is not None else None
        return None


def _speaker_subject(tok: Token) -> Token | None:
    """Subject of the reporting verb whose complement clause contains ``tok``."""
    clause = tok.head
    while clause.dep_ not in {"ccomp", "ROOT"} and clause.head.i != clause.i:
        clause = clause.head
    if clause.dep_ != "ccomp":
        return None
    return next((c for c in clause.head.children if c.dep_ == "nsubj"), None)


def _is_definite(tok: Token) -> bool:
    return any(c.dep_ == "det" and c.lower_ in {"the", "this", "that"} for c in tok.children)


def _phrase_text(tok: Token) -> str:
    """Surface text of a nominal actor: the head with its pre-modifiers and an "of" complement ("leaders
    of the US"), without determiners or punctuation."""
    left = [c for c in tok.lefts if c.dep_ in {"compound", "amod", "nmod", "poss"}]
    start = min((t.left_edge.i for t in left), default=tok.i)
    end = tok.i + 1
    of_phrase = next((c for c in tok.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
    if of_phrase is not None:
        pobj = next((c for c in of_phrase.children if c.dep_ == "pobj"), None)
        if pobj is not None:
            end = pobj.i + 1
    words = [t.text for t in tok.doc[start:end] if t.dep_ not in {"det", "cc"} and not t.is_punct and t.tag_ != "POS"]
    return " ".join(words)
