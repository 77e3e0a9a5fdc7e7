"""Helpers for the event-coder tests (no tests here): entities for a parsed text, an article, a lineage.

Entities come from the project's resolver (``pipeline.enrich.entities.resolution``), never from a stand-in: a resolver
that cannot be imported is a failure of these tests, not a reason to test the coder on other entities.
"""

from __future__ import annotations

from datetime import UTC, datetime

from spacy.tokens import Doc

from pipeline.enrich.entities.resolution import resolve_entities
from pipeline.records import Entity, Lineage, RawArticle


def entities_for(doc: Doc) -> list[Entity]:
    """The project's own resolver: the coder is tested on the entities the enricher gives it."""
    return resolve_entities(doc)


def article(
    text: str, published: datetime | None = datetime(2025, 1, 6, 9, 30, tzinfo=UTC), aid: str = "art_1"
) -> RawArticle:
    url = f"https://news.example/{aid}"
    return RawArticle(article_id=aid, url=url, canonical_url=url, text=text, published_at=published)


LINEAGE = Lineage(pipeline_version="test", model_name="en_core_web_sm", model_version="3.8.0", taxonomy_version="t")
