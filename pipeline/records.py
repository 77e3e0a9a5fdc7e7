"""The records that travel between stages.

These pydantic models are the code side of the contracts in ``schemas/``; ``tests/unit/test_contracts.py``
checks every model against its JSON Schema and every indexed document against its index template.
Bump ``SCHEMA_VERSION`` (and the schemas) on any incompatible change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal["1.0"] = "1.0"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)

    def to_json_bytes(self) -> bytes:
        # The bytes of ``model_dump_json()`` (which decodes these to a str), without decoding and encoding again.
        return self.__pydantic_serializer__.to_json(self)


class ArticleFields(Record):
    """What the collector knows of an article; the raw and the enriched article both carry it."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    article_id: str = Field(description="Stable id derived from the canonical URL")
    revision: int = Field(1, ge=1, description="Incremented when the same URL's text changes")
    url: str
    canonical_url: str
    title: str = ""
    text: str
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    feed_url: str | None = None
    content_hash: str = ""
    fetched_at: datetime = Field(default_factory=utc_now)


class RawArticle(ArticleFields):
    """One extracted article as the collector publishes it to ``articles.raw`` (key: ``article_id``)."""


class Lineage(Record):
    """What produced a record, so re-enrichment with a newer model can be compared and replayed."""

    pipeline_version: str
    model_name: str
    model_version: str
    taxonomy_version: str


class Mention(Record):
    start: int
    end: int
    text: str


class Entity(Record):
    """One canonical entity of an article, all its mentions merged."""

    name: str = Field(description="Canonical name, e.g. 'Antony Blinken', 'North Korea'")
    label: str = Field(description="PERSON, ORG, GPE, LOC, NORP, FAC, ... decided across all mentions")
    country_code: str | None = Field(None, description="ISO 3166-1 alpha-3 of the country it is or acts for")
    geonames_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    mention_count: int = Field(ge=1)
    mentions: list[Mention] = Field(default_factory=list)
    role: str | None = Field(
        None,
        description="Kind of actor it is, or of the office it held on the article's date, as a CAMEO sector: "
        "GOV, MIL, COP, REB, OPP, LEG, JUD, ELI, IGO, ... (from the coding dictionaries or an agent noun)",
    )
    actor_code: str | None = Field(
        None, description="CAMEO actor code of that role, e.g. 'RUSGOV' for Vladimir Putin as president"
    )


class Actor(Record):
    name: str
    country_code: str | None = None
    label: str | None = None
    role: str | None = Field(None, description="CAMEO sector of the actor: GOV, MIL, REB, OPP, IGO, ...")


class Location(Record):
    place: str | None = None
    country_code: str | None = None
    geonames_id: int | None = None
    lat: float | None = None
    lon: float | None = None


class Evidence(Record):
    sentence: str
    start: int
    end: int


class ArticleRef(Record):
    """A reporting article as an event carries it, so a subscriber needs no second lookup."""

    article_id: str
    url: str
    title: str = ""
    site_name: str | None = None
    published_at: datetime | None = None

    @classmethod
    def of(cls, article: ArticleFields) -> ArticleRef:
        return cls(
            article_id=article.article_id,
            url=article.url,
            title=article.title,
            site_name=article.site_name,
            published_at=article.published_at,
        )


# PLOVER's quad categories: verbal or material, cooperation or conflict.
QuadClass = Literal["verbal-cooperation", "material-cooperation", "verbal-conflict", "material-conflict"]


