"""The collector end to end against the local HTTP server, publishing into memory."""

from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pipeline.collect.collector import CollectReport, collect_once, collect_once_async
from pipeline.collect.feedlist import FeedConfig
from pipeline.collect.publisher import MemoryPublisher, PublishError
from pipeline.collect.state import StateStore
from pipeline.settings import Settings
from tests.collect_samples import sample
from tests.httpserver import Route, SampleServer

TEASER_FEED_TEXT = (
    "<p>SAMPLE. The orchard cooperative in the invented valley of Brackwater finished its apple harvest a week "
    "early this year after a warm, dry September, its chairwoman said on Tuesday.</p><p>Members picked about "
    "nine hundred tonnes, a little more than last year, and expect to sell most of it to juice makers.</p>"
)


def rss(items: list[dict[str, str]]) -> bytes:
    """A small RSS 2.0 document (SAMPLE feed written for these tests)."""
    parts = []
    for item in items:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items() if k != "content")
        if "content" in item:
            fields += f"<description>{escape(item['content'])}</description>"
        parts.append(f"<item>{fields}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Sample Local News</title>'
        f"<link>http://127.0.0.1/</link><language>en</language>{''.join(parts)}</channel></rss>"
    ).encode()


STANDARD_ITEMS = [
    {"title": "Bridge", "link": "/news/bridge", "guid": "g-bridge", "pubDate": "Thu, 12 Mar 2026 07:30:00 GMT"},
    {"title": "Council", "link": "/news/council", "guid": "g-council"},
    {"title": "Market", "link": "/news/market", "guid": "g-market", "pubDate": "Fri, 13 Mar 2026 09:00:00 GMT"},
    {"title": "Wire copy", "link": "/wire/bridge-copy", "guid": "g-wire"},
    {"title": "Harvest", "link": "/news/teaser", "guid": "g-teaser", "content": TEASER_FEED_TEXT},
    {"title": "Gone", "link": "/news/gone", "guid": "g-gone"},
    {"title": "Private", "link": "/private/page", "guid": "g-private"},
    {"title": "Flaky", "link": "/news/flaky", "guid": "g-flaky"},
]


def serve_site(server: SampleServer, items: list[dict[str, str]] | None = None, etag: str = '"feed-v1"') -> None:
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.routes["/feed.xml"] = Route(rss(items or STANDARD_ITEMS), content_type="application/rss+xml", etag=etag)
    server.routes["/news/bridge"] = Route(sample("bridge.html"))
    server.routes["/news/council"] = Route(sample("council-ld.html"))
    server.routes["/news/market"] = Route(sample("market-minimal.html"))
    server.routes["/wire/bridge-copy"] = Route(sample("wire-copy.html"))
    server.routes["/news/teaser"] = Route(sample("teaser.html"))
    server.routes["/private/page"] = Route(sample("council-ld.html"))
    server.routes["/news/flaky"] = Route(sample("festival-de.html"), fail_first=1000)


def run_once(settings: Settings, feeds: list[FeedConfig | str], publisher: MemoryPublisher) -> CollectReport:
    with StateStore(settings.state_path) as store:
        return collect_once(settings, feeds, publisher=publisher, store=store)


@pytest.fixture
def settings(collect_settings: Settings) -> Settings:
    return collect_settings.model_copy(update={"fetch_retries": 0, "max_item_attempts": 2})


def test_first_poll_publishes_new_articles_and_dead_letters_rejects(server: SampleServer, settings: Settings) -> None:
    serve_site(server)
    publisher = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], publisher)
    (feed,) = report.feeds
    assert feed.status == "ok" and feed.items == 8
    assert (feed.new, feed.duplicate, feed.rejected, feed.retry, feed.updated) == (4, 1, 2, 1, 0)
    titles = sorted(a.title for a in publisher.articles)
    assert titles == [
        "Fish market moves to the old rail depot",
        "Harbour bridge in Eastmere reopens after repairs",
        "Harvest",  # the teaser page gave too little: the feed's text was used, with the feed's title
        "Northvale council approves budget with new money for schools",
    ]
    assert not server.hits("/private/page")  # robots.txt respected
    reasons = sorted(d.reason.split(":")[0] for d in publisher.dead_letters)
    assert reasons == ["http_error", "robots_disallowed"]
    assert all(d.stage == "collect" and d.payload for d in publisher.dead_letters)
    assert publisher.flushes >= 1

    bridge = next(a for a in publisher.articles if a.title.startswith("Harbour"))
    assert bridge.canonical_url == server.url("/news/harbour-bridge-reopens")
    assert bridge.revision == 1 and bridge.feed_url == server.url("/feed.xml") and bridge.content_hash
    assert bridge.published_at is not None and bridge.published_at.tzinfo is not None
    assert bridge.published_at.utcoffset() == UTC.utcoffset(None)
    assert bridge.language == "en" and bridge.site_name == "The Sample Gazette"
    market = next(a for a in publisher.articles if a.title.startswith("Fish"))
    assert market.published_at is not None and market.published_at.isoformat() == "2026-03-13T09:00:00+00:00"
    assert len({a.article_id for a in publisher.articles}) == 4


