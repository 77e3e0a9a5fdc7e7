"""Feed parsing on small feeds written for these tests (all content is invented sample text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.collect.feeds import ParsedFeed, parse_feed, unsafe_xml_reason
from pipeline.collect.problems import Problem, Reason

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- SAMPLE feed for tests -->
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Sample Wire</title><link>http://news.example/</link><language>en-gb</language>
<item><title>First sample story</title><link>/stories/1</link><guid isPermaLink="false">sample-1</guid>
<pubDate>Tue, 03 Mar 2026 10:00:00 +0100</pubDate><dc:creator>Ann Example</dc:creator>
<description>Short summary one.</description>
<content:encoded><![CDATA[<p>Full text of the first sample story.</p>]]></content:encoded></item>
<item><title>Second sample story</title><guid>http://news.example/stories/2</guid></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Sample Atom</title><id>urn:sample</id>
<updated>2026-01-01T00:00:00Z</updated>
<entry><title>Atom entry é</title><id>urn:sample:1</id><link rel="alternate" href="https://news.example/a/1"/>
<published>2026-01-02T03:04:05-05:00</published><updated>2026-01-03T00:00:00Z</updated>
<author><name>Bo Sample</name></author><author><name>Cy Sample</name></author><summary>An entry.</summary></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://news.example/"><title>Sample RDF</title><link>http://news.example/</link><description>d</description></channel>
<item rdf:about="http://news.example/r/1"><title>RDF item</title><link>http://news.example/r/1</link><dc:date>2026-02-01T12:00:00Z</dc:date></item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>
<description>d</description><item><title>Old item</title><link>http://old.example/1</link></item></channel></rss>"""

ATOM03 = b"""<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old atom</title>
<entry><title>Atom 0.3 entry</title><link rel="alternate" type="text/html" href="http://old.example/a"/><id>x</id>
<issued>2005-01-01T00:00:00Z</issued><modified>2005-01-02T00:00:00Z</modified></entry></feed>"""


def parsed(result: ParsedFeed | Problem) -> ParsedFeed:
    assert isinstance(result, ParsedFeed), result
    return result


def test_rss20_items_and_fields() -> None:
    feed = parsed(parse_feed(RSS, url="http://news.example/feed.xml"))
    assert feed.format == "rss20" and not feed.bozo and feed.language == "en-gb"
    first, second = feed.items
    assert first.link == "http://news.example/stories/1"  # relative link resolved against the feed URL
    assert first.guid == "sample-1" and first.title == "First sample story"
    assert first.published == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert first.authors == ("Ann Example",)
    assert "Full text of the first sample story" in first.content
    assert second.link == "http://news.example/stories/2"  # a permalink guid stands in for the link


def test_atom10_dates_are_utc_and_authors_listed() -> None:
    feed = parsed(parse_feed(ATOM.encode("utf-8"), url="https://news.example/atom"))
    (item,) = feed.items
    assert feed.format == "atom10"
    assert item.published == datetime(2026, 1, 2, 8, 4, 5, tzinfo=UTC)
    assert item.updated == datetime(2026, 1, 3, tzinfo=UTC)
    assert item.published.tzinfo is UTC
    assert item.authors == ("Bo Sample", "Cy Sample")
    assert item.title == "Atom entry é"


@pytest.mark.parametrize(("data", "fmt"), [(RDF, "rss10"), (RSS091, "rss091u"), (ATOM03, "atom03")])
def test_older_formats(data: bytes, fmt: str) -> None:
    feed = parsed(parse_feed(data))
    assert feed.format == fmt and len(feed.items) == 1 and feed.items[0].link


def test_utf16_feed_with_bom() -> None:
    data = ATOM.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    feed = parsed(parse_feed(data))
    assert feed.items[0].title == "Atom entry é"


def test_charset_from_http_header_overrides_declaration() -> None:
    body = RSS.replace(b"First sample story", "Première histoire".encode("iso-8859-1"))
    feed = parse_feed(body, headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    assert parsed(feed).items[0].title == "Première histoire"


def test_ill_formed_feed_still_yields_items_with_a_warning() -> None:
    broken = RSS.replace(b"</channel></rss>", b"<item><title>Unclosed & bad</title><link>http://news.example/3</link>")
    feed = parsed(parse_feed(broken))
    assert feed.bozo and feed.warnings
    assert any(i.link == "http://news.example/3" for i in feed.items)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", Reason.EMPTY_BODY),
        (b"   \n", Reason.EMPTY_BODY),
        (b"<html><body><p>Just a page</p></body></html>", Reason.NOT_A_FEED),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>', Reason.NO_ITEMS),
        (b'<rss version="2.0"><channel><title>&aacute;</title></channel></rss', Reason.MALFORMED_FEED),
    ],
)
def test_problems_are_typed(data: bytes, reason: Reason) -> None:
    result = parse_feed(data)
    assert isinstance(result, Problem) and result.reason is reason, result


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rss version="2.0"><channel><title>&d;</title><item><title>&d;</title><link>http://x.example/</link></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&secret;</title><link>http://x.example/</link></item></channel></rss>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, BILLION_LAUGHS.decode().encode("utf-16")])
def test_entity_declarations_are_refused(data: bytes) -> None:
    result = parse_feed(data)
    assert isinstance(result, Problem) and result.reason is Reason.UNSAFE_XML