class Event(Record):
    """One coded event as published to ``events.enriched`` (key: ``event_id``)."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    event_id: str = Field(description="Deterministic from type, actors, place and day; not from the article")
    event_type: str = Field(description="One of the 16 PLOVER types")
    mode: str | None = None
    cameo_root: str | None = Field(None, description="CAMEO root code (two digits) the type corresponds to")
    quad_class: QuadClass | None = Field(None, description="PLOVER quad category of the type")
    intensity: float | None = Field(
        None,
        ge=-10.0,
        le=10.0,
        description="Signed conflict (-10) to cooperation (+10) score of the type and mode, PLOVER codebook table 2.2",
    )
    source: Actor | None = None
    target: Actor | None = None
    location: Location | None = None
    date: str | None = Field(None, description="ISO date (YYYY-MM-DD, or YYYY-MM / YYYY when that is all known)")
    date_text: str | None = None
    evidence: Evidence
    confidence: float = Field(ge=0.0, le=1.0)
    article_id: str = Field(description="The article this mention of the event came from")
    article_ids: list[str] = Field(default_factory=list, description="All articles reporting the event")
    articles: list[ArticleRef] = Field(
        default_factory=list, description="The reporting articles' URLs and titles, merged like article_ids"
    )
    article_published_at: datetime | None = None
    lineage: Lineage
    coded_at: datetime = Field(default_factory=utc_now)


class EnrichedArticle(ArticleFields):
    """A raw article plus what the enricher found, on ``articles.enriched`` (key: ``article_id``)."""

    entities: list[Entity] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list, description="ISO alpha-3 codes of countries involved")
    event_ids: list[str] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    main_event_type: str | None = Field(
        None,
        description="The story's main PLOVER type: its events' confidence votes (earlier sentences weigh more) mixed "
        "with the story classifier and the headline's trigger types; null when the article has no events",
    )
    language_source: Literal["declared", "detected", "default"] | None = Field(
        None,
        description="`language` as the page or feed declared it, detected from the text, or the default (English) "
        "for text too short to tell",
    )
    not_extracted: list[Literal["entities", "events"]] = Field(
        default_factory=list, description="What enrichment left out because of the article's language"
    )
    not_extracted_reason: str | None = Field(None, description="Why, in words (names the language)")
    lineage: Lineage
    enriched_at: datetime = Field(default_factory=utc_now)


SUBSCRIPTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


# A reference to where a webhook URL with a secret in it is kept: an environment variable or an absolute path.
WEBHOOK_REFERENCE_PATTERN = r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$"


class Subscription(Record):
    """A named subscription on the compacted topic ``pipeline.subscriptions`` (key: ``name``; a tombstone,
    i.e. a null value, removes it). Its matching creates and updates go to ``events.sub.<name>``."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    name: str = Field(pattern=SUBSCRIPTION_NAME_PATTERN, description="Also the suffix of its topic")
    filter: dict[str, Any] = Field(
        default_factory=dict, description="The event filter, as `pipeline subscribe` options would build it"
    )
    webhook_url: str | None = Field(
        None,
        description="Where `pipeline subscriptions deliver` POSTs its events, for a URL that holds no secret "
        "(records written before issue 21 may hold one: they stay readable, and are shown masked)",
    )
    webhook_url_from: str | None = Field(
        None,
        pattern=WEBHOOK_REFERENCE_PATTERN,
        description="Where the deliverer reads its webhook URL, for a URL with a secret in it (a token in the "
        "path, query or userinfo): env:NAME, an environment variable, or file:/absolute/path. The URL itself "
        "is never written to the topic",
    )
    backfill: bool = Field(True, description="Fill the topic from the retained events too, not only new ones")
    live_from: dict[str, int] = Field(
        default_factory=dict,
        description="Without backfill: per partition of events.enriched, the first offset to consider",
    )
    created_at: datetime = Field(default_factory=utc_now)


class EventChange(Record):
    """An event when first coded (``create``) or when another article reports it (``update``), as published
    to ``events.sub.<name>`` (key: ``event_id``). Derived deterministically from ``events.enriched``: a
    replay produces the same changes, so ``(event_id, article_count)`` identifies a delivery."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    change: Literal["create", "update"]
    event_id: str
    article_count: int = Field(ge=1, description="Articles reporting the event after this change")
    new_article_ids: list[str] = Field(description="The article(s) this change adds")
    event: Event = Field(description="The event with every report merged so far (articles: URLs and titles)")
    source_partition: int = Field(description="Partition of events.enriched the change derives from")
    source_offset: int = Field(description="Offset there of the report that caused it")


Stage = Literal["collect", "enrich", "index"]


class DeadLetter(Record):
    """A message or item that could not be processed, with why (topic ``pipeline.deadletter``)."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    stage: Stage
    reason: str
    error_type: str
    key: str | None = None
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    payload: str | None = Field(
        None,
        description=(
            "The offending input, whole: with payload_encoding 'gzip+base64' the base64 text of its gzip "
            "compression; without an encoding, plain text (letters written before 2026-12). Left out when it "
            "would not fit the broker's message size; source_topic/partition/offset then locate it."
        ),
    )
    payload_encoding: Literal["gzip+base64"] | None = None
    payload_bytes: int | None = Field(None, ge=0, description="Size of the original input in bytes")
    at: datetime = Field(default_factory=utc_now)

    def original_payload(self) -> bytes | None:
        """The input exactly as it arrived (None when it was not kept)."""
        if self.payload is None:
            return None
        if self.payload_encoding == "gzip+base64":
            import base64
            import gzip

            return gzip.decompress(base64.b64decode(self.payload))
        return self.payload.encode("utf-8")
