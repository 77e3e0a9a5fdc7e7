"""Country names and places typed by a user, resolved with the gazetteer enrichment uses.

So a filter means what enrichment wrote: ``Turkey`` is TUR and ``Kosovo`` XKX because that is what the
gazetteer gives those names in articles, and a name the gazetteer finds ambiguous (``Korea``, ``Congo``) or
does not know as a country (``EU``) is refused with the candidates instead of guessed.
"""

from __future__ import annotations

import math
import re

from pipeline.enrich.entities.gazetteer import Gazetteer, get_gazetteer, normalize

EARTH_RADIUS_KM = 6371.0088  # the mean radius, which Elasticsearch's geo_distance uses too
_LAT_LON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")


class PlaceError(ValueError):
    """A name that is not one country or place; the message lists what it could be."""


def country_code(value: str, gazetteer: Gazetteer | None = None) -> str:
    """ISO alpha-3 of a country name, ISO alpha-3/alpha-2 code or short form ("Turkey", "tur", "TR", "UK")."""
    gazetteer = gazetteer or get_gazetteer()
    text = " ".join(value.split())
    # On the command line "us" means the country (in article text it is the pronoun, so the gazetteer
    # only takes codes written in capitals).
    letters = text.replace(".", "")
    if len(letters) <= 3 and letters.isalpha():
        upper = letters.upper()
        by_iso2 = {country.iso2: iso3 for iso3, country in gazetteer.countries.items()}
        if len(upper) == 2 and upper in by_iso2 and gazetteer.country(upper) is None:
            return by_iso2[upper]
        text = text.upper()
    found = gazetteer.country(text) or gazetteer.demonym(text)
    if found is not None:
        return found.iso3
    candidates = countries_named_like(text, gazetteer)
    if candidates:
        listed = ", ".join(f"{code} ({name})" for code, name in candidates)
        # Enrichment leaves such a name without a country too, so the name itself is what finds those mentions.
        raise PlaceError(
            f"{value!r} could mean several countries: {listed}; give one of those codes "
            f"(or --entity {value!r} for the name as articles write it)"
        )
    raise PlaceError(
        f"{value!r} is not a country the gazetteer knows (regions and organisations such as the EU are not "
        "countries); give a country name or ISO code, e.g. 'Turkey' or TUR"
    )


def countries_named_like(text: str, gazetteer: Gazetteer, limit: int = 6) -> list[tuple[str, str]]:
    """(ISO alpha-3, name) of countries whose name contains ``text`` as whole words ("Korea", "Congo")."""
    key = normalize(text)
    if not key:
        return []
    pattern = re.compile(rf"(^|\W){re.escape(key)}($|\W)")
    found = sorted(
        (country.iso3, country.name)
        for country in gazetteer.countries.values()
        if pattern.search(normalize(country.name))
    )
    return found[:limit]


def point_of(value: str, gazetteer: Gazetteer | None = None) -> tuple[float, float]:
    """(lat, lon) from ``"37.57,126.98"`` or a place name ("Seoul"; a country gives its capital)."""
    if match := _LAT_LON.match(value):
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PlaceError(f"{value!r}: latitude must be within ±90 and longitude within ±180")
        return lat, lon
    gazetteer = gazetteer or get_gazetteer()
    place = gazetteer.place(value)
    if place is not None and place.lat is not None and place.lon is not None:
        return place.lat, place.lon
    country = gazetteer.country(value)
    if country is not None and country.lat is not None and country.lon is not None:
        return country.lat, country.lon
    raise PlaceError(f"{value!r} is neither 'lat,lon' (e.g. 37.57,126.98) nor a place the gazetteer knows")


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), as Elasticsearch computes it for geo_distance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
