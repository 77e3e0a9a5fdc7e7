"""Canonical entities of one parsed article, from spaCy's entity spans.

spaCy labels each span on its own; an article names the same person, organisation or country many times and
the small model does not label them consistently ("Blinken" GPE in one sentence, PERSON in the next). This
module reads the spans as mentions of a smaller set of entities:

1. Spans are cleaned (a leading "the" or title, a trailing possessive, punctuation or descriptor dropped; a
   name cut short at a hyphen or a particle re-joined: "Moon Jae-in", "Anne-Gaelle Sidot", "Ursula von der
   Leyen"); junk spans are
   dropped; untagged repetitions of names already used are added.
2. Countries are recognised by name, code, short form or demonym, and cities, US states and continents by name
   (``pipeline.enrich.entities.gazetteer``); the countries named give context for choosing among same-named cities.
3. A short name links to the longest full person name it ends ("Blinken", "Antony Blinken"), or begins when
   it was read as a person's or can be a family name written first ("Kim" of "Kim Yo Jong"), unless it names
   a country or the article uses it as a place ("in Chechnya"); a name ending in a company's legal form is an
   organisation ("Pirelli SpA"); then every mention of one surface form joins the entity another mention of
   that form was resolved to (one sense per discourse); organisation names written two ways are joined
   ("IAEA", "Apple Inc." / "Apple").
4. Each entity's type is decided across its mentions: a linked person is PERSON, a country GPE, otherwise the
   majority of spaCy's labels, place labels pooled (a title such as "President" before a name counts as a vote
   for PERSON).

Everything is dictionary lookups over the mentions of one document; there is no second model pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc, Span, Token

from pipeline.enrich.entities.gazetteer import Country, Gazetteer, Place, get_gazetteer, is_code, normalize
from pipeline.records import Entity, Mention

# What the pipeline publishes as entities: named actors and places. Dates, numbers, quantities, works of art
# and the like are not entities of the article (the event coder reads dates from the parse itself).
OUTPUT_LABELS = frozenset({"PERSON", "NORP", "ORG", "GPE", "LOC", "FAC"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Looked up among cities, states and continents. Not FAC: a building or airport is not the city it is in, and
# some are namesakes of one ("White House" is also a name of Casablanca).
GAZETTEER_PLACE_LABELS = frozenset({"GPE", "LOC"})
# Spans with these labels may be a country written by name or code ("Russia" ORG, "US" GPE, "Japanese" NORP).
COUNTRY_LABELS = frozenset({"GPE", "LOC", "NORP", "ORG"})

# Words that, written right before a name, say the name is a person's. Lower case, without a final period.
# fmt: off
PERSON_TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady",
    "president", "president-elect", "vice-president", "premier", "chancellor", "minister", "secretary",
    "senator", "sen", "rep", "representative", "congressman", "congresswoman", "governor", "gov", "mayor",
    "ambassador", "envoy", "spokesman", "spokeswoman", "chairman", "chairwoman", "leader",
    "king", "queen", "prince", "princess", "emperor", "pope", "sheikh", "emir", "ayatollah",
    "general", "gen", "admiral", "colonel", "col", "lt", "captain", "capt", "sergeant", "sgt",
    "judge", "justice", "coach",
})
# fmt: on
# Titles that are also everyday words ("will miss England", "general strike", "judge Italy by"): a title only when
# capitalised.
CAPITALISED_ONLY_TITLES = frozenset({"miss", "general", "judge", "justice", "lady", "lord", "dame"})

# Office words whose "of" complement is a portfolio, not an organisation: "Secretary of State", "Minister of
# Finance", "Department of Energy". A lone capitalised word there is the tail of a title phrase.
PORTFOLIO_OFFICES = frozenset(
    {"secretary", "undersecretary", "minister", "ministry", "department", "head", "chief", "chancellor"}
)

LOCATIVE_PREPOSITIONS = frozenset(
    {"in", "to", "from", "at", "near", "into", "toward", "towards", "outside", "inside", "across", "around"}
)
PROMINENT_CITY_POPULATION = 1_000_000

POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
# Words joining the capitalised words of a name; they don't contribute a letter to its acronym.
ACRONYM_SKIP = frozenset({"of", "the", "and", "for", "on", "in", "&", "de", "du", "des", "la", "le"})
# fmt: off
# Lower-case particles inside personal names: "von der Leyen", "de Gaulle", "bin Salman", "da Silva".
NAME_PARTICLES = frozenset({
    "von", "van", "der", "den", "de", "da", "di", "del", "della", "dos", "das", "du", "la", "le",
    "bin", "ibn", "ben", "al", "zu", "ter",
})
# Company legal forms, as normalised (lower case, no dots): "Apple Inc." is "Apple".
LEGAL_FORMS = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "ltd", "limited", "llc", "plc",
    "ag", "sa", "se", "nv", "bv", "gmbh", "spa", "ab", "asa", "oyj", "holdings", "group",
})
# fmt: on
# Nouns that, after a name and a possessive, make the name a person's: "Biden's administration" is the
# administration of the person Biden, not an organisation called "Biden".
# fmt: off
PERSONAL_BODIES = frozenset({
    "administration", "government", "cabinet", "presidency", "premiership", "chancellorship", "campaign",
    "aides", "aide", "spokesman", "spokeswoman", "spokesperson", "lawyer", "lawyers", "attorney", "attorneys",
    "adviser", "advisers", "advisor", "advisors", "wife", "husband", "son", "daughter", "family", "tenure",
    "regime", "successor", "predecessor",
})
# fmt: on
HYPHENS = frozenset({"-", "‐"})
# Letters of a lower-case particle inside a hyphenated name ("Ata-ur-Rehman", "Inzamam-ul-Haq").
MAX_HYPHEN_PARTICLE = 3
# Letters of a family name that may be written before the given name (one romanised syllable: "Kim", "Xi").
MAX_FAMILY_NAME_FIRST = 4
# On a tie between spaCy's labels, the more specific reading wins.
LABEL_PRIORITY = ("PERSON", "ORG", "GPE", "LOC", "FAC", "NORP")


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    text: str
    label: str  # spaCy's label for this span
    words: tuple[str, ...]  # casefolded words, for matching names against each other
    key: str  # normalised surface form
    person_cue: bool  # a person's title stands right before it
    locative: bool  # the object of a place preposition ("in Kyiv", "flew to Kyiv")
    vote: str = ""  # the label this mention votes for when linking has overruled spaCy's
    country: Country | None = None
    demonym: bool = False  # written as a demonym ("South Korean"): a NORP of its country, not a place
    owner_country: Country | None = None  # for an organisation: the country it belongs to
    place: Place | None = None


@dataclass(slots=True)
class _Group:
    kind: str  # "person", "country", "demonym", "place" or "name"
    mentions: list[_Mention] = field(default_factory=list)
    country: Country | None = None
    place: Place | None = None
    full_name: str | None = None


def resolve_entities(doc: Doc) -> list[Entity]:
    """The canonical entities of a parsed article, in order of first mention; offsets index ``doc.text``."""
    gazetteer = get_gazetteer()
    spans = _join_hyphenated_names(doc, _join_name_particles(doc, list(doc.ents)), gazetteer)
    mentions = [m for span in spans if (m := _mention(doc, span, gazetteer)) is not None]
    mentions += [m for span in _repeated_names(doc, mentions) if (m := _mention(doc, span, gazetteer)) is not None]
    mentions.sort(key=lambda m: m.start)
    context = {m.country.iso3 for m in mentions if m.country}
    for m in mentions:
        if m.country is None and (m.label in GAZETTEER_PLACE_LABELS or (m.label == "PERSON" and not m.person_cue)):
            m.place = gazetteer.place(m.text, context)
            if m.place is not None and m.label == "PERSON" and not _reads_as_place(m, m.place):
                m.place = None

    groups: dict[tuple[str, str], _Group] = {}
    full_names = _person_full_names(mentions)
    read_as_place = _surfaces_read_as_places(mentions)
    for m in mentions:
        key = _group_key(m, full_names, read_as_place)
        group = groups.setdefault(key, _Group(kind=key[0]))
        group.mentions.append(m)
        if key[0] == "person":
            group.full_name = full_names[key[1]].display
        group.country = group.country or m.country
        group.place = group.place or (m.place if key[0] == "place" else None)

    _merge_same_surface(groups)
    _merge_acronyms_and_short_forms(groups)
    entities = [_entity(group) for group in groups.values() if group.mentions]
    return sorted(entities, key=lambda e: e.mentions[0].start)


# Mentions -------------------------------------------------------------------------------------------------------


def _mention(doc: Doc, span: Span, gazetteer: Gazetteer) -> _Mention | None:
    if span.label_ not in OUTPUT_LABELS:
        return None
    bounds = _clean_bounds(doc, span)
    if bounds is None:
        return None
    first, last = bounds
    start = doc[first].idx
    end = doc[last - 1].idx + len(doc[last - 1].text)
    text = doc[first:last].text  # == doc.text[start:end]; Doc.text re-joins the whole document per call
    if not any(ch.isupper() for ch in text):
        return None  # names are capitalised; a lower-case span is a tagging slip ("the president")
    if last - first == 1 and not text.isupper() and text.casefold() in STOP_WORDS:
        return None  # "It", "The" tagged as a name; "US" and "IT" written in capitals are abbreviations
    key = normalize(text)
    label = span.label_
    if label == "PERSON" and _ends_in_legal_form(doc, first, last):
        label = "ORG"  # "Pirelli SpA", "Johnson Controls Inc": a company named after a person
    mention = _Mention(
        start=start,
        end=end,
        text=text,
        label=label,
        words=tuple(key.split()),
        key=key,
        person_cue=first > 0 and _is_person_title(doc[first - 1]),
        locative=_is_locative(doc, first, last),
    )
    if label in {"ORG", "GPE"} and _possessive_of_a_person(doc, first, last):
        mention.person_cue, mention.vote = True, "PERSON"
    if label in COUNTRY_LABELS or (label == "PERSON" and not mention.person_cue):
        mention.country = _country(mention, gazetteer, doc.lang_)
        mention.demonym = mention.country is not None and _is_demonym(gazetteer, text)
    if label == "ORG" and mention.country is None:
        mention.owner_country = _owner_country(doc, first, last, gazetteer)
    if last - first == 1 and mention.country is None and _in_portfolio_title(doc, first, gazetteer):
        return None
    return mention


def _ends_in_legal_form(doc: Doc, first: int, last: int) -> bool:
    final = doc[last - 1]
    return last - first > 1 and not final.is_lower and final.lower_.replace(".", "") in LEGAL_FORMS


def _is_person_title(token: Token) -> bool:
    word = token.lower_.rstrip(".")
    return word in PERSON_TITLES and (word not in CAPITALISED_ONLY_TITLES or not token.is_lower)


def _join_name_particles(doc: Doc, spans: list[Span]) -> list[Span]:
    """Person names with lower-case particles that NER cut short: "Ursula von der" PERSON + "Leyen" GPE is
    "Ursula von der Leyen". A PERSON span ending in particles, or followed by them, is extended over them and the
    capitalised word after them (absorbing a span that is just that word)."""
    joined: list[Span] = []
    skip_until = -1
    for span in spans:
        if span.start < skip_until:
            continue
        end = span.end
        while end > span.start and doc[end - 1].lower_ in NAME_PARTICLES:
            end -= 1
        particles_end = end
        while particles_end < len(doc) and particles_end - end < 3 and doc[particles_end].lower_ in NAME_PARTICLES:
            particles_end += 1
        if (
            span.label_ == "PERSON"
            and span.start < end < particles_end
            and particles_end < len(doc)
            and doc[particles_end].is_title
            and doc[particles_end].is_alpha
            and all(doc[i].whitespace_ for i in range(end - 1, particles_end))
        ):
            absorbed = doc[particles_end].ent_iob_ == "B" and (
                particles_end + 1 == len(doc) or doc[particles_end + 1].ent_iob_ != "I"
            )
            if absorbed or not doc[particles_end].ent_type_:
                joined.append(Span(doc, span.start, particles_end + 1, label="PERSON"))
                skip_until = particles_end + 1
                continue
        joined.append(span)
    return joined


def _join_hyphenated_names(doc: Doc, spans: list[Span], gazetteer: Gazetteer) -> list[Span]:
    """Names the tokenizer split at a hyphen and NER cut there: "Anne" + "-" + "Gaelle Sidot", "Lucy Tyler" +
    "-Sharman", "Ata-ur-" + "Rehman", "Mercedes-" + "Benz". A span is extended over the capitalised pieces glued
    to it by hyphens (and a short lower-case particle between two of them, "-ur-"), absorbing a span of the
    same label there; not over a span of another label, and two countries stay two ("Iran-Iraq")."""
    joined: list[Span] = []
    absorbed: set[int] = set()
    for index, span in enumerate(spans):
        if index in absorbed:
            continue
        start, end = _hyphenated_bounds(doc, span.start, span.end)
        if span.label_ not in OUTPUT_LABELS - {"NORP"} or (start, end) == (span.start, span.end):
            joined.append(span)
            continue
        others = [j for j, other in enumerate(spans) if j != index and other.start < end and start < other.end]
        if any(
            spans[j].label_ != span.label_ or (gazetteer.country(span.text) and gazetteer.country(spans[j].text))
            for j in others
        ):
            joined.append(span)
            continue
        absorbed.update(others)
        start = min([start, *(spans[j].start for j in others)])
        end = max([end, *(spans[j].end for j in others)])
        joined = [kept for kept in joined if not (kept.start < end and start < kept.end)]
        joined.append(Span(doc, start, end, label=span.label_))
    return sorted(joined, key=lambda span: span.start)


def _hyphenated_bounds(doc: Doc, start: int, end: int) -> tuple[int, int]:
    def glued(i: int) -> bool:  # doc[i] "-" doc[i + 2], written without spaces
        return (
            i >= 0
            and i + 2 < len(doc)
            and doc[i + 1].text in HYPHENS
            and not doc[i].whitespace_
            and not doc[i + 1].whitespace_
        )

    def capitalised(token: Token) -> bool:
        return token.is_alpha and token.text[0].isupper()

    def particle(token: Token) -> bool:
        return token.is_alpha and token.is_lower and len(token.text) <= MAX_HYPHEN_PARTICLE

    while True:
        if glued(start - 2) and capitalised(doc[start - 2]):
            start -= 2
        elif glued(start - 2) and particle(doc[start - 2]) and glued(start - 4) and capitalised(doc[start - 4]):
            start -= 4
        else:
            break
    while True:
        if glued(end - 1) and capitalised(doc[end + 1]):
            end += 2
        elif glued(end - 1) and particle(doc[end + 1]) and glued(end + 1) and capitalised(doc[end + 3]):
            end += 4
        else:
            break
    return start, end


def _repeated_names(doc: Doc, mentions: list[_Mention]) -> list[Span]:
    """Untagged repetitions of names the article has already used: the small model often tags a name once and
    misses it the next time ("Alexander Lebed ... Lebed said"). A repetition must be a whole run of proper-noun
    tokens outside any entity, written exactly as before (so "May" the month, tagged DATE or not a proper noun,
    is not "May" the person). A person's surname counts as used once the full name has been."""
    labels: dict[tuple[str, ...], str] = {}
    for m in mentions:
        words = tuple(t.text for t in doc.char_span(m.start, m.end) or ())
        if not words:
            continue
        labels.setdefault(words, m.label)
        if m.label == "PERSON" and len(words) > 1:
            labels.setdefault(words[-1:], "PERSON")
    if not labels:
        return []
    longest = max(len(words) for words in labels)
    free = [_free_proper_noun(token) for token in doc]  # once per token, not once per look at it
    found: list[Span] = []
    i = 0
    while i < len(doc):
        if not free[i] or (i > 0 and free[i - 1]):
            i += 1
            continue
        end = i
        while end < len(doc) and end - i < longest + 1 and free[end]:
            end += 1
        label = labels.get(tuple(t.text for t in doc[i:end]))
        if label is not None and (end == len(doc) or not free[end]):
            found.append(Span(doc, i, end, label=label))
        i = end
    return found + _repeated_in_capitals(
        doc, labels, longest, {t for span in found for t in range(span.start, span.end)}
    )


