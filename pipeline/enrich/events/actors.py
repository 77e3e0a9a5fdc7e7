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
from datetime import datetime

from spacy.tokens import Doc, Span, Token

from pipeline.enrich.dictionaries import agent_sector, lookup_actor
from pipeline.records import Actor, Entity, Location

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
ACTOR_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"})
# Arcs inside a noun phrase that can carry the country an actor belongs to.
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod", "poss", "appos", "npadvmod", "nummod"})
_PERSON_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers", "himself", "herself"})
_GROUP_PRONOUNS = frozenset({"it", "its", "they", "them", "their", "itself", "themselves"})
_PLURAL_PRONOUNS = frozenset({"they", "them", "their", "themselves"})
_RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom", "whose"})
# Common nouns that denote an agent (so "the military said", "protesters marched" have an actor) and the
# subset that names an office or role a person can be referred to by ("the US diplomat" = Blinken).
ROLE_NOUNS = frozenset({
    "diplomat", "minister", "president", "leader", "envoy", "secretary", "official", "ambassador",
    "spokesman", "spokeswoman", "spokesperson", "chancellor", "premier", "king", "queen", "prince", "general",
    "commander", "chief", "governor", "mayor", "senator", "lawmaker", "prosecutor", "judge", "representative",
    "director", "chairman", "chairwoman", "chair", "speaker", "deputy", "vice", "head", "sheikh", "emir",
    "sultan", "monarch", "ayatollah", "cleric", "rep", "sen", "gen", "col", "lt", "adm", "councillor",
    "commissioner", "attorney", "inspector", "advisor", "adviser", "negotiator", "dictator", "strongman", "ruler",
})  # fmt: skip
# Offices that are a state's whoever holds them (a "president" or "chairman" may head a club or a company).
_PUBLIC_OFFICES = frozenset({
    "minister", "senator", "lawmaker", "legislator", "governor", "mayor", "ambassador", "envoy", "diplomat",
    "prosecutor", "judge", "premier", "chancellor", "king", "queen", "prince", "sheikh", "emir", "sultan",
    "monarch", "ayatollah", "councillor", "sen", "rep", "gen", "adm", "dictator", "strongman", "ruler",
})  # fmt: skip
AGENT_NOUNS = ROLE_NOUNS | frozenset({
    "government", "military", "army", "navy", "force", "troop", "soldier", "police", "authority", "regime",
    "administration", "ministry", "parliament", "court", "rebel", "militant", "insurgent", "fighter", "militia",
    "protester", "protestor", "demonstrator", "activist", "worker", "student", "teacher", "union", "opposition",
    "party", "group", "gunman", "attacker", "officer", "guard", "delegation", "coalition", "alliance", "agency",
    "junta", "cabinet", "legislature", "congress", "senate", "people", "resident", "villager", "farmer",
    "organiser", "organizer", "faction", "marcher", "lawmaker", "legislator", "negotiator", "leadership",
    "population", "civilian", "citizen", "voter", "member", "jihadist", "separatist", "guerrilla",
    "peacekeeper", "inspector", "observer", "mediator",
})  # fmt: skip
# Agents that belong to the country the article reports from unless the text says otherwise ("police fired
# tear gas" in a story datelined Santiago); envoys, delegations and the like are foreign by nature.
_DOMESTIC_NOUNS = AGENT_NOUNS - frozenset({"diplomat", "envoy", "ambassador", "delegation", "coalition", "alliance"})
# Heads of a subject that only count the actors named in their "of" phrase ("tens of thousands of people").
_QUANTITY_NOUNS = frozenset({
    "ten", "tens", "hundred", "hundreds", "thousand", "thousands", "dozen", "dozens", "score", "scores",
    "million", "millions", "group", "crowd", "number", "handful", "majority", "some", "many", "most",
})  # fmt: skip
# "the two leaders", "both governments": two parties named earlier. Nouns for people pick persons, the rest
# countries.
_PAIR_WORDS = frozenset({"two", "both"})
_CIVIL_SERVICES = frozenset({"rescue", "emergency", "relief", "medical", "health", "fire", "search", "hospital"})
_QUANTIFIERS = frozenset({"several", "some", "many", "few", "all", "both", "various", "numerous", "other"})
_PAIR_STATE_NOUNS = frozenset({"government", "country", "nation", "delegation", "side", "state", "capital"})
# Organisations that act politically although their names carry none of the words below.
_POLITICAL_ORGS = frozenset({
    "nato", "un", "united nations", "eu", "european union", "african union", "asean", "opec", "iaea", "who",
    "wfp", "unhcr", "unicef", "icc", "icj", "imf", "world bank", "interpol", "red cross", "icrc", "hamas",
    "hezbollah", "taliban", "islamic state", "isis", "isil", "al-qaeda", "al qaeda", "al-shabaab", "boko haram",
    "houthis", "houthi", "wagner", "kremlin", "white house", "pentagon", "politburo", "g7", "g20", "osce",
})  # fmt: skip
_POLITICAL_ORG_WORDS = frozenset({
    "ministry", "ministries", "department", "government", "parliament", "congress", "senate", "assembly",
    "council", "party", "army", "forces", "force", "navy", "police", "guard", "commission", "committee",
    "union", "nations", "agency", "court", "tribunal", "front", "movement", "organisation", "organization",
    "programme", "program", "fund", "office", "chiefs", "staff", "cabinet", "administration", "authority",
    "authorities", "coalition", "alliance", "brigade", "brigades", "militia", "battalion", "regiment",
    "confederation", "federation", "league", "bloc", "junta", "presidency", "embassy", "service", "services",
    "republic", "kingdom", "state", "legislature", "opposition", "rebels", "liberation", "resistance",
    "rights", "watch", "amnesty", "mission", "enforcement", "customs", "immigration", "bureau", "directorate",
    "prosecutor", "prosecutors", "association", "ruler",
})  # fmt: skip


