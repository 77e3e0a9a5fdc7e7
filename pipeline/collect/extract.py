"""Article extraction: main text and metadata from a page (trafilatura), the feed item as fallback.

Pure functions of their input; nothing here does I/O. Every date returned is timezone-aware UTC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import lxml.html
import trafilatura
from charset_normalizer import from_bytes
from lxml import etree

from pipeline.collect.feeds import FeedItem
from pipeline.collect.limits import (
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_LANGUAGE_CHARS,
    MAX_SITE_NAME_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    cut,
)
from pipeline.collect.problems import Problem, Reason
from pipeline.collect.urls import canonicalize, is_http_url, same_site

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "section"}
)
# htmldate (inside trafilatura) returns only a day unless asked for a format; we want the time and zone.
_DATE_PARAMS = {"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


@dataclass(frozen=True, slots=True)
class Extracted:
    url: str  # where the text came from (the page after redirects, or the item link)
    canonical_url: str
    title: str
    text: str
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    source: Literal["page", "feed"] = "page"


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the page's own markup declares, read directly for precision (trafilatura keeps only some)."""

    language: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    canonical: str | None = None  # as written: may be relative


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    how: Literal["utf-8", "declared", "guessed", "fallback"]
    replaced: int = 0  # characters that could not be decoded, now U+FFFD

    def warning(self) -> str | None:
        """What a person reading the text should know about its decoding, None when it was plain UTF-8."""
        if self.how in ("utf-8", "declared") and not self.replaced:
            return None
        said = f"not UTF-8; read as {self.encoding} ({'a guess' if self.how == 'guessed' else 'a last resort'})"
        if self.replaced:
            said += f", {self.replaced} undecodable byte(s) replaced by U+FFFD"
        return said


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Text of an HTML body whose declared charset may be wrong (see ``decode_bytes``)."""
    return decode_bytes(body, content_type).text


def decode_bytes(body: bytes, content_type: str | None = None) -> Decoded:
    """Text of bytes whose declared charset may be wrong, and how it was decoded.

    Valid UTF-8 with non-ASCII bytes is UTF-8 whatever the header says (the usual lie is a default
    "ISO-8859-1" header in front of UTF-8 pages, which would decode without error into mojibake). Otherwise
    the declared charset (header, then <meta>), then a statistical guess; bytes the guess cannot decode are
    replaced, never fatal.
    """
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    declared: list[str] = []
    if content_type and "charset=" in content_type.lower():
        declared.append(content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'"))
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        declared.append(meta.group(1).decode("ascii", "ignore"))
    for charset in declared:
        if charset.replace("-", "").replace("_", "") == "utf8":
            continue  # already failed
        try:
            return Decoded(body.decode(charset), charset, "declared")
        except (LookupError, UnicodeDecodeError):
            continue
    guess = from_bytes(body[:200_000]).best()
    if guess is not None and guess.encoding:
        return _replacing(body, guess.encoding, "guessed")
    return _replacing(body, "cp1252", "fallback")


def _replacing(body: bytes, encoding: str, how: Literal["guessed", "fallback"]) -> Decoded:
    text = body.decode(encoding, errors="replace")
    return Decoded(text, encoding, how, text.count("\ufffd"))


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date or datetime as aware UTC; a value without a zone is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # Python 3.11 reads '+0200' but not '+02' alone; normalise the common variants first.
    text = re.sub(r"([+-]\d{2})$", r"\1:00", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def normalize_language(value: str | None) -> str | None:
    """Primary language subtag, lower case ('en-GB' -> 'en'); None for anything that is not a tag."""
    if not value:
        return None
    value = value.strip()
    if not _LANG.match(value):
        return None
    return value.replace("_", "-").split("-")[0].lower()


def _json_ld_dates(tree: Any) -> tuple[datetime | None, datetime | None]:
    published: datetime | None = None
    modified: datetime | None = None
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:  # JSON-LD nests articles in @graph lists; walk it without recursion
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                published = published or parse_datetime(node.get("datePublished"))
                modified = modified or parse_datetime(node.get("dateModified"))
                stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return published, modified


def read_page_meta(html: str) -> PageMeta:
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return PageMeta()

    def meta(*names: str) -> str | None:
        for name in names:
            for attr in ("property", "name", "itemprop", "http-equiv"):
                values = tree.xpath(f'//meta[@{attr}="{name}"]/@content')
                if values and str(values[0]).strip():
                    return str(values[0]).strip()
        return None

    html_lang = tree.get("lang") or tree.get("xml:lang")  # the HTML parser keeps 'xml:lang' as a plain name
    language = normalize_language(html_lang) or normalize_language(meta("content-language", "og:locale", "language"))
    ld_published, ld_modified = _json_ld_dates(tree)
    published = parse_datetime(meta("article:published_time", "datePublished", "pubdate")) or ld_published
    modified = parse_datetime(meta("article:modified_time", "dateModified", "og:updated_time")) or ld_modified
    links = tree.xpath('//link[@rel="canonical"]/@href')
    canonical = str(links[0]).strip() if links and str(links[0]).strip() else meta("og:url")
    return PageMeta(language=language, published=published, modified=modified, canonical=canonical)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed item's content), one line per block."""
    if "<" not in fragment:
        return " ".join(fragment.split())
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _authors(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names = (n.strip() for n in value.split(";"))  # trafilatura joins several authors with '; '
    return tuple(dict.fromkeys(n for n in names if n))


def choose_canonical(declared: str | None, page_url: str) -> str:
    """The page's declared canonical URL if it is on the same site, else the URL it was fetched from."""
    if declared and is_http_url(declared) and (same_site(declared, page_url) or not is_http_url(page_url)):
        return canonicalize(declared)
    if is_http_url(page_url):
        return canonicalize(page_url)
    return page_url  # a local file (feed given as a path): its URI is its identity


def _pick_title(page_title: str, item: FeedItem | None, source: Literal["page", "feed"]) -> str:
    # When the text came from the feed (paywall teaser page), the feed's title is the one that goes with it.
    if item and item.title and (source == "feed" or not page_title):
        return item.title
    return page_title


def _pick_published(meta: PageMeta, doc_date: datetime | None, item: FeedItem | None) -> datetime | None:
    # Machine-readable page metadata first; then the feed's timestamp (precise, zoned); trafilatura's
    # heuristic date last, as it may have only a day.
    if meta.published:
        return meta.published
    if item and (item.published or item.updated):
        return item.published or item.updated
    return doc_date


def extract_article(
    html: str,
    *,
    url: str,
    item: FeedItem | None = None,
    feed_language: str | None = None,
    feed_title: str | None = None,
    min_chars: int = 200,
) -> Extracted | Problem:
    """Extract the article at ``url`` (final URL after redirects) from its HTML."""
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=_DATE_PARAMS,
        )
    except Exception as exc:  # trafilatura/lxml fail on some pathological markup; that is a page problem
        return Problem(Reason.EXTRACTION_FAILED, f"{type(exc).__name__}: {exc}"[:300], url)
    meta = read_page_meta(html)
    fields: dict[str, Any] = {}
    if doc is not None and not isinstance(doc, dict):
        fields = {slot: getattr(doc, slot, None) for slot in ("title", "author", "url", "sitename", "date")}
        fields["text"] = doc.text or ""
    elif isinstance(doc, dict):
        fields = doc
    text = (fields.get("text") or "").strip()
    feed_text = html_to_text(item.content or item.summary) if item else ""
    source: Literal["page", "feed"] = "page"
    if len(text) < min_chars and len(feed_text) > len(text):
        # The page gave little (paywall teaser, script-rendered page); the feed may carry the full story.
        text, source = feed_text, "feed"
    if not text:
        return Problem(Reason.NO_TEXT, "no article text found", url)
    if len(text) < min_chars:
        return Problem(Reason.TEXT_TOO_SHORT, f"{len(text)} characters < {min_chars}", url)
    title = _pick_title((fields.get("title") or "").strip(), item, source)
    text = strip_leading_title(text, title)
    # trafilatura drops a relative canonical link in favour of the URL it is given; read ours first.
    declared = meta.canonical or fields.get("url")
    try:
        # A declared canonical URL may be relative ('/news/x'); it is relative to the page.
        canonical = choose_canonical(urljoin(url, declared) if declared else None, url)
    except ValueError as exc:
        return Problem(Reason.BAD_URL, str(exc), url)
    return Extracted(
        url=url,
        canonical_url=canonical,
        title=title,
        text=text,
        authors=_authors(fields.get("author")) or (item.authors if item else ()),
        published=_pick_published(meta, parse_datetime(fields.get("date")), item),
        updated=meta.modified or (item.updated if item else None),
        language=meta.language or normalize_language(feed_language),
        site_name=(fields.get("sitename") or "").strip() or feed_title or None,
        source=source,
    )