def _repeated_in_capitals(doc: Doc, labels: dict[tuple[str, ...], str], longest: int, taken: set[int]) -> list[Span]:
    """People the article names, repeated in a headline written in capitals ("SHEARER NAMED AS ENGLAND
    CAPTAIN"), where the tagger's parts of speech say little: the longest run of free capitalised words equal to
    a person's name or surname but for case, not a lone stop word ("MAY"). Only people: capitalised place and
    organisation names in headlines are as often part of an event's name ("BERLIN GRAND PRIX")."""
    by_words = {tuple(w.casefold() for w in words) for words, label in labels.items() if label == "PERSON"}

    free = [
        token.i not in taken and token.is_upper and token.is_alpha and len(token) > 1 and not token.ent_type_
        for token in doc
    ]
    found: list[Span] = []
    i = 0
    while i < len(doc):
        match = None
        if free[i]:
            for end in range(min(len(doc), i + longest), i, -1):
                words = tuple(t.lower_ for t in doc[i:end])
                if all(free[i:end]) and words in by_words:
                    if end - i > 1 or words[0] not in STOP_WORDS:
                        match = Span(doc, i, end, label="PERSON")
                    break
        if match is None:
            i += 1
            continue
        found.append(match)
        i = match.end
    return found


def _free_proper_noun(token: Token) -> bool:
    return token.pos_ == "PROPN" and not token.ent_type_