@dataclass
class EntityIndex:
    """The article's entities laid over the tokens of ``doc``."""

    doc: Doc
    by_token: dict[int, Entity] = field(default_factory=dict)
    mention_spans: list[tuple[Span, Entity]] = field(default_factory=list)
    grounded: dict[str, str] = field(default_factory=dict)  # entity name -> country code learned here
    titled: set[str] = field(default_factory=set)  # persons introduced with an office ("Interior Minister X")
    excluded: set[int] = field(default_factory=set)  # tokens that name no actor (the dateline)
    home_country: str | None = None  # country of the dateline: where the story is reported from
    # Where the dateline's story ends: a wire roundup moves on to another country's story under one dateline
    # ("AMMAN, Jordan - ..." then protests in Tbilisi), and the dateline is no default there; each later story
    # has the country of the place it opens with ("In Tbilisi, police ...").
    dateline_story_end: int | None = None
    later_stories: list[tuple[int, str]] = field(default_factory=list)  # (start char, country), in text order
    published_at: datetime | None = None  # the article's date: which office a named actor held

    @classmethod
    def build(cls, doc: Doc, entities: Sequence[Entity], published_at: datetime | None = None) -> EntityIndex:
        index = cls(doc, published_at=published_at)
        for entity in entities:
            for mention in entity.mentions:
                span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
                if span is None or len(span) == 0:
                    continue
                index.mention_spans.append((span, entity))
                for tok in span:
                    index.by_token.setdefault(tok.i, entity)
        index.mention_spans.sort(key=lambda pair: pair[0].start)
        index._note_offices()
        index._ground_all()
        return index

    def _note_offices(self) -> None:
        """Persons the text gives an office: in their own name ("Gloversville Mayor Dayton King") or by
        apposition ("Kristina Baum, a spokesperson for the White House", "The President of the Senate, Dr
        Bukola Saraki"). An office holder acts politically, whether or not the dictionaries know them. So does a
        person the model tagged as an organisation ("US Senator Nicholas Kettle", "Ranil Wickremesinge, the former
        Prime Minister of Sri Lanka")."""
        for span, entity in self.mention_spans:
            if entity.label not in {"PERSON", "ORG"} or entity.name in self.titled:
                continue
            if entity.label == "ORG" and span[-1].lower_ in _INSTITUTION_WORDS:
                continue  # "King Abdullah University": named after an office holder, not one
            root = span.root
            apposed = [c for c in root.children if c.dep_ == "appos"]
            if root.dep_ == "appos":
                apposed.append(root.head)
            offices = [t for t in apposed if t.pos_ in {"NOUN", "PROPN"} and t.lemma_.lower() in ROLE_NOUNS]
            polities = [polity for office in offices if (polity := self._polity_of(office)) is not None]
            if any(t.lemma_.lower() in _PUBLIC_OFFICES for t in [*span, *offices]) or polities:
                self.titled.add(entity.name)
            # "Zabihullah Mujahid, the Taliban spokesman": the holder of a body's office is of its country.
            home = next((polity.country_code for polity in polities if polity.country_code), None)
            if home and not self.country_of(entity):
                self.grounded[entity.name] = home

    def _polity_of(self, office: Token) -> Actor | None:
        """The state or political body an office is of: "a spokesperson for the White House", "Vice President of
        the Italian Chamber of Deputies", "the Taliban spokesman" (a name only the actor dictionary knows); a
        club's or a company's president is of none."""
        for tok in office.subtree:
            entity = self.entity_at(tok)
            actor: Actor | None
            if entity is not None and entity.label in {"GPE", "NORP", "ORG"}:
                actor = self.actor_from_entity(entity)
            elif entity is None and tok.i not in self.excluded:
                actor = self.known_name(tok)
            else:
                continue
            if actor is not None and self.is_political(actor):
                return actor
        return None

    def entity_at(self, tok: Token) -> Entity | None:
        return None if tok.i in self.excluded else self.by_token.get(tok.i)

    def set_dateline(self, tokens: range, country: str | None) -> None:
        """The dateline ("SEOUL —") names where the story is filed, never an actor; its country is the home
        of office holders and domestic agents the text gives no other country."""
        self.excluded.update(tokens)
        self.home_country = country
        if country:
            for span, entity in self.mention_spans:
                if (
                    entity.label == "PERSON"
                    and entity.name in self.titled
                    and not self.country_of(entity)
                    and self.home_at(span.root) == country
                ):
                    self.grounded[entity.name] = country

    def home_at(self, tok: Token) -> str | None:
        """The dateline's country, for a token of the dateline's own story; None past it."""
        if self.dateline_story_end is None or tok.idx < self.dateline_story_end:
            return self.home_country
        return next((code for start, code in reversed(self.later_stories) if start <= tok.idx), None)

    def country_of(self, entity: Entity) -> str | None:
        return entity.country_code or self.grounded.get(entity.name)

    def actor_from_entity(self, entity: Entity) -> Actor:
        code = self.country_of(entity)
        if entity.label == "NORP" and code:
            if _names_a_people(entity.name):
                # "opened its borders to Syrians", "the Israelis said": the people as the text names them, of their
                # country; a stray adjective ("Indonesian") stands for the state.
                return Actor(name=entity.name, country_code=code, label=entity.label)
            return self.state_actor(code) or Actor(name=entity.name, country_code=code, label=entity.label)
        return Actor(name=entity.name, country_code=code, label=entity.label, role=entity.role)

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
            if entity.label == "PERSON" and _has_title(span):
                self.titled.add(entity.name)
            if entity.country_code or entity.name in self.grounded:
                continue
            if entity.label == "NORP":
                code = _country_word(entity.name)  # "Kenyans": a people the resolver left without its country
                if code:
                    self.grounded[entity.name] = code
                continue
            if entity.label not in {"PERSON", "ORG"}:
                continue
            if entity.label == "ORG":
                # "Belarusian Foreign Ministry", "South Korean Joint Chiefs", "The Australian Government": the
                # country word that opens the name.
                words = entity.name.split()
                if words and words[0].lower() == "the":
                    words = words[1:]
                first = words[0] if words else ""
                own = _country_word(first) if first[:1].isupper() else None
                if own:
                    self.grounded[entity.name] = own
                    continue
            code = (
                (_title_country(span) if entity.label == "PERSON" else None)
                or self.country_modifier(span.root, exclude=entity)
                or self._where_clause_country(span.root)
            )
            if code:
                self.grounded[entity.name] = code

    def country_modifier(
        self, tok: Token, exclude: Entity | None = None, depth: int = 0, *, agent: bool = True
    ) -> str | None:
        """Country named by a modifier inside ``tok``'s noun phrase: compound, adjective, possessor,
        apposition, or an ``of`` phrase ("leaders of the US"); for agents also where they are from
        ("lawmakers in the Argentine Congress"). For a thing, only what makes it a country's ("Chinese
        warships"), not whose it is ("Indonesia's offer" belongs to Indonesia but is no actor)."""
        if depth > 3:
            return None
        deps = _MODIFIER_DEPS if agent else _MODIFIER_DEPS - {"poss", "appos"}
        related: list[Token] = [c for c in tok.children if c.dep_ in deps]
        preps = {"of", "in", "from"} if agent else {"of"}
        related += [gc for c in tok.children if c.dep_ == "prep" and c.lower_ in preps
                    for gc in c.children if gc.dep_ == "pobj"]  # fmt: skip
        if tok.dep_ == "appos":
            related.append(tok.head)
        for other in sorted(related, key=lambda r: abs(r.i - tok.i)):
            entity = self.entity_at(other)
            if entity is not None and entity is not exclude and entity.label in {"GPE", "NORP"}:
                code = self.country_of(entity)
                if code:
                    return code
            if entity is None and other.pos_ in {"ADJ", "PROPN"}:
                code = _country_word(other.text)  # a demonym the model did not tag ("Lithuanian")
                if code:
                    return code
            if entity is None or entity is exclude:
                code = self.country_modifier(other, exclude, depth + 1, agent=agent)
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
        if tok.i in self.excluded:
            return None
        entity = self.entity_at(tok)
        if entity is not None and entity.label in ACTOR_LABELS:
            return self.actor_from_entity(entity)
        if tok.pos_ not in {"NOUN", "PROPN", "NUM"}:
            return None
        known = self.known_name(tok) or self._titled_name(tok)
        if known is not None:
            return known
        untagged = _untagged_body(tok)
        if untagged is not None:
            # "The Australian Government", "Nigerian Air Force": the country word in the body's own name.
            return untagged.model_copy(update={"country_code": self.country_modifier(tok, agent=True)})
        lemma = tok.lemma_.lower()
        if lemma in _QUANTITY_NOUNS or tok.like_num:
            of_object = _of_object(tok)
            if of_object is not None:
                return self.actor_at(of_object)
        # "The confederation's president, Patricia Oyarzún": the apposed name is the actor.
        for child in tok.children:
            if child.dep_ == "appos":
                named = self.entity_at(child)
                if named is not None and named.label == "PERSON":
                    return self.actor_from_entity(named)
        if lemma not in AGENT_NOUNS and lemma.endswith("s") and lemma[:-1] in AGENT_NOUNS:
            lemma = lemma[:-1]  # "Rebels" at a sentence start is tagged a proper noun and keeps its plural
        country = self.country_modifier(tok, agent=lemma in AGENT_NOUNS)
        if lemma in ROLE_NOUNS and country and _is_definite(tok) and tok.tag_ in {"NN", "NNP"}:
            person = self.recent_person(tok.idx, country)
            if person is not None:
                return self.actor_from_entity(person)
        body = _of_object(tok)
        body_entity = self.entity_at(body) if body is not None and lemma in AGENT_NOUNS else None
        if body_entity is not None and body_entity.label == "ORG":
            return self.actor_from_entity(body_entity)  # "members of the European Parliament" act for it
        if _states_as_a_group(tok):
            # "The Southeast Asian nations pledged", "nearly 70 countries have agreed": states acting together.
            return Actor(name=phrase_text(tok), country_code=country, label=None, role="GOV")
        if lemma == "side" and _warring(tok):
            return Actor(name=phrase_text(tok), country_code=country or self.home_at(tok), label=None)
        if any(c.dep_ == "compound" and c.lower_ in _CIVIL_SERVICES for c in tok.children):
            return None  # "rescue workers", "emergency crews": help after a disaster is not a political act
        sector = agent_sector(phrase_text(tok)) or agent_sector(lemma)
        if lemma in AGENT_NOUNS or country or sector:
            owner = self._owner_actor(tok)
            if owner is not None:
                # "Hezbollah leaders", "its soldiers", "the party's members": they act for their owner.
                country = country or owner.country_code
                # A group's members are the group's kind (Hezbollah's fighters: REB); a state's soldiers
                # keep their own (MIL).
                sector = owner.role if owner.role not in {None, "GOV"} else sector
            foreign = any(c.dep_ == "amod" and c.text[:1].isupper() for c in tok.children)
            if country is None and lemma in _DOMESTIC_NOUNS and not foreign:
                country = self.home_at(tok)
            return Actor(name=phrase_text(tok), country_code=country, label=None, role=sector)
        return None

    def _owner_actor(self, tok: Token) -> Actor | None:
        """Whose agents these are: a named body in compound ("Hezbollah leaders") or a possessor ("its
        soldiers", "Iraq's army")."""
        for child in tok.children:
            if child.dep_ == "compound" and child.pos_ == "PROPN":
                entity = self.entity_at(child)
                if entity is not None and entity.label in {"ORG", "NORP", "GPE"}:
                    return self.actor_from_entity(entity)
                known = self.known_name(child)
                if known is not None:
                    return known
            if child.dep_ == "poss":
                if child.pos_ == "PRON" and child.lower_ not in {"its", "their"}:
                    continue  # "his soldiers": a person's, whose country the person carries if anything
                owner = self.actor_at(child)
                if owner is not None:
                    return owner
        return None

    def known_name(self, tok: Token) -> Actor | None:
        """A name the model did not tag but the actor dictionary knows ("the Taliban", "Hamas"): the proper
        noun with its compound words."""
        # A capitalised word tagged a common noun may still be a known person's name ("Trump has suspended"
        # opens a sentence as the card-game noun to the tagger); only a person counts then.
        common = tok.pos_ == "NOUN" and tok.text[:1].isupper()
        if tok.pos_ != "PROPN" and not common:
            return None
        words = [c for c in tok.lefts if c.dep_ == "compound" and c.pos_ == "PROPN"] + [tok]
        phrase = tok.doc[words[0].i : tok.i + 1].text
        known = lookup_actor(phrase, self.published_at)
        if known is None and len(words) > 1:
            known = lookup_actor(tok.text, self.published_at)
        if known is None or (known.sector is None and not known.person) or (common and not known.person):
            return None  # a bare country code is the gazetteer's to read
        label = "PERSON" if known.person else "ORG"
        return Actor(name=phrase, country_code=known.country, label=label, role=known.sector)

    def _titled_name(self, tok: Token) -> Actor | None:
        """A name the model did not tag, introduced with an office ("President Atambayev"): a person holding
        it, of the country an adjective gives ("Kyrgyz President X") if any."""
        if tok.pos_ != "PROPN" or tok.ent_type_:
            return None
        compounds = [c for c in tok.lefts if c.dep_ == "compound"]
        if not any(c.lemma_.lower() in ROLE_NOUNS for c in compounds):
            return None
        words = [c for c in compounds if c.pos_ == "PROPN" and c.lemma_.lower() not in ROLE_NOUNS] + [tok]
        name = " ".join(t.text for t in words)
        self.titled.add(name)
        title = next(c for c in compounds if c.lemma_.lower() in ROLE_NOUNS)
        return Actor(name=name, country_code=self.country_modifier(title, agent=True), label="PERSON")

    def pair_at(self, tok: Token) -> list[Actor]:
        """The two parties "the two leaders", "both governments" or "the two" refer back to: the latest two
        persons (or, for governments, delegations, sides, countries) named before ``tok``."""
        words = {c.lower_ for c in tok.children if c.dep_ in {"nummod", "det", "predet"}} | {tok.lower_}
        if not words & _PAIR_WORDS:
            return []
        lemma = tok.lemma_.lower()
        want_states = lemma in _PAIR_STATE_NOUNS
        if not want_states and lemma not in ROLE_NOUNS | {"two", "both", "leader", "minister"}:
            return []
        found: list[Entity] = []
        for span, entity in reversed(self.mention_spans):
            if span.start_char >= tok.idx or span.start in self.excluded:
                continue
            if want_states:
                code = self.country_of(entity)
                if entity.label not in {"GPE", "NORP"} or not code or code in {self.country_of(e) for e in found}:
                    continue
            elif entity.label != "PERSON" or entity in found:
                continue
            found.append(entity)
            if len(found) == 2:
                break
        if len(found) < 2:
            return []
        pair = [self.actor_from_entity(e) for e in reversed(found)]
        if want_states:
            pair = [self.state_actor(a.country_code) or a for a in pair]
        return pair

    def state_actor(self, code: str | None) -> Actor | None:
        """The country itself as an actor."""
        from pipeline.enrich.entities.gazetteer import get_gazetteer

        country = get_gazetteer().countries.get(code) if code else None
        return Actor(name=country.name, country_code=code, label="GPE") if country is not None else None

    def is_country(self, name: str) -> bool:
        from pipeline.enrich.entities.gazetteer import get_gazetteer

        return get_gazetteer().country(name) is not None

    def is_capital(self, name: str) -> bool:
        from pipeline.enrich.entities.gazetteer import get_gazetteer

        return get_gazetteer().capital_country(name) is not None

    def is_political(self, actor: Actor) -> bool:
        """Whether an actor can carry a political event: a country or its capital, a group of people, a
        person with an office or a country, a body of government, an armed group, an IGO. Not a
        town, a building, a storm, a company or a football club."""
        if actor.label is None or actor.label == "NORP" or actor.role is not None:
            return True  # a group of people, a nationality, or an actor the dictionaries know
        if actor.label == "GPE":
            return self.is_country(actor.name) or self.is_capital(actor.name)
        if actor.label == "PERSON":
            return bool(actor.country_code) or actor.name in self.titled
        if actor.label == "ORG":
            if actor.name in self.titled:
                return True  # an office holder the model took for an organisation
            name = actor.name.casefold()
            words = set(name.replace("-", " ").split())
            acronym = actor.name.isupper() and 2 <= len(actor.name) <= 6
            return acronym or name in _POLITICAL_ORGS or bool(words & _POLITICAL_ORG_WORDS)
        return False

    def recent_person(self, before_char: int, country: str | None = None, skip: Entity | None = None) -> Entity | None:
        best: Entity | None = None
        for span, entity in self.mention_spans:
            if span.start_char >= before_char:
                break
            if (
                entity.label == "PERSON"
                and entity is not skip
                and (country is None or self.country_of(entity) == country)
            ):
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
        # "Iran's Supreme Leader rejected the offer and he also accused ...", "the factions agreed to disarm but
        # linked their disarmament to ...": in a clause coordinated with another, the pronoun is that clause's
        # subject, not the nearest name.
        shared = _coordinated_subject(tok)
        if shared is not None and shared.pos_ != "PRON":
            actor = self.actor_at(shared)
            if actor is not None and _pronoun_fits(lower, actor, shared):
                return actor
        if lower in _PERSON_PRONOUNS:
            # "Mwangi welcomed him": an object pronoun is not its own clause's subject.
            subject = next((c for c in tok.head.children if c.dep_ == "nsubj"), None) if tok.dep_ != "nsubj" else None
            subject_entity = (
                self.entity_at(subject) if subject is not None and lower not in {"himself", "herself"} else None
            )
            person = self.recent_person(tok.idx, skip=subject_entity)
            return self.actor_from_entity(person) if person is not None else None
        if lower in _GROUP_PRONOUNS:
            best: Entity | None = None
            best_span: Span | None = None
            for span, entity in self.mention_spans:
                if span.start_char >= tok.idx:
                    break
                if entity.label in {"GPE", "ORG", "NORP"} and span.root.dep_ not in {"compound", "amod", "poss"}:
                    best, best_span = entity, span
            if (
                best_span is not None
                and lower in _PLURAL_PRONOUNS
                and tok.dep_ in {"nsubj", "nsubjpass", "dobj", "pobj"}  # not "their striker"
                and self._plural_noun_between(best_span, tok)
            ):
                # "sanctions on eleven officials ... they are banned": "they" is the officials, a group the
                # entities do not name, not the body named before them; better no actor than the wrong one.
                return None
            return self.actor_from_entity(best) if best is not None else None
        return None

    def _plural_noun_between(self, span: Span, pronoun: Token) -> bool:
        """A plural common noun outside any entity between ``span`` and ``pronoun`` ("officials", "judges")."""
        doc = pronoun.doc
        return any(
            doc[i].tag_ == "NNS" and doc[i].i not in self.by_token and doc[i].dep_ not in {"compound", "poss"}
            for i in range(span.end, pronoun.i)
        )


