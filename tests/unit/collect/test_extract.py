from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.collect.extract import (
    Extracted,
    decode_html,
    extract_article,
    extract_from_item,
    html_to_text,
    normalize_language,
    parse_datetime,
    read_page_meta,
)
from pipeline.collect.feeds import FeedItem
from pipeline.collect.problems import Problem, Reason
from tests.collect_samples import sample
from tests.unit.collect import extraction_quality

FULL_TEXT = (
    "<p>SAMPLE. The orchard cooperative in the invented valley of Brackwater finished its apple harvest a week "
    "early this year after a warm, dry September, its chairwoman said on Tuesday.</p><p>Members picked about "
    "nine hundred tonnes, a little more than last year, and expect to sell most of it to juice makers in the "
    "region. The cooperative plans to plant two hundred new trees in the spring.</p>"
)


GERMAN = (
    "SAMPLE. Die Bürgerinnen und Bürger von Grünhaven wählen am Sonntag einen neuen Gemeinderat. "
    "Die Wahllokale öffnen um acht Uhr; gezählt wird in der Turnhalle der Grundschule, später als üblich."
)


def extracted(result: Extracted | Problem) -> Extracted:
    assert isinstance(result, Extracted), result
    return result


def test_measurement_on_sample_pages_meets_the_bar() -> None:
    scores = extraction_quality.measure()
    totals = extraction_quality.summary(scores)
    assert all(s.error is None for s in scores), [s.error for s in scores]
    assert totals["mean_recall"] >= 0.95 and totals["mean_precision"] >= 0.95
    assert totals["pages_with_boilerplate"] == 0
    for name in ("title", "authors", "published", "updated", "language", "canonical"):
        assert totals[f"{name}_correct"] == totals["pages"], name


def test_dates_are_utc_and_canonical_is_same_site_only() -> None:
    bridge = extracted(extract_article(decode_html(sample("bridge.html")), url="https://gazette.example/n/b"))
    assert bridge.published == datetime(2026, 3, 12, 7, 30, tzinfo=UTC) and bridge.published.tzinfo is UTC
    assert bridge.canonical_url == "https://gazette.example/news/harbour-bridge-reopens"  # tracking params gone
    copy = extracted(extract_article(decode_html(sample("wire-copy.html")), url="https://courier.example/x"))
    # The copy claims the original's URL as canonical; another site's claim is not accepted.
    assert copy.canonical_url == "https://courier.example/x"


def test_feed_item_fills_what_the_page_lacks() -> None:
    item = FeedItem(
        link="https://saltbury.example/market",
        title="Feed title",
        published=datetime(2026, 6, 5, 9, 0, tzinfo=UTC),
        authors=("Feed Author",),
    )
    result = extracted(
        extract_article(
            decode_html(sample("market-minimal.html")),
            url="https://saltbury.example/market",
            item=item,
            feed_language="en-US",
            feed_title="Saltbury Sample News",
            min_chars=100,
        )
    )
    assert result.published == item.published and result.authors == ("Feed Author",)
    assert result.language == "en" and result.source == "page"
    assert result.title == "Fish market moves to the old rail depot"  # the page's own title wins


def test_teaser_page_falls_back_to_the_feed_text() -> None:
    item = FeedItem(link="https://orchard.example/harvest", title="Orchard harvest", content=FULL_TEXT)
    result = extracted(extract_article(decode_html(sample("teaser.html")), url=item.link or "", item=item))
    assert result.source == "feed" and "nine hundred tonnes" in result.text
    bare = extract_article(decode_html(sample("teaser.html")), url="https://orchard.example/harvest")
    assert isinstance(bare, Problem) and bare.reason is Reason.TEXT_TOO_SHORT


def test_extract_from_item_alone() -> None:
    item = FeedItem(link="https://orchard.example/harvest?utm_source=rss", title="Harvest", content=FULL_TEXT)
    result = extracted(extract_from_item(item, feed_language="en", feed_title="Orchard Sample"))
    assert result.canonical_url == "https://orchard.example/harvest" and result.source == "feed"
    assert extract_from_item(FeedItem(link=None, content=FULL_TEXT)).reason is Reason.NO_LINK  # type: ignore[union-attr]
    short = extract_from_item(FeedItem(link="https://o.example/x", summary="Too short."))
    assert isinstance(short, Problem) and short.reason is Reason.TEXT_TOO_SHORT


def test_unextractable_markup_is_a_problem_not_a_crash() -> None:
    for html in ("", "<html></html>", "<<<>>>", "\x00\x01"):
        assert isinstance(extract_article(html, url="https://x.example/"), Problem)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (GERMAN.encode(), "text/html; charset=iso-8859-1", GERMAN),  # the header lies; valid UTF-8 wins
        (GERMAN.encode("iso-8859-1"), "text/html; charset=utf-8", GERMAN),  # lies the other way
        (b'<meta charset="windows-1252"><p>caf\xe9 \x93quoted\x94</p>', None, "café “quoted”"),
        (GERMAN.encode("iso-8859-1"), "text/html; charset=bogus-charset", GERMAN),  # no usable label: guessed
    ],
)
def test_decode_html_survives_wrong_charsets(body: bytes, content_type: str | None, expected: str) -> None:
    assert expected in decode_html(body, content_type)


def test_german_latin1_page_through_meta_charset() -> None:
    page = extracted(extract_article(decode_html(sample("festival-de.html"), "text/html"), url="https://d.example/f"))
    assert "Grünhaven" in page.title and "zwölftausend" in page.text and page.language == "de"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-12T08:30:00+01:00", datetime(2026, 3, 12, 7, 30, tzinfo=UTC)),
        ("2026-03-12T08:30:00Z", datetime(2026, 3, 12, 8, 30, tzinfo=UTC)),
        ("2026-03-12T08:30:00+0100", datetime(2026, 3, 12, 7, 30, tzinfo=UTC)),
        ("2026-03-12T08:30:00+01", datetime(2026, 3, 12, 7, 30, tzinfo=UTC)),
        ("2026-03-12", datetime(2026, 3, 12, tzinfo=UTC)),
        ("2026-03-12 08:30", datetime(2026, 3, 12, 8, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime(value: str | None, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_language_tags() -> None:
    assert normalize_language("en-GB") == "en" and normalize_language("pt_BR") == "pt"
    assert normalize_language("not a tag!") is None and normalize_language(None) is None
    assert read_page_meta('<html xml:lang="fr"><body></body></html>').language == "fr"


def test_html_to_text_keeps_blocks_apart() -> None:
    assert html_to_text("<p>One</p><p>Two <b>bold</b></p><ul><li>a</li><li>b</li></ul>") == "One\nTwo bold\na\nb"
    assert html_to_text("plain   text") == "plain text"


def test_a_headline_repeated_as_the_first_line_is_not_part_of_the_text() -> None:
    from pipeline.collect.extract import strip_leading_title

    assert strip_leading_title("Dam opens  on time\nThe dam opened.", "Dam opens on time") == "The dam opened."
    assert strip_leading_title("Dam opens on time, officials say", "Dam opens on time") == (
        "Dam opens on time, officials say"
    )