def _clean_bounds(doc: Doc, span: Span) -> tuple[int, int] | None:
    """Token range of the name in a span: without a leading article or title, trailing possessive or
    punctuation, cut at a line break, and with a split hyphenated given name ("Moon Jae" + "-in") re-joined."""
    first, last = span.start, span.end
    for i in range(first, last):
        if doc[i].is_space or "\n" in doc[i].text:
            last = i
            break
    while first < last and (
        doc[first].is_punct
        or doc[first].lower_ == "the"
        or (span.label_ == "PERSON" and last - first > 1 and _is_person_title(doc[first]))
    ):
        first += 1
    while last > first and (
        doc[last - 1].is_punct
        or doc[last - 1].lower_ in POSSESSIVES
        or _trailing_descriptor(doc, first, last, span.label_)
    ):
        last -= 1
    if first >= last:
        return None
    if span.label_ == "PERSON":
        last = _rejoin_hyphenated_given_name(doc, first, last)
    return first, last


def _trailing_descriptor(doc: Doc, first: int, last: int, label: str) -> bool:
    """A final token that is not part of the name: a lower-case word ("Interfax news agency") or, except for
    organisations and facilities ("Channel 4", "Terminal 5"), a number or score ("Somerset 4", "Watkin 4-28").
    A lower-case piece glued to the previous token ("Jae-in", "al-Aqsa") is part of the name."""
    token = doc[last - 1]
    if last - first < 2 or not doc[last - 2].whitespace_ or doc.lang_ != "en":
        return False  # in French a lower-case word ending a name is part of it ("Union européenne")
    if token.is_lower and token.is_alpha:
        return True
    return label not in {"ORG", "FAC"} and not any(ch.isalpha() for ch in token.text)


