"""Entities the coding dictionaries know: their country and role on the article's date.

A person or organisation whose name (or a mention of it) is an alias in the compiled actor dictionary takes its
country and the role it held on the article's date ("Putin" in 2014: RUS, GOV; "Hezbollah": LBN, REB). Where the
model read a known body as a person or a place ("Boko Haram" as a PERSON, "the White House" as a town), the
dictionary's reading wins: a group is an organisation, and a seat of government acting is its government, not a
place. Countries and towns keep the gazetteer's reading: a dictionary code without a role is a country, and the
gazetteer says more about places.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pipeline.enrich.dictionaries import KnownActor, agent_sector, lookup_actor
from pipeline.records import Entity

# Labels whose entities may be an actor the dictionaries name (a NORP only when the dictionary gives it a role:
# "ISIL" read as a nationality).
_LOOKED_UP = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
# A name that begins with a person's title is a person, whatever label the model gave it ("Gen. Ngo Xuan Lich").
_TITLES = frozenset({
    "gen", "general", "col", "colonel", "lt", "maj", "major", "adm", "admiral", "capt", "captain", "sgt", "dr",
    "mr", "mrs", "ms", "president", "minister", "premier", "sheikh", "prince", "king", "queen", "sen", "senator",
    "rep", "gov", "governor", "mayor", "ambassador", "judge", "justice", "ayatollah", "imam", "rev", "pope",
})  # fmt: skip
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


def known_actor(entity: Entity, when: date | datetime | None) -> KnownActor | None:
    """The dictionary actor an entity is, by what the article wrote (its mentions) before the name the resolver
    gave it (a gazetteer's name for a place can be another thing's alias); an actor with a role before a bare
    country code."""
    if entity.label not in _LOOKED_UP:
        return None
    found: list[KnownActor] = []
    seen: set[str] = set()
    # A person is looked up by their full name only: "Washington" alone is a government, MaliVai Washington not.
    texts = (entity.name,) if entity.label == "PERSON" else (*(m.text for m in entity.mentions), entity.name)
    for text in texts:
        if text in seen:
            continue
        seen.add(text)
        actor = lookup_actor(text, when)
        if actor is not None:
            if actor.sector is not None:
                return actor
            found.append(actor)
    return found[0] if found else None


# Last words of a name that make it a body of a state, not a place: "United States Treasury", "Kenya Police".
_BODY_WORDS = frozenset({
    "treasury", "ministry", "department", "office", "agency", "commission", "council", "parliament", "senate",
    "congress", "army", "navy", "police", "government", "administration", "embassy", "military", "cabinet",
    "court", "forces", "guard", "presidency", "assembly",
})  # fmt: skip


def _state_body(entity: Entity) -> str | None:
    """The country of a place-labelled name that is a state's body ("United States Treasury" -> USA)."""
    from pipeline.enrich.entities.gazetteer import get_gazetteer

    words = entity.name.split()
    if entity.label not in _PLACE_LABELS or len(words) < 2 or words[-1].casefold() not in _BODY_WORDS:
        return None
    gazetteer = get_gazetteer()
    for cut in range(len(words) - 1, 0, -1):
        head = " ".join(words[:cut])
        country = gazetteer.country(head) or gazetteer.demonym(head)
        if country is not None:
            return country.iso3
    return None


def with_known_actors(entities: Sequence[Entity], when: date | datetime | None) -> list[Entity]:
    """``entities`` with what the dictionaries know of each added (country, role, actor code)."""
    out: list[Entity] = []
    for entity in entities:
        entity = _titled_person(entity)
        known = known_actor(entity, when)
        body_of = _state_body(entity) if known is None or known.sector is None else None
        if body_of is not None:
            name = entity.mentions[0].text if entity.mentions else entity.name
            role = agent_sector(entity.name.split()[-1]) or "GOV"
            as_body = {"label": "ORG", "name": name, "country_code": body_of, "role": role}
            out.append(entity.model_copy(update={**as_body, "geonames_id": None, "lat": None, "lon": None}))
            continue
        if known is None or (entity.label in _PLACE_LABELS | {"NORP"} and known.sector is None):
            out.append(entity)  # unknown, or a country or town: the gazetteer's reading stands
            continue
        update: dict[str, object] = {"role": known.sector, "actor_code": known.code}
        if entity.label in _PLACE_LABELS | {"NORP"} and _seat_not_place(entity):
            # "the White House said": a seat of government acting is that government, not a place.
            update.update(label="ORG", name=entity.mentions[0].text if entity.mentions else entity.name,
                          country_code=known.country, geonames_id=None, lat=None, lon=None)  # fmt: skip
        elif entity.label in _PLACE_LABELS:
            out.append(entity)  # a real place that also names its government ("Gaza"): the place stands
            continue
        elif entity.label == "PERSON" and not known.person and known.sector in _GROUP_SECTORS:
            update["label"] = "ORG"  # "Boko Haram" read as a person's name
        if known.country is not None and (entity.country_code is None or entity.label != "GPE"):
            update["country_code"] = known.country
        out.append(entity.model_copy(update=update))
    return out


# Sectors of bodies that the model may take for a person's name (armed groups, international bodies,
# movements); a person-like record in another sector ("GOV" without dated offices) may still be a person.
_GROUP_SECTORS = frozenset({"REB", "IMG", "IGO", "NGO", "UAF", "MNC", "INS", "SEP", "OPP", "PTY"})


def _seat_not_place(entity: Entity) -> bool:
    """A place-labelled name that is no place of the gazetteer's ("the Kremlin"), or that the gazetteer named
    otherwise than the article wrote it ("the White House" read as Casablanca)."""
    written = entity.mentions[0].text if entity.mentions else entity.name
    return entity.geonames_id is None or written != entity.name


def _titled_person(entity: Entity) -> Entity:
    """An organisation or place whose name begins with a person's title is that person."""
    if entity.label not in {"ORG", "GPE", "LOC", "FAC", "NORP"}:
        return entity
    words = entity.name.split()
    if len(words) < 2 or words[0].rstrip(".").casefold() not in _TITLES or not words[1][:1].isupper():
        return entity
    return entity.model_copy(update={"label": "PERSON", "name": " ".join(words[1:]), "country_code": None,
                                     "geonames_id": None, "lat": None, "lon": None})  # fmt: skip