def _coordinated_subject(pronoun: Token) -> Token | None:
    """The subject of the first of two coordinated clauses, when ``pronoun`` is the second one's subject or
    stands in it while the second has no subject of its own."""
    verb = pronoun
    for _ in range(4):
        if verb.pos_ in {"VERB", "AUX"} or verb.head.i == verb.i:
            break
        verb = verb.head
    if verb.pos_ not in {"VERB", "AUX"} or verb.dep_ != "conj":
        return None
    own = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    if own is not None and own.i != pronoun.i:
        return None
    return next((c for c in conj_root(verb).children if c.dep_ in {"nsubj", "nsubjpass"}), None)


def _pronoun_fits(pronoun: str, actor: Actor, subject: Token) -> bool:
    """Whether a pronoun can stand for the actor a subject names: "he" for a person or an office holder, "they"
    for a plural or a body, "it" for a single body or state."""
    plural = subject.tag_ in {"NNS", "NNPS"} or any(c.dep_ == "conj" for c in subject.children)
    if pronoun in _PERSON_PRONOUNS:
        return actor.label == "PERSON" or (actor.label is None and subject.lemma_.lower() in ROLE_NOUNS and not plural)
    if pronoun in _PLURAL_PRONOUNS:
        return plural or actor.label in {"ORG", "NORP"}
    return not plural and actor.label != "PERSON"