def _rejoin_hyphenated_given_name(doc: Doc, first: int, last: int) -> int:
    """Romanised Korean, Chinese and Vietnamese given names are two syllables joined by a hyphen ("Jae-in",
    "Ki-moon"); the tokenizer splits them and NER sometimes stops before the second syllable when it is also an
    English word ("in"). Extend over "-" + a short lower-case syllable written without spaces, unless that
    syllable is a participle making a compound modifier ("Biden-led")."""
    if last - first < 2 or last + 1 >= len(doc):
        return last
    before, hyphen, syllable = doc[last - 1], doc[last], doc[last + 1]
    if (
        before.is_title
        and len(before.text) <= 4
        and not before.whitespace_
        and hyphen.text in {"-", "‐"}
        and not hyphen.whitespace_
        and syllable.is_alpha
        and syllable.is_lower
        and len(syllable.text) <= 4
        and syllable.tag_ not in {"VBN", "VBD", "VBG"}
        and not syllable.ent_type_
    ):
        return last + 2
    return last


def _in_portfolio_title(doc: Doc, index: int, gazetteer: Gazetteer) -> bool:
    """True for the capitalised tail of an office title: "State" in "Secretary of State", "Finance" in
    "Minister of Finance". Acronyms ("Secretary-General of NATO") and places are never such a tail."""
    token = doc[index]
    if not token.is_title or gazetteer.places(token.text):
        return False
    j = index - 1
    if j >= 0 and doc[j].lower_ == "the":
        j -= 1
    if j < 1 or doc[j].lower_ != "of":
        return False
    office = doc[j - 1]
    return office.is_title and office.lower_.split("-")[-1] in PORTFOLIO_OFFICES