def test_second_poll_publishes_nothing_new(server: SampleServer, settings: Settings) -> None:
    serve_site(server)
    run_once(settings, [server.url("/feed.xml")], MemoryPublisher())
    page_hits = len(server.requests)
    again = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], again)
    assert again.articles == [] and report.new == 0 and report.updated == 0
    # The flaky item is retried (and now gives up: max_item_attempts=2); nothing else is fetched again.
    assert report.rejected == 1 and [d.reason.split(":")[0] for d in again.dead_letters] == ["server_error"]
    # (robots.txt is cached per process, and this is a new process as far as the collector knows.)
    assert {r.path for r in server.requests[page_hits:]} - {"/robots.txt"} == {"/feed.xml", "/news/flaky"}
    # Third time: nothing pending any more, so the feed is asked for conditionally and answers 304.
    third = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], third)
    assert report.not_modified == 1 and third.articles == [] and third.dead_letters == []
    assert server.requests[-1].headers.get("if-none-match") == '"feed-v1"'


def test_changed_text_is_a_new_revision_with_the_same_id(server: SampleServer, settings: Settings) -> None:
    items = [STANDARD_ITEMS[0]]
    serve_site(server, items)
    first = MemoryPublisher()
    run_once(settings, [server.url("/feed.xml")], first)
    (original,) = first.articles

    revised_page = sample("bridge.html").replace(b"planned for 2031.", b"planned for 2031. Correction: 2032.")
    server.routes["/news/bridge"] = Route(revised_page)
    updated_item = dict(items[0], pubDate="Thu, 12 Mar 2026 12:00:00 GMT")
    server.routes["/feed.xml"] = Route(rss([updated_item]), content_type="application/rss+xml", etag='"feed-v2"')
    second = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], second)
    (revision,) = second.articles
    assert report.updated == 1 and revision.article_id == original.article_id and revision.revision == 2
    assert revision.content_hash != original.content_hash and "Correction" in revision.text

    # The feed entry changes again but the page does not: unchanged, nothing published.
    server.routes["/feed.xml"] = Route(
        rss([dict(updated_item, title="Bridge (retitled)")]), content_type="application/rss+xml", etag='"feed-v3"'
    )
    third = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], third)
    assert report.unchanged == 1 and third.articles == []


def test_syndicated_copy_in_another_feed_is_a_duplicate(server: SampleServer, settings: Settings) -> None:
    serve_site(server, [STANDARD_ITEMS[0]])
    server.routes["/other-feed.xml"] = Route(rss([STANDARD_ITEMS[3]]), content_type="application/rss+xml")
    publisher = MemoryPublisher()
    run_once(settings, [server.url("/feed.xml")], publisher)
    report = run_once(settings, [server.url("/other-feed.xml")], publisher)
    assert report.duplicate == 1 and len(publisher.articles) == 1


def test_failed_publish_commits_nothing(server: SampleServer, settings: Settings) -> None:
    class BrokenPublisher(MemoryPublisher):
        def flush(self) -> int:
            raise PublishError("0 of 2 messages acknowledged")

    serve_site(server, STANDARD_ITEMS[:2])
    with pytest.raises(PublishError):
        run_once(settings, [server.url("/feed.xml")], BrokenPublisher())
    retry = MemoryPublisher()
    report = run_once(settings, [server.url("/feed.xml")], retry)
    assert report.new == 2 and len(retry.articles) == 2  # nothing was marked done by the failed run


def test_feed_level_failures_are_reported(server: SampleServer, settings: Settings) -> None:
    server.routes["/broken.xml"] = Route(b"<html><p>not a feed</p></html>", content_type="text/html")
    server.routes["/empty.xml"] = Route(
        b'<rss version="2.0"><channel><title>t</title></channel></rss>', content_type="application/rss+xml"
    )
    report = run_once(
        settings,
        [server.url("/broken.xml"), server.url("/missing.xml"), server.url("/empty.xml")],
        MemoryPublisher(),
    )
    broken, missing, empty = report.feeds
    assert broken.status == "failed" and broken.problem and broken.problem.reason.value == "not_a_feed"
    assert missing.status == "failed" and missing.problem and missing.problem.reason.value == "http_error"
    assert empty.status == "ok" and empty.items == 0
    with StateStore(settings.state_path) as store:
        state = store.get_feed(server.url("/broken.xml"))
        assert state is not None and state.consecutive_errors == 1
        assert state.interval_seconds == settings.poll_interval_seconds * 2  # backs off


