"""The bundled demo feed and article pages (pipeline/samples): well-formed, complete, marked as fictional."""

from __future__ import annotations

import functools
import http.server
import re
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest

from pipeline.collect.feeds import ParsedFeed, parse_feed

SAMPLES = Path(__file__).resolve().parents[2] / "pipeline" / "samples"
FEED = SAMPLES / "feed.xml"
ARTICLES = SAMPLES / "articles"
MARKER = "Sample article written for the news-event-pipeline demo; events are fictional."
BASE = "http://samples.test:8765/feed.xml"


class PageParser(HTMLParser):
    """What the tests need from a sample page: head metadata, article paragraphs, visible text, comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.comments: list[str] = []
        self.paragraphs: list[str] = []
        self.text: list[str] = []
        self._stack: list[tuple[str, dict[str, str]]] = []
        self._in_article = 0
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = values.get("name") or values.get("property")
            if key:
                self.meta[key] = values.get("content", "")
            return
        if tag == "link":
            if values.get("rel") == "canonical":
                self.canonical = values.get("href")
            return
        self._stack.append((tag, values))
        if tag == "article":
            self._in_article += 1
        if tag == "p" and self._in_article and "byline" not in values.get("class", ""):
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph).strip())
            self._paragraph = None
        if tag == "article":
            self._in_article -= 1
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        tags = [t for t, _ in self._stack]
        if "title" in tags:
            self.title += data
        if "body" in tags:
            self.text.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


@pytest.fixture(scope="module")
def feed() -> feedparser.FeedParserDict:
    return feedparser.parse(
        FEED.read_bytes(), response_headers={"content-location": BASE, "content-type": "application/rss+xml"}
    )


def pages() -> list[Path]:
    return sorted(ARTICLES.glob("*.html"))


def test_feed_is_well_formed_rss(feed: feedparser.FeedParserDict) -> None:
    assert not feed.bozo, f"feed.xml is not well-formed: {feed.get('bozo_exception')}"
    assert feed.version == "rss20"
    assert "fictional" in feed.feed.get("description", "").lower()
    assert 6 <= len(feed.entries) <= 10


def test_feed_items_link_to_existing_pages(feed: feedparser.FeedParserDict) -> None:
    linked = set()
    for entry in feed.entries:
        # Links are relative in the file, so the feed works wherever the directory is served.
        resolved = urljoin(BASE, entry.link)
        assert resolved.startswith("http://samples.test:8765/articles/"), resolved
        page = SAMPLES / urlsplit(resolved).path.lstrip("/")
        assert page.is_file(), f"feed item {entry.title!r} links to missing {page}"
        linked.add(page.name)
        assert entry.get("id", "").startswith("news-event-pipeline-sample:")
        assert entry.get("published_parsed"), f"{entry.title!r} has no pubDate"
    assert linked == {p.name for p in pages()}, "every page is in the feed and every item has a page"


def test_raw_feed_links_are_relative() -> None:
    links = re.findall(r"<link>([^<]*)</link>", FEED.read_text(encoding="utf-8"))
    assert links and all("://" not in link for link in links), links


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.stem)
def test_page_is_complete_and_marked_as_sample(path: Path) -> None:
    page = parse_page(path)
    assert page.title.strip()
    assert page.meta.get("author", "").strip()
    published = datetime.fromisoformat(page.meta["article:published_time"])
    assert published.tzinfo is not None, "published time must carry a zone"
    assert page.canonical == f"/articles/{path.name}"
    assert 3 <= len(page.paragraphs) <= 6, f"{len(page.paragraphs)} paragraphs"
    assert all(len(p) > 40 for p in page.paragraphs)
    visible = " ".join(" ".join(page.text).split())
    assert MARKER in visible, "visible sample notice missing"
    assert any("SAMPLE" in c and "fictional" in c for c in page.comments), "sample HTML comment missing"


def test_feed_dates_match_pages(feed: feedparser.FeedParserDict) -> None:
    for entry in feed.entries:
        page = parse_page(SAMPLES / urlsplit(urljoin(BASE, entry.link)).path.lstrip("/"))
        published = datetime.fromisoformat(page.meta["article:published_time"])
        assert published.utctimetuple()[:6] == tuple(entry.published_parsed)[:6], entry.link


def _shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text.lower())
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _body(path: Path) -> str:
    return " ".join(parse_page(path).paragraphs)


def test_syndicated_copy_is_a_near_duplicate_and_the_rest_are_not() -> None:
    original, copy = ARTICLES / "state-visit-nairobi.html", ARTICLES / "state-visit-nairobi-wire.html"
    a, b = _shingles(_body(original)), _shingles(_body(copy))
    assert len(a & b) / len(a | b) >= 0.85, "the wire copy must stay above the collector's 0.8 threshold"
    assert _body(original) != _body(copy), "an exact copy would not exercise near-duplicate detection"
    assert parse_page(original).meta["og:site_name"] != parse_page(copy).meta["og:site_name"]
    others = [p for p in pages() if p != copy]
    for i, left in enumerate(others):
        for right in others[i + 1 :]:
            x, y = _shingles(_body(left)), _shingles(_body(right))
            assert len(x & y) / len(x | y) < 0.2, f"{left.stem} and {right.stem} look alike"


def test_collector_feed_parser_resolves_links() -> None:
    parsed = parse_feed(FEED.read_bytes(), url=BASE, headers={"Content-Type": "application/rss+xml"})
    assert isinstance(parsed, ParsedFeed), parsed
    assert {item.link for item in parsed.items} == {f"http://samples.test:8765/articles/{p.name}" for p in pages()}


@pytest.fixture()
def served() -> Iterator[str]:
    """The samples directory over HTTP, as the compose `samples` service serves it."""
    handler = functools.partial(QuietHandler, directory=str(SAMPLES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_served_feed_and_pages(served: str) -> None:
    with urllib.request.urlopen(f"{served}/feed.xml", timeout=5) as response:
        parsed = feedparser.parse(
            response.read(),
            response_headers={"content-location": f"{served}/feed.xml", "content-type": "application/rss+xml"},
        )
    assert parsed.entries
    for entry in parsed.entries:
        with urllib.request.urlopen(urljoin(f"{served}/feed.xml", entry.link), timeout=5) as response:
            assert response.status == 200
            assert MARKER in response.read().decode("utf-8")
    with urllib.request.urlopen(f"{served}/robots.txt", timeout=5) as response:
        assert b"Allow: /" in response.read()
