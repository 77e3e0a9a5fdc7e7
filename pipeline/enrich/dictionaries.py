"""The compiled coding dictionaries (``pipeline train dictionaries``), read once per process.

``pipeline/data/dictionaries/`` holds what the event-data field knows, compiled from the PETRARCH2 dictionaries
(MIT, see the NOTICE there): named actors with their dated roles, agent nouns with their sectors, and verb
patterns with their CAMEO codes. Look-ups are dictionary reads on normalised text; nothing is parsed per
article.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.enrich.events.taxonomy import Trigger

DICTIONARY_DIR = Path(__file__).resolve().parent.parent / "data" / "dictionaries"
# Sectors of CAMEO actor codes we carry (the first three letters are the country, or an international body).
INTERNATIONAL_PREFIXES = frozenset({"IGO", "NGO", "IMG", "MNC", "UIS", "INT"})


def alias_key(text: str) -> str:
    """The form aliases are stored and looked up in: case-folded, dots and the article "the" dropped, hyphens
    and underscores as spaces, one space between words ("U.N." = "UN", "Ban Ki-moon" = "BAN KI MOON")."""
    text = text.replace("’", "'").replace("_", " ").replace("-", " ").replace(".", "").casefold()
    words = text.split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


# Weights of dictionary triggers, below the lexicon's defaults (0.6 lemma, 0.75 verb + argument): the lexicon
# was written for this coder; the dictionary's entries are broader.
VERB_WEIGHT = 0.5
PATTERN_WEIGHT = 0.65


@lru_cache(maxsize=8)
def _read(name: str) -> dict[str, Any]:
    path = DICTIONARY_DIR / name
    if not path.exists():
        return {}
    loaded: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return loaded


def provenance() -> dict[str, Any]:
    """Where each compiled file came from (source commit, file hashes, command)."""
    return {name: _read(name).get("provenance") for name in ("actors.json.gz", "agents.json.gz", "verbs.json.gz")}


# -- verbs ------------------------------------------------------------------------------------------------


def verb_dictionary(kinds: frozenset[str] = frozenset({"pattern"})) -> tuple[list[Trigger], str]:
    """Triggers of the verb dictionary and a version tag for the taxonomy (empty when none is compiled)."""
    from pipeline.enrich.events.taxonomy import TriggerEntry, parse_trigger  # the taxonomy loads this module

    entries = _read("verbs.json.gz").get("verbs", [])
    triggers: list[Trigger] = []
    for entry in entries:
        if entry["kind"] not in kinds:
            continue
        weight = PATTERN_WEIGHT if entry["kind"] == "pattern" else VERB_WEIGHT
        try:
            spec = TriggerEntry(pattern=entry["pattern"], weight=weight, cameo=entry["cameo"])
            trig = parse_trigger(spec, entry["type"], entry["mode"])
        except ValueError:
            continue
        triggers.append(replace(trig, origin="dictionary"))
    version = _read("verbs.json.gz").get("provenance", {}).get("format_version")
    return triggers, (f"petrarch2v{version}" if triggers else "")


# -- actors -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownActor:
    """A named actor of the dictionaries in one role: ``code`` is the CAMEO actor code of that role
    (``RUSGOV``), ``country`` its ISO 3166-1 alpha-3 country (None for an international body), ``sector`` the
    role's kind (GOV, MIL, REB, OPP, IGO, ...)."""

    name: str
    code: str
    country: str | None
    sector: str | None
    person: bool = False  # a person holding offices, not a body


def split_code(code: str) -> tuple[str | None, str | None]:
    """(country, sector) of a CAMEO actor code: ``RUSGOV`` -> (RUS, GOV), ``IGOUNO`` -> (None, IGO),
    ``LBNREB`` -> (LBN, REB), ``AFG`` -> (AFG, None)."""
    head = code[:3].upper()
    if head in INTERNATIONAL_PREFIXES:
        return None, head
    return (head if len(head) == 3 and head.isalpha() else None), (code[3:6].upper() or None)


def _day(when: date | datetime | None) -> int | None:
    return when.year * 10_000 + when.month * 100 + when.day if when is not None else None


def role_on(roles: list[list[Any]], default: str | None, when: date | datetime | None) -> str | None:
    """The role code in force on ``when``: of the dated roles that hold then, the one begun last; undated, the
    role begun last (an undated text is taken to be recent); else the record's default or open role."""
    day = _day(when)
    dated = [r for r in roles if r[1] is not None or r[2] is not None]
    if day is not None:
        holding = [r for r in dated if (r[1] is None or r[1] <= day) and (r[2] is None or day <= r[2])]
    else:
        holding = [r for r in dated if r[2] is None] or dated
    if holding:
        return str(max(holding, key=lambda r: (r[1] or 0, r[2] is None))[0])
    open_roles = [r for r in roles if r[1] is None and r[2] is None]
    if open_roles:
        return str(open_roles[0][0])
    return default


def lookup_actor(text: str, when: date | datetime | None = None) -> KnownActor | None:
    """The named actor ``text`` denotes (any of its aliases), in its role on ``when``; None if unknown."""
    table = _read("actors.json.gz")
    index = table.get("aliases", {}).get(alias_key(text))
    if index is None:
        return None
    name, roles, default, person = table["actors"][index]
    code = role_on(roles, default, when)
    if not code:
        return None
    country, sector = split_code(code)
    return KnownActor(name, code, country, sector, bool(person))


# -- agents -----------------------------------------------------------------------------------------------


def agent_sector(text: str) -> str | None:
    """The sector of an agent noun or phrase ("troops" -> MIL, "riot police" -> COP), or None."""
    agents: dict[str, str] = _read("agents.json.gz").get("agents", {})
    key = alias_key(text)
    found = agents.get(key)
    if found is None and " " in key:
        found = agents.get(key.rsplit(" ", 1)[1])
    return found