def test_adaptive_interval_follows_activity(server: SampleServer, settings: Settings) -> None:
    serve_site(server, [STANDARD_ITEMS[0]])
    run_once(settings, [server.url("/feed.xml")], MemoryPublisher())
    with StateStore(settings.state_path) as store:
        active = store.get_feed(server.url("/feed.xml"))
    assert active is not None and active.interval_seconds == settings.poll_interval_seconds / 2
    run_once(settings, [server.url("/feed.xml")], MemoryPublisher())  # 304
    with StateStore(settings.state_path) as store:
        quiet = store.get_feed(server.url("/feed.xml"))
    assert quiet is not None and quiet.interval_seconds == active.interval_seconds * 1.5
    assert quiet.etag == '"feed-v1"' and quiet.next_poll_at is not None


def test_local_feed_file_with_local_and_remote_pages(server: SampleServer, settings: Settings, tmp_path: Path) -> None:
    serve_site(server)
    site = tmp_path / "site"
    (site / "articles").mkdir(parents=True)
    (site / "articles" / "council.html").write_bytes(sample("council-ld.html"))
    (tmp_path / "secret.html").write_bytes(sample("festival-de.html"))
    items = [
        {"title": "Local", "link": "articles/council.html", "guid": "l1"},
        {"title": "Remote", "link": server.url("/news/bridge"), "guid": "l2"},
        {"title": "Escape", "link": "../secret.html", "guid": "l3"},
    ]
    feed_file = site / "feed.xml"
    feed_file.write_bytes(rss(items).replace(b"<link>http://127.0.0.1/</link>", b""))
    publisher = MemoryPublisher()
    report = run_once(settings, [str(feed_file)], publisher)
    assert report.new == 2 and report.rejected == 1
    assert [d.reason.split(":")[0] for d in publisher.dead_letters] == ["bad_url"]
    assert report.feeds[0].feed == feed_file.resolve().as_uri()


def test_many_feeds_on_one_host_respect_the_host_limit(server: SampleServer, settings: Settings) -> None:
    for n in range(6):
        server.routes[f"/f{n}.xml"] = Route(
            rss([{"title": f"t{n}", "link": f"/p{n}", "guid": f"g{n}"}]), content_type="application/rss+xml", delay=0.1
        )
        server.routes[f"/p{n}"] = Route(sample("bridge.html").replace(b"1962", str(1900 + n).encode()), delay=0.1)
    server.routes["/robots.txt"] = Route(b"", status=404)
    limited = settings.model_copy(update={"per_host_concurrency": 2})
    with StateStore(limited.state_path) as store:
        report = asyncio.run(
            collect_once_async(
                limited, [server.url(f"/f{n}.xml") for n in range(6)], publisher=MemoryPublisher(), store=store
            )
        )
    assert report.feeds_polled == 6 and server.max_in_flight <= 2


def test_disabled_feeds_are_skipped(server: SampleServer, settings: Settings) -> None:
    serve_site(server)
    report = run_once(settings, [FeedConfig(url=server.url("/feed.xml"), enabled=False)], MemoryPublisher())
    assert report.feeds == [] and server.requests == []


def test_feed_text_only_mode(server: SampleServer, settings: Settings) -> None:
    serve_site(server, [STANDARD_ITEMS[4]])
    feed = FeedConfig(url=server.url("/feed.xml"), fetch_pages=False)
    publisher = MemoryPublisher()
    report = run_once(settings, [feed], publisher)
    assert report.new == 1 and not server.hits("/news/teaser")


def test_report_renders_as_a_table(server: SampleServer, settings: Settings) -> None:
    serve_site(server, STANDARD_ITEMS[:1])
    report = run_once(settings, [server.url("/feed.xml")], MemoryPublisher())
    from rich.console import Console

    console = Console(record=True, width=160)
    console.print(report)
    text = console.export_text()
    assert "new" in text and "duplicate" in text and "not modified" in text
    assert report.totals()["new"] == 1


def test_polling_loop_runs_rounds_until_stopped(server: SampleServer, settings: Settings) -> None:
    from pipeline.collect.collector import Collector
    from pipeline.collect.fetch import Fetcher

    serve_site(server, [STANDARD_ITEMS[0]])
    rounds: list[CollectReport] = []

    async def scenario() -> None:
        stop = asyncio.Event()

        def on_round(report: CollectReport) -> None:
            rounds.append(report)
            stop.set()

        with StateStore(settings.state_path) as store:
            async with Fetcher(settings) as fetcher:
                collector = Collector(settings, publisher=MemoryPublisher(), store=store, fetcher=fetcher)
                feeds = [FeedConfig(url=server.url("/feed.xml"))]
                await asyncio.wait_for(collector.run_forever(feeds, stop, on_round=on_round), timeout=30)
                # Just polled: not due again until its interval has passed.
                assert not collector.due(feeds[0])
                assert collector.next_due_in(feeds) == pytest.approx(settings.poll_interval_seconds / 2, abs=5)

    asyncio.run(scenario())
    assert len(rounds) == 1 and rounds[0].new == 1