def strip_leading_title(text: str, title: str) -> str:
    """Drop the headline when the body repeats it as its first line (an <h1> inside <article>): it is not
    part of the story, and left in, it runs into the first sentence and spoils the sentence splitting."""
    if not title:
        return text
    first, newline, rest = text.partition("\n")
    if newline and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest.lstrip()
    return text


def extract_from_item(
    item: FeedItem,
    *,
    feed_language: str | None = None,
    feed_title: str | None = None,
    min_chars: int = 200,
) -> Extracted | Problem:
    """An article from the feed item alone (page not fetched, not allowed, or not reachable)."""
    link = item.link
    if not link or not is_http_url(link):
        return Problem(Reason.NO_LINK, "item has no http(s) link", link)
    text = html_to_text(item.content or item.summary)
    if not text:
        return Problem(Reason.NO_TEXT, "item carries no text", link)
    if len(text) < min_chars:
        return Problem(Reason.TEXT_TOO_SHORT, f"feed text {len(text)} characters < {min_chars}", link)
    try:
        canonical = canonicalize(link)
    except ValueError as exc:
        return Problem(Reason.BAD_URL, str(exc), link)
    return Extracted(
        url=link,
        canonical_url=canonical,
        title=item.title,
        text=text,
        authors=item.authors,
        published=item.published or item.updated,
        updated=item.updated,
        language=normalize_language(feed_language),
        site_name=feed_title or None,
        source="feed",
    )


def bounded_article(extracted: Extracted) -> Extracted | Problem:
    """The article with every field within ``pipeline.collect.limits``, or why it cannot be (a URL too long
    to keep: cut, it would name another page). A declared canonical URL that is too long gives way to the
    page's own URL, as one on another site does."""
    if len(extracted.url) > MAX_URL_CHARS:
        return Problem(Reason.BAD_URL, f"URL of {len(extracted.url)} characters > {MAX_URL_CHARS}", extracted.url)
    canonical = extracted.canonical_url
    if len(canonical) > MAX_URL_CHARS:
        canonical = choose_canonical(None, extracted.url)
    authors = tuple(dict.fromkeys(cut(name, MAX_AUTHOR_CHARS) for name in extracted.authors[:MAX_AUTHORS]))
    site_name = cut(extracted.site_name, MAX_SITE_NAME_CHARS) if extracted.site_name else extracted.site_name
    language = extracted.language
    if language is not None and len(language) > MAX_LANGUAGE_CHARS:
        language = None  # not a language tag
    return replace(
        extracted,
        canonical_url=canonical,
        title=cut(extracted.title, MAX_TITLE_CHARS),
        authors=authors,
        site_name=site_name,
        language=language,
    )