def _is_locative(doc: Doc, first: int, last: int) -> bool:
    # The name's syntactic head is its token attached outside it. (Span.root would do, but it re-checks the
    # whole document's parse annotation on every call.)
    for token in doc[first:last]:
        if not first <= token.head.i < last or token.head.i == token.i:
            # "in Odesa and Zaporizhzhia": a conjunct shares its first conjunct's preposition
            while token.dep_ == "conj" and token.head.i != token.i:
                token = token.head
            return token.dep_ == "pobj" and token.head.lower_ in LOCATIVE_PREPOSITIONS
    return False


def _reads_as_place(m: _Mention, place: Place) -> bool:
    """Whether a span spaCy called PERSON is better read as the place of that name: the small model calls
    less familiar cities people ("shelled Kharkiv"). Surnames are often town names too ("Austin", "Jackson"),
    so only a prominent city, or one written as the object of a place preposition, is taken."""
    return m.locative or place.is_capital or place.population >= PROMINENT_CITY_POPULATION


def _country(mention: _Mention, gazetteer: Gazetteer, language: str) -> Country | None:
    if mention.label == "NORP":
        return gazetteer.demonym(mention.text) or gazetteer.country(mention.text, language)
    if mention.label in {"ORG", "PERSON"} and is_code(mention.text):
        return None  # initials can spell a country code ("NLD", "CAN")
    country = gazetteer.country(mention.text, language)
    if country is None and mention.label == "GPE":
        country = gazetteer.demonym(mention.text)
    return country