def _warring(tok: Token) -> bool:
    """ "both sides in the conflict", "the warring sides": parties to a conflict, not a football team."""
    if any(c.lower_ in {"warring", "opposing", "rival"} for c in tok.children):
        return True
    # "both sides in the conflict" (the phrase may hang on the noun or on its verb)
    phrases = [_of_object(tok)] + [
        gc
        for node in (tok, tok.head)
        for c in node.children
        if c.dep_ == "prep" and c.lower_ == "in"
        for gc in c.children
        if gc.dep_ == "pobj"
    ]
    return any(p is not None and p.lemma_.lower() in {"conflict", "war", "fighting", "dispute"} for p in phrases)


def _country_word(text: str) -> str | None:
    from pipeline.enrich.entities.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    # "Philippine" is the adjective of "the Philippines"
    country = gazetteer.demonym(text) or gazetteer.country(text) or gazetteer.country(f"{text}s")
    return country.iso3 if country is not None else None


# Words of an office between a country word and a name: "British Defence Secretary Tom King", "US Secretary
# of State Antony Blinken", "Norway's foreign minister".
_TITLE_WORDS = frozenset({
    "foreign", "defence", "defense", "interior", "trade", "finance", "labour", "labor", "prime", "deputy",
    "acting", "former", "chief", "state", "public", "works", "home", "economy", "justice", "health", "energy",
    "cabinet", "general", "vice", "head", "of", "'s", "’s", "affairs", "security", "national", "army",
})  # fmt: skip


