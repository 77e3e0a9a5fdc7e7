"""Feed parsing: bytes in, typed items or a typed problem out. No I/O, no exceptions escape.

RSS 0.9x/1.0/2.0, RDF, Atom 0.3/1.0 go through feedparser, which copes with ill-formed markup and odd
encodings (it falls back to a forgiving parser and records why as "bozo"); JSON Feed 1.0/1.1 is read here,
as feedparser 6 does not know it. Documents that declare XML entities are refused before any XML parser
sees them: entity expansion ("billion laughs", quadratic blow-up) is a denial-of-service vector and real
news feeds do not need it. The check runs on the bytes as they arrived and again on the text as feedparser
will read it (its own decoding to UTF-8), so an encoding in which ``<!ENTITY`` is not those ASCII bytes
(EBCDIC, UTF-7, a charset named only in the HTTP header) hides nothing.

Parsing is CPU-bound (a 5 MB feed takes seconds): the collector calls ``parse_feed`` in a worker thread.
"""

from __future__ import annotations

import calendar
import io
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import ParseError

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from feedparser.encodings import convert_to_utf8

from pipeline.collect.problems import Problem, Reason
from pipeline.ids import utf8_text


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed, with what the collector needs. Dates are timezone-aware UTC."""

    link: str | None
    title: str = ""
    summary: str = ""  # HTML (sanitised by feedparser) or plain text
    content: str = ""  # the fullest body the feed carries (HTML or plain text), '' if none
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    guid: str | None = None

    @property
    def key(self) -> str:
        """What identifies the entry within its feed: the guid, else the link, else the title. It is stored and
        sent, so a lone surrogate (legal in a JSON Feed id) is escaped; otherwise one such item fails its feed."""
        return utf8_text(self.guid or self.link or self.title)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[FeedItem, ...]
    format: str  # feedparser's version ('rss20', 'atom10', ...) or 'json1'/'json11'
    title: str = ""
    link: str | None = None
    language: str | None = None
    encoding: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def bozo(self) -> bool:
        return bool(self.warnings)


FeedResult = ParsedFeed | Problem

# Warnings about the HTTP labelling, not the document: a feed flagged only for these is well-formed.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/(\d+(?:\.\d+)?)/?$")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


def unsafe_xml_reason(data: bytes) -> str | None:
    """Why ``data`` must not reach an XML parser, or None.

    A cheap byte scan first (NULs dropped so UTF-16/32 documents are seen too); only documents that mention
    an entity declaration are parsed with defusedxml, which tells a real declaration from the same
    characters inside a CDATA section or comment.
    """
    probe = data.replace(b"\x00", b"") if b"\x00" in data[:4096] else data
    if not _ENTITY_DECL.search(probe):
        return None
    try:
        defused_fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return f"XML entity declarations are refused ({type(exc).__name__})"
    except (ParseError, ValueError, RecursionError):
        # We could not tell where the declaration is; a document we cannot read strictly gets no benefit
        # of the doubt when it carries an entity declaration.
        return "ill-formed XML with an entity declaration"
    return None


def as_feedparser_reads(data: bytes, headers: Mapping[str, str]) -> bytes:
    """The document as feedparser's XML parsers will see it: decoded with the encoding feedparser picks
    (BOM, XML declaration, HTTP charset, per RFC 3023) and re-encoded as UTF-8. feedparser 6.0.x's own
    function (pinned), so what is checked is exactly what is parsed."""
    try:
        converted = convert_to_utf8(dict(headers), data, {})
    except Exception:  # feedparser copes with anything; whatever it cannot decode, it parses as it came
        return data
    return converted if isinstance(converted, bytes) else data


def _struct_to_utc(value: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _iso_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # A date without a zone is taken as UTC rather than the collector's local time.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for author in entry.get("authors") or []:
        if isinstance(author, Mapping):
            name = _text(author.get("name")) or _text(author.get("email"))
            if name:
                names.append(name)
    if not names and _text(entry.get("author")):
        names.append(_text(entry.get("author")))
    return tuple(dict.fromkeys(names))  # de-duplicated, order kept


def _longest_content(entry: Mapping[str, Any]) -> str:
    bodies = [_text(c.get("value")) for c in entry.get("content") or [] if isinstance(c, Mapping)]
    return max(bodies, key=len, default="")


def _entry_link(entry: Mapping[str, Any]) -> str | None:
    link = _text(entry.get("link"))
    if link:
        return link
    guid = _text(entry.get("id"))
    # An RSS guid is a permalink unless it says otherwise; only trust it when it looks like one.
    if guid.startswith(("http://", "https://")) and entry.get("guidislink", True):
        return guid
    return None


def _item_from_entry(entry: dict[str, Any], *, base: str | None) -> FeedItem:
    link = _entry_link(entry)
    return FeedItem(
        link=urljoin(base, link) if (link and base) else link,
        title=_text(entry.get("title")),
        summary=_text(entry.get("summary")),
        content=_longest_content(entry),
        # dict.get: FeedParserDict.get maps a missing published date to the updated one (with a warning).
        published=_struct_to_utc(dict.get(entry, "published_parsed")),
        updated=_struct_to_utc(dict.get(entry, "updated_parsed")),
        authors=_authors(entry),
        guid=_text(entry.get("id")) or None,
    )


def _describe(exc: object) -> str:
    message = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {message[:200]}" if message else type(exc).__name__


def looks_like_json(data: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    head = data[:64]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    return head.replace(b"\x00", b"").lstrip().startswith(b"{")


def parse_json_feed(data: bytes, *, url: str | None = None) -> FeedResult:
    try:
        document = json.loads(data)  # json detects UTF-8/16/32 by itself
    except (ValueError, RecursionError) as exc:
        return Problem(Reason.MALFORMED_FEED, _describe(exc), url)
    if not isinstance(document, dict):
        return Problem(Reason.NOT_A_FEED, "JSON document is not an object", url)
    match = _JSON_FEED_VERSION.match(_text(document.get("version")))
    if not match:
        return Problem(Reason.NOT_A_FEED, "JSON without a jsonfeed.org version", url)
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        return Problem(Reason.MALFORMED_FEED, "JSON Feed without an items list", url)
    base = _text(document.get("home_page_url")) or _text(document.get("feed_url")) or url or ""
    feed_authors = _json_authors(document)
    items: list[FeedItem] = []
    warnings: list[str] = []
    for position, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            warnings.append(f"item {position} is not an object")
            continue
        link = _text(raw.get("url")) or _text(raw.get("external_url"))
        items.append(
            FeedItem(
                link=urljoin(base, link) if link else None,
                title=_text(raw.get("title")),
                summary=_text(raw.get("summary")),
                content=_text(raw.get("content_html")) or _text(raw.get("content_text")),
                published=_iso_to_utc(raw.get("date_published")),
                updated=_iso_to_utc(raw.get("date_modified")),
                authors=_json_authors(raw) or feed_authors,
                guid=_text(raw.get("id")) or (str(raw["id"]) if isinstance(raw.get("id"), int) else None),
            )
        )
    version = match.group(1).replace(".", "")
    if not items:
        return Problem(Reason.NO_ITEMS, "JSON Feed has no items", url)
    return ParsedFeed(
        items=tuple(items),
        format=f"json{version}",
        title=_text(document.get("title")),
        link=_text(document.get("home_page_url")) or None,
        language=_text(document.get("language")) or None,
        encoding="utf-8",
        warnings=tuple(warnings),
    )


def _json_authors(obj: Mapping[str, Any]) -> tuple[str, ...]:
    raw = obj.get("authors")
    candidates = raw if isinstance(raw, list) else [obj.get("author")]  # 1.1 uses a list, 1.0 one object
    names = [_text(a.get("name")) for a in candidates if isinstance(a, Mapping)]
    return tuple(dict.fromkeys(n for n in names if n))


def parse_feed(
    data: bytes,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> FeedResult:
    """Parse a feed document. ``headers`` are the HTTP response headers (content type and charset matter)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if not data.strip(b" \t\r\n\x00"):
        return Problem(Reason.EMPTY_BODY, "empty document", url)
    if looks_like_json(data, lowered.get("content-type")):
        return parse_json_feed(data, url=url)
    unsafe = unsafe_xml_reason(data) or unsafe_xml_reason(as_feedparser_reads(data, lowered))
    if unsafe:
        return Problem(Reason.UNSAFE_XML, unsafe, url)
    if url and "content-type" in lowered and "content-location" not in lowered:
        # Base for relative links. Only alongside a content type: feedparser takes any header set without
        # one as a server that sent no Content-Type and flags the document.
        lowered["content-location"] = url
    try:
        # A stream, never bytes or str: feedparser treats a string as a URL or file name and would fetch it.
        result = feedparser.parse(
            io.BytesIO(data), response_headers=lowered, sanitize_html=True, resolve_relative_uris=True
        )
    except Exception as exc:  # feedparser is robust, but one bad document must not stop the collector
        return Problem(Reason.MALFORMED_FEED, f"parser failed: {_describe(exc)}", url)
    warnings = (_describe(result.get("bozo_exception")),) if result.get("bozo") else ()
    version = result.get("version") or ""
    entries = result.get("entries") or []
    if not entries:
        if not version:
            detail = "no RSS/Atom/RDF structure found" + (f" ({warnings[0]})" if warnings else "")
            return Problem(Reason.NOT_A_FEED, detail, url)
        bozo_exc = result.get("bozo_exception")
        if warnings and not isinstance(bozo_exc, _BENIGN_BOZO):
            return Problem(Reason.MALFORMED_FEED, warnings[0], url)
        note = f" ({warnings[0]})" if warnings else ""
        return Problem(Reason.NO_ITEMS, f"{version} feed has no items{note}", url)
    feed = result.get("feed") or {}
    items = tuple(_item_from_entry(e, base=url) for e in entries)
    return ParsedFeed(
        items=items,
        format=version or "unknown",
        title=_text(feed.get("title")),
        link=_text(feed.get("link")) or None,
        language=_text(feed.get("language")) or None,
        encoding=result.get("encoding") or None,
        warnings=warnings,
    )
