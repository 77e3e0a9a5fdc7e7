"""Small, valid records for tests (the contract tests check them against the schemas)."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.ids import article_id, event_id
from pipeline.records import (
    Actor,
    ArticleRef,
    EnrichedArticle,
    Entity,
    Event,
    Evidence,
    Lineage,
    Location,
    Mention,
    RawArticle,
)

LINEAGE = Lineage(
    pipeline_version="0.1.0",
    model_name="en_core_web_sm",
    model_version="3.8.0",
    taxonomy_version="plover-test",
)


def sample_raw() -> RawArticle:
    url = "https://news.example/world/2025/01/06/launch"
    return RawArticle(
        article_id=article_id(url),
        url=url,
        canonical_url=url,
        title="Launch",
        text="Seoul: a launch.",
        authors=["A. Writer"],
        published_at=datetime(2025, 1, 6, 8, tzinfo=UTC),
        language="en",
        site_name="News Example",
        feed_url="https://news.example/rss",
        content_hash="abc",
    )


def sample_enriched() -> EnrichedArticle:
    raw = sample_raw()
    entity = Entity(
        name="Seoul",
        label="GPE",
        country_code="KOR",
        geonames_id=1835848,
        lat=37.566,
        lon=126.978,
        mention_count=1,
        mentions=[Mention(start=0, end=5, text="Seoul")],
    )
    return EnrichedArticle(
        **raw.model_dump(),
        entities=[entity],
        countries=["KOR"],
        event_ids=["evt_1"],
        event_types=["MOBILIZE"],
        lineage=LINEAGE,
    )


def sample_event() -> Event:
    raw = sample_raw()
    return Event(
        event_id=event_id("MOBILIZE", "PRK", None, "KOR", "2025-01-06"),
        event_type="MOBILIZE",
        mode="weapons",
        cameo_root="15",
        quad_class="material-conflict",
        intensity=-6.5,
        source=Actor(name="North Korea", country_code="PRK", label="GPE"),
        location=Location(place="Seoul", country_code="KOR", geonames_id=1835848, lat=37.566, lon=126.978),
        date="2025-01-06",
        date_text="Monday",
        evidence=Evidence(sentence="Seoul: a launch.", start=0, end=16),
        confidence=0.8,
        article_id=raw.article_id,
        article_ids=[raw.article_id],
        articles=[ArticleRef.of(raw)],
        article_published_at=raw.published_at,
        lineage=LINEAGE,
    )