# Quadratic blow-up: one entity of 1,000 characters used 1,000 times, in a 4 KB document (a million characters).
QUADRATIC = (
    '<?xml version="1.0" encoding="ENCODING"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "a" * 1000 + '">\n]>\n'
    '<rss version="2.0"><channel><title>T</title><item><title>x</title><link>http://news.example/1</link>'
    "<description>" + "&a;" * 1000 + "</description></item></channel></rss>"
)


@pytest.mark.parametrize("encoding", ["cp037", "cp500", "cp1140", "utf-7"])
def test_entity_declarations_are_refused_whatever_the_encoding(encoding: str) -> None:
    # Issue 21 (1): in EBCDIC (or UTF-7) "<!ENTITY" is not those ASCII bytes; feedparser decodes the document
    # itself and its parsers then expanded the entity (a 56 KB feed gave a 100,000,000-character summary).
    data = QUADRATIC.replace("ENCODING", encoding).encode(encoding)
    if encoding == "utf-7":  # Python's encoder leaves "<!" as they are; UTF-7 may also write them in base64
        data = data.replace(b"<!ENTITY", b"+ADwAIQ-ENTITY")
    assert b"<!ENTITY" not in data
    result = parse_feed(data, url="http://news.example/feed", headers={"content-type": "application/rss+xml"})
    assert isinstance(result, Problem) and result.reason is Reason.UNSAFE_XML, result


def test_entity_declarations_are_refused_in_a_charset_named_only_by_the_http_header() -> None:
    data = QUADRATIC.replace('<?xml version="1.0" encoding="ENCODING"?>\n', "").encode("cp500")
    headers = {"content-type": "application/xml; charset=cp500"}
    result = parse_feed(data, url="http://news.example/feed", headers=headers)
    assert isinstance(result, Problem) and result.reason is Reason.UNSAFE_XML, result


def test_a_feed_in_ebcdic_without_entities_is_read() -> None:
    data = QUADRATIC.replace("ENCODING", "cp037").replace("&a;" * 1000, "Plain text.")
    data = data.replace(data[data.index("<!DOCTYPE") : data.index("<rss")], "")
    result = parse_feed(data.encode("cp037"), url="http://news.example/feed")
    assert isinstance(result, ParsedFeed) and result.items[0].summary == "Plain text."


def test_entity_text_inside_cdata_is_not_a_declaration() -> None:
    data = RSS.replace(b"Short summary one.", b"<![CDATA[how to write <!ENTITY x 'y'> in a DTD]]>")
    assert unsafe_xml_reason(data) is None
    assert isinstance(parse_feed(data), ParsedFeed)


def test_plain_doctype_without_entities_is_fine() -> None:
    data = RSS091.replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://x/rss-0.91.dtd">\n<rss',
        1,
    )
    assert isinstance(parse_feed(data), ParsedFeed)


def test_json_feed_1_1() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Sample JSON Feed",
        "home_page_url": "https://json.example/",
        "language": "en",
        "authors": [{"name": "Feed Author"}],
        "items": [
            {
                "id": "1",
                "url": "/posts/1",
                "title": "Posted",
                "content_html": "<p>Body</p>",
                "date_published": "2026-04-01T10:00:00+02:00",
                "date_modified": "2026-04-01T12:00:00Z",
            },
            {
                "id": 2,
                "external_url": "https://elsewhere.example/x",
                "content_text": "Text",
                "authors": [{"name": "Di"}],
            },
            "not an item",
        ],
    }
    feed = parsed(parse_feed(json.dumps(document).encode(), url="https://json.example/feed.json"))
    first, second = feed.items
    assert feed.format == "json11" and feed.warnings == ("item 2 is not an object",)
    assert first.link == "https://json.example/posts/1" and first.authors == ("Feed Author",)
    assert first.published == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert second.guid == "2" and second.link == "https://elsewhere.example/x" and second.authors == ("Di",)


def test_json_feed_1_0_author_and_problems() -> None:
    v1 = {
        "version": "https://jsonfeed.org/version/1",
        "author": {"name": "Solo"},
        "items": [{"id": "a", "url": "https://j.example/a"}],
    }
    feed = parsed(parse_feed(json.dumps(v1).encode(), headers={"content-type": "application/feed+json"}))
    assert feed.format == "json1" and feed.items[0].authors == ("Solo",)
    assert parse_feed(b'{"version": "x", "items": []}').reason is Reason.NOT_A_FEED  # type: ignore[union-attr]
    assert parse_feed(b'{"version": "https://jsonfeed.org/version/1.1"').reason is Reason.MALFORMED_FEED  # type: ignore[union-attr]
    deep = b'{"version": ' + b"[" * 100_000
    assert parse_feed(deep).reason is Reason.MALFORMED_FEED  # type: ignore[union-attr]


def test_a_string_is_never_taken_for_a_file_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # feedparser would open a file or URL given as a string; parse_feed only ever reads the bytes given.
    target = tmp_path / "feed.xml"
    target.write_bytes(RSS)
    result = parse_feed(str(target).encode())
    assert isinstance(result, Problem)