def _is_demonym(gazetteer: Gazetteer, text: str) -> bool:
    return gazetteer.demonym(text) is not None and gazetteer.country(text) is None


def _possessive_of_a_person(doc: Doc, first: int, last: int) -> bool:
    """A name written "Biden's administration": possessive, then a body or office a person has. Not after
    "the" ("the Taliban's government") and not an acronym ("NATO's spokesman"): those are organisations."""
    if last + 1 >= len(doc) or doc[last].lower_ not in POSSESSIVES:
        return False
    if (first > 0 and doc[first - 1].lower_ == "the") or not all(t.is_title for t in doc[first:last] if t.is_alpha):
        return False
    return doc[last + 1].lower_ in PERSONAL_BODIES


def _owner_country(doc: Doc, first: int, last: int, gazetteer: Gazetteer) -> Country | None:
    """The country an organisation belongs to, where the text says it: a country or demonym leading its name
    ("Russian Defence Ministry", "US Army"), "of <country>" ending it ("Bank of Japan"), the country's possessive
    or demonym right before it ("South Korea's Joint Chiefs of Staff", "the Iranian Revolutionary Guards"), or
    else an institution standing for its country ("the Kremlin", "the Pentagon")."""
    words = [t.text for t in doc[first:last]]
    for n in range(min(3, len(words) - 1), 0, -1):
        lead = " ".join(words[:n])
        found = gazetteer.country(lead) or gazetteer.demonym(lead)
        if found is not None:
            return found
    if len(words) >= 3 and "of" in words[:-1]:
        tail = " ".join(words[len(words) - words[::-1].index("of") :])
        found = gazetteer.country(tail)
        if found is not None:
            return found
    end = first - 1 if first > 0 and doc[first - 1].lower_ in POSSESSIVES else first
    for n in (3, 2, 1):
        if end - n < 0:
            continue
        before = doc[end - n : end]
        if not all(t.is_title or t.is_upper for t in before):
            continue
        found = gazetteer.country(before.text) if end < first else None
        found = found or gazetteer.demonym(before.text)
        if found is not None:
            return found
    return gazetteer.institution_country(doc[first:last].text)


# Grouping -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _FullName:
    display: str  # as first written
    starts: list[int]  # where the article writes it


def _person_full_names(mentions: Iterable[_Mention]) -> dict[str, _FullName]:
    """Multi-word person names (spaCy's PERSON spans and names after a title such as "Chancellor"), keyed by
    their normalised form."""
    names: dict[str, _FullName] = {}
    for m in mentions:
        if (m.label == "PERSON" or m.person_cue) and len(m.words) > 1 and m.country is None:
            names.setdefault(m.key, _FullName(m.text, [])).starts.append(m.start)
    return names


def _surfaces_read_as_places(mentions: Iterable[_Mention]) -> set[str]:
    """Surface forms the article uses as places and never as a person's name: labelled a place, at least once
    after a place preposition ("peace in Chechnya"), and never PERSON or after a title. Such a form is not linked
    to a person's full name that merely ends with it (a headline's "Lebed Chechnya")."""
    place_like: set[str] = set()
    person_like: set[str] = set()
    for m in mentions:
        if m.label == "PERSON" or m.person_cue:
            person_like.add(m.key)
        elif m.locative and m.label in GAZETTEER_PLACE_LABELS:
            place_like.add(m.key)
    return place_like - person_like


def _group_key(m: _Mention, full_names: dict[str, _FullName], read_as_place: set[str]) -> tuple[str, str]:
    # A country named in the text stays the country ("Chad", "Jordan" written as GPE), except where spaCy
    # itself read the span as a person and the article gives that person's full name ("Michael Jordan").
    if m.country is not None and m.label != "PERSON":
        return ("demonym" if m.demonym else "country", m.country.iso3)
    if m.label in {"PERSON", "ORG", "GPE", "NORP", "LOC"} and m.key not in read_as_place:
        person = _longest_name_containing(m, full_names)
        if person is not None:
            return ("person", person)
    if m.country is not None:
        return ("demonym" if m.demonym else "country", m.country.iso3)
    if m.place is not None:
        return ("place", str(m.place.geonames_id))
    return ("name", m.key)