def _title_country(span: Span) -> str | None:
    """Country of the office a person is introduced with, read leftwards over the title words."""
    doc = span.doc
    i = span.start - 1
    saw_title = False
    while i >= 0 and span.start - i <= 7:
        tok = doc[i]
        lower = tok.lower_
        if lower in _TITLE_WORDS or tok.lemma_.lower() in ROLE_NOUNS:
            saw_title = saw_title or tok.lemma_.lower() in ROLE_NOUNS
            i -= 1
            continue
        if saw_title and not tok.is_punct:
            return _country_word(tok.text) or _country_word(doc[max(0, i - 1) : i + 1].text)
        return None
    return None


_STATE_NOUNS = frozenset({"nation", "country", "state", "government"})
# Last words of an organisation named after a person or an office: never an office holder themselves.
_INSTITUTION_WORDS = frozenset({
    "university", "college", "school", "institute", "foundation", "hospital", "centre", "center", "airport",
    "stadium", "company", "bank", "museum", "library", "mosque", "port", "bridge", "hall", "prize", "award",
})  # fmt: skip
# Capitalised only at a sentence's start: "Many countries", "Other nations" say how many, not which.
_QUANTIFIERS = frozenset({"many", "several", "some", "most", "few", "other", "various", "numerous", "all", "both"})


