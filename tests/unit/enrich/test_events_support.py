"""Helpers for the event-coder tests (no tests here): entities for a parsed text, an article, a lineage.

Entities come from the project's resolver (``pipeline.enrich.entities.resolution``) when it is importable; otherwise a
minimal adapter over ``doc.ents`` with a handful of countries stands in, so the coder can be tested alone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from spacy.tokens import Doc

from pipeline.records import Entity, Lineage, Mention, RawArticle

_FALLBACK_COUNTRIES = {
    "us": "USA", "united states": "USA", "washington": "USA", "american": "USA", "russia": "RUS",
    "russian": "RUS", "moscow": "RUS", "ukraine": "UKR", "ukrainian": "UKR", "kyiv": "UKR", "france": "FRA",
    "french": "FRA", "paris": "FRA", "germany": "DEU", "german": "DEU", "japan": "JPN", "japanese": "JPN",
    "tokyo": "JPN", "china": "CHN", "chinese": "CHN", "beijing": "CHN", "iran": "IRN", "iranian": "IRN",
    "israel": "ISR", "israeli": "ISR", "india": "IND", "indian": "IND", "pakistan": "PAK", "nigeria": "NGA",
    "lagos": "NGA", "sudan": "SDN", "north korea": "PRK", "north korean": "PRK", "pyongyang": "PRK",
    "south korea": "KOR", "south korean": "KOR", "seoul": "KOR", "kenya": "KEN", "nairobi": "KEN",
    "brazil": "BRA", "turkey": "TUR", "egypt": "EGY", "cairo": "EGY", "gaza": "PSE",
}  # fmt: skip


def entities_for(doc: Doc) -> list[Entity]:
    try:
        from pipeline.enrich.entities.resolution import resolve_entities
    except ImportError:
        return _fallback_entities(doc)
    return resolve_entities(doc)


def _fallback_entities(doc: Doc) -> list[Entity]:
    groups: dict[str, list[Mention]] = defaultdict(list)
    labels: dict[str, str] = {}
    for ent in doc.ents:
        if ent.label_ not in {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"}:
            continue
        name = ent.text.removeprefix("the ").removesuffix("'s").removesuffix("’s")
        groups[name].append(Mention(start=ent.start_char, end=ent.end_char, text=ent.text))
        labels.setdefault(name, ent.label_)
    return [
        Entity(
            name=name,
            label=labels[name],
            country_code=_FALLBACK_COUNTRIES.get(name.lower()),
            mention_count=len(mentions),
            mentions=mentions,
        )
        for name, mentions in groups.items()
    ]


def article(
    text: str, published: datetime | None = datetime(2025, 1, 6, 9, 30, tzinfo=UTC), aid: str = "art_1"
) -> RawArticle:
    url = f"https://news.example/{aid}"
    return RawArticle(article_id=aid, url=url, canonical_url=url, text=text, published_at=published)


LINEAGE = Lineage(pipeline_version="test", model_name="en_core_web_sm", model_version="3.8.0", taxonomy_version="t")