def _longest_name_containing(m: _Mention, full_names: dict[str, _FullName]) -> str | None:
    """The longest full person name that this mention equals, begins or ends, by whole words, or failing that
    (for a span spaCy called PERSON) contains ("Lula" of "Luiz Inacio Lula da Silva"). When two people share
    it ("Kim" of "Kim Jong Un" and "Kim Yo Jong"), the one the article named last before the mention (else
    first after it) is meant."""
    n = len(m.words)
    if n == 0 or all(word in NAME_PARTICLES for word in m.words):
        return None
    split = {key: key.split() for key in full_names}
    # News refers to people by surname. A name that begins a "full name" and that the model did not read as a
    # person's is usually an organisation's ("Deportivo" of "Deportivo Coruna", "Pirelli" of "Pirelli Cables",
    # both read as people), unless it can be a family name written first: romanised Chinese, Korean and
    # Vietnamese family names are one short syllable ("Kim" of "Kim Yo Jong", "Xi", "Moon").
    by_first_word = m.label == "PERSON" or m.person_cue or (n == 1 and len(m.words[0]) <= MAX_FAMILY_NAME_FIRST)
    candidates = [
        key
        for key, words in split.items()
        if len(words) >= n and (tuple(words[-n:]) == m.words or (by_first_word and tuple(words[:n]) == m.words))
    ]
    if not candidates and m.label == "PERSON":  # only a span already read as a person links by an inner word
        candidates = [
            key
            for key, words in split.items()
            if any(tuple(words[i : i + n]) == m.words for i in range(1, len(words) - n))
        ]
    if not candidates:
        return None
    longest = max(len(key.split()) for key in candidates)
    candidates = [key for key in candidates if len(key.split()) == longest]
    if len(candidates) == 1:
        return candidates[0]

    def closeness(key: str) -> tuple[int, int]:
        starts = full_names[key].starts
        before = [start for start in starts if start <= m.start]
        return (0, m.start - max(before)) if before else (1, min(starts) - m.start)

    return min(candidates, key=closeness)


def _merge_same_surface(groups: dict[tuple[str, str], _Group]) -> None:
    """One sense per discourse: a surface form left unresolved joins the entity another mention of the same
    form was resolved to (PERSON "Jordan" with GPE "Jordan" is the country; "Trump" ORG with "Trump" PERSON),
    except that an organisation does not join a city of its name."""
    resolved_by_surface: dict[str, _Group] = {}
    for key, group in groups.items():
        if key[0] == "name":
            continue
        for m in group.mentions:
            resolved_by_surface.setdefault(m.key, group)
    for key, group in groups.items():
        if key[0] != "name":
            continue
        target = resolved_by_surface.get(key[1])
        if target is None or (target.kind == "place" and _majority_label(group) == "ORG"):
            continue  # a club named after its city ("NEW YORK 74 59", "joined Milan") is no mention of the city
        target.mentions.extend(group.mentions)
        group.mentions = []