def _states_as_a_group(tok: Token) -> bool:
    """A plural of states that says which ("Arab states", "Southeast Asian nations", "70 countries"): the bare
    word is too loose ("the country's economy", "nations around the world")."""
    if tok.lemma_.lower() not in _STATE_NOUNS or tok.tag_ != "NNS":
        return False
    return any(
        (c.dep_ in {"amod", "compound"} and c.text[:1].isupper() and c.lower_ not in _QUANTIFIERS)
        or (c.dep_ == "nummod" and c.like_num)
        for c in tok.children
    )


def _of_object(tok: Token) -> Token | None:
    of_phrase = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    return next((c for c in of_phrase.children if c.dep_ == "pobj"), None) if of_phrase is not None else None


def _names_a_people(name: str) -> bool:
    """A nationality in the plural ("Syrians", "Afghans"), not an adjective ("Japanese", "Swiss")."""
    last = name.split()[-1] if name else ""
    return last.endswith("s") and not last.endswith("ss") and last[:1].isupper()


def _untagged_body(tok: Token) -> Actor | None:
    """A capitalised name the model did not tag whose last word says it is a body of state ("Immigration and
    Customs Enforcement", "Border Security Directorate")."""
    if tok.pos_ != "PROPN" or tok.ent_type_ or tok.lower_ not in _POLITICAL_ORG_WORDS:
        return None
    words: list[Token] = []
    for t in reversed(tok.doc[tok.left_edge.i : tok.i + 1]):
        if not (t.is_title or (words and (t.pos_ == "CCONJ" or t.text == "&"))):
            break  # the capitalised run that ends in the body's word
        words.insert(0, t)
    while words and not words[0].is_title:
        words.pop(0)
    if len(words) < 2:
        return None
    return Actor(name=" ".join(t.text for t in words), country_code=None, label="ORG")


def _has_title(span: Span) -> bool:
    """A person named with an office: "Interior Minister Camila Fuentes", "President Yoon", "the
    confederation's president, Patricia Oyarzún"."""
    doc = span.doc
    before = [t for t in doc[max(0, span.start - 4) : span.start] if not t.is_punct]
    if any(t.lemma_.lower() in ROLE_NOUNS for t in before[-3:]):
        return True
    root = span.root
    return root.dep_ == "appos" and root.head.lemma_.lower() in ROLE_NOUNS


def _speaker_subject(tok: Token) -> Token | None:
    """Subject of the reporting verb whose complement clause contains ``tok``."""
    clause = tok.head
    while clause.dep_ not in {"ccomp", "ROOT"} and clause.head.i != clause.i:
        clause = clause.head
    if clause.dep_ != "ccomp":
        return None
    speaker = clause.head
    while not any(c.dep_ == "nsubj" for c in speaker.children) and speaker.dep_ == "conj":
        speaker = speaker.head  # "accused the EU ... and said it would"
    return next((c for c in speaker.children if c.dep_ == "nsubj"), None)


def _is_definite(tok: Token) -> bool:
    return any(c.dep_ == "det" and c.lower_ in {"the", "this", "that"} for c in tok.children)


def conj_root(tok: Token) -> Token:
    """The first of the coordinated words ``tok`` is one of ("A and B": A), or ``tok`` itself."""
    while tok.dep_ == "conj" and tok.head.i != tok.i:
        tok = tok.head
    return tok


def phrase_text(tok: Token) -> str:
    """Surface text of a nominal actor: the head with its pre-modifiers and an "of" complement ("leaders
    of the US"), without determiners or punctuation."""
    left = [c for c in tok.lefts if c.dep_ in {"compound", "amod", "nmod", "poss"}]
    start = min((t.left_edge.i for t in left), default=tok.i)
    end = tok.i + 1
    of_phrase = next((c for c in tok.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
    if of_phrase is not None and not any(t.dep_ == "cc" for t in tok.doc[tok.i : of_phrase.i]):
        pobj = next((c for c in of_phrase.children if c.dep_ == "pobj"), None)
        # "leaders of the US", not "the military of mass slaughter": only a named body or place completes it.
        if pobj is not None and (pobj.pos_ == "PROPN" or pobj.ent_type_):
            end = pobj.i + 1
    words = [
        t.text
        for t in tok.doc[start:end]
        if t.dep_ not in {"det", "cc", "nummod"} and not t.is_punct and t.tag_ != "POS" and t.lower_ not in _QUANTIFIERS
    ]
    return " ".join(words)