def _merge_acronyms_and_short_forms(groups: dict[tuple[str, str], _Group]) -> None:
    """Organisation names written two ways in one article: "NATO" for "North Atlantic Treaty Organization",
    "Security Council" for "UN Security Council" (a final part of two or more words)."""
    orgs = [g for key, g in groups.items() if key[0] == "name" and g.mentions and _majority_label(g) == "ORG"]
    # "Apple Inc." and "Apple": the same company with and without its legal form.
    by_base_name: dict[str, _Group] = {}
    for g in orgs:
        base = _without_legal_form(_longest_surface(g))
        if base != normalize(_longest_surface(g)):
            by_base_name.setdefault(base, g)
    # The bare name is the company whatever the model read it as ("Pirelli" LOC beside "Pirelli SpA").
    for key, g in groups.items():
        target = by_base_name.get(normalize(_longest_surface(g))) if key[0] == "name" and g.mentions else None
        if target is not None and target is not g:
            for m in g.mentions:
                m.vote = "ORG"
            target.mentions.extend(g.mentions)
            g.mentions = []
    orgs = [g for g in orgs if g.mentions]
    by_acronym: dict[str, _Group] = {}
    for g in orgs:
        acronym = _acronym(_longest_surface(g))
        if len(acronym) >= 2:
            by_acronym.setdefault(acronym, g)
    for g in orgs:
        surface = _longest_surface(g)
        target = by_acronym.get(surface.replace(".", "")) if surface.replace(".", "").isupper() else None
        if target is None and len(surface.split()) >= 2:
            target = max(
                (o for o in orgs if o is not g and o.mentions and _ends_with_words(_longest_surface(o), surface)),
                key=lambda o: len(_longest_surface(o)),
                default=None,
            )
        if target is not None and target is not g:
            target.mentions.extend(g.mentions)
            g.mentions = []
    # A lone word read as a person's name that begins one organisation's name in the article, and no person's
    # (persons were linked before this), is that organisation's short name: "Magna" for "Magna International".
    for key, g in groups.items():
        if key[0] != "name" or not g.mentions or len(key[1].split()) != 1 or _majority_label(g) != "PERSON":
            continue
        owners = [o for o in orgs if o.mentions and _starts_with_words(_longest_surface(o), key[1])]
        if len(owners) == 1:
            for m in g.mentions:
                m.vote = "ORG"
            owners[0].mentions.extend(g.mentions)
            g.mentions = []


def _without_legal_form(name: str) -> str:
    words = normalize(name).replace(",", " ").split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _starts_with_words(longer: str, shorter: str) -> bool:
    long_words, short_words = normalize(longer).split(), shorter.split()
    return len(long_words) > len(short_words) and long_words[: len(short_words)] == short_words


def _acronym(name: str) -> str:
    words = [w for w in name.split() if w.casefold() not in ACRONYM_SKIP]
    if len(words) < 2 or not all(w[:1].isupper() for w in words):
        return ""
    return "".join(w[0] for w in words)


def _ends_with_words(longer: str, shorter: str) -> bool:
    long_words, short_words = longer.casefold().split(), shorter.casefold().split()
    return len(long_words) > len(short_words) and long_words[-len(short_words) :] == short_words


# Entities -------------------------------------------------------------------------------------------------------


def _entity(group: _Group) -> Entity:
    mentions = sorted(group.mentions, key=lambda m: m.start)
    name, label, country_code = _longest_surface(group), _majority_label(group), None
    geonames_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    if group.kind == "person":
        name, label = group.full_name or name, "PERSON"
    elif group.kind == "country" and group.country is not None:
        country = group.country
        name, label, country_code = country.name, "GPE", country.iso3
        geonames_id, lat, lon = country.geonames_id, country.lat, country.lon
    elif group.kind == "demonym" and group.country is not None:
        label, country_code = "NORP", group.country.iso3
    elif group.kind == "place" and group.place is not None:
        place = group.place
        name, country_code = place.name, place.country_code
        geonames_id, lat, lon = place.geonames_id, place.lat, place.lon
        label = _majority_label(group, allowed=PLACE_LABELS) or ("LOC" if place.kind == "continent" else "GPE")
    elif label == "ORG":
        country_code = next((m.owner_country.iso3 for m in mentions if m.owner_country), None)
    return Entity(
        name=name,
        label=label,
        country_code=country_code,
        geonames_id=geonames_id,
        lat=lat,
        lon=lon,
        mention_count=len(mentions),
        mentions=[Mention(start=m.start, end=m.end, text=m.text) for m in mentions],
    )


def _majority_label(group: _Group, allowed: frozenset[str] = OUTPUT_LABELS) -> str:
    """The label most mentions vote for. Place labels first vote together, as one reading against a person or
    an organisation ("Batajnica" GPE, LOC and PERSON is a place), then the most voted place label is taken."""
    votes = Counter(m.vote or ("PERSON" if m.person_cue else m.label) for m in group.mentions)
    candidates = [label for label in LABEL_PRIORITY if label in allowed and votes[label]]
    if not candidates:
        return ""
    place_votes = sum(votes[label] for label in candidates if label in PLACE_LABELS)

    def weight(label: str) -> tuple[int, int, int]:
        pooled = place_votes if label in PLACE_LABELS else votes[label]
        return (pooled, votes[label], -LABEL_PRIORITY.index(label))

    return max(candidates, key=weight)


def _longest_surface(group: _Group) -> str:
    """The fullest way the article writes the name (first such, on a tie)."""
    best = ""
    for m in sorted(group.mentions, key=lambda m: m.start):
        if len(m.text) > len(best):
            best = m.text
    return best
