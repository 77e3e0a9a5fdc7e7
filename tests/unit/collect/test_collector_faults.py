"""The collector when one item, one feed or one host misbehaves: the rest goes on."""

from __future__ import annotations

import asyncio
import json
import time
from xml.sax.saxutils import escape

import pytest

from pipeline.collect import collector as collector_module
from pipeline.collect.collector import Collector, CollectReport, collect_once, collect_once_async
from pipeline.collect.feedlist import FeedConfig
from pipeline.collect.fetch import Fetcher
from pipeline.collect.publisher import KafkaPublisher, MemoryPublisher
from pipeline.collect.state import StateStore
from pipeline.settings import Settings
from tests.collect_samples import sample
from tests.httpserver import Route, SampleServer

TEXTS = [
    "Residents of the invented town of Brackwater gathered on Tuesday to hear the council's plans for a new "
    "library, a swimming pool and wider pavements along the old market street, which officials said would "
    "be finished within two years if the regional grant arrives on time.",
    "Fishermen in the made-up harbour of Eastmere say the spring catch was the smallest in a decade, blaming "
    "colder water and a late thaw; the cooperative will ask the ministry for help with fuel costs and repairs "
    "to three boats damaged in the February storms.",
    "A choir from the fictional village of Northvale won the county festival on Saturday with a programme of "
    "folk songs collected by its founder, beating eleven other groups; the prize money will pay for a tour of "
    "schools in the valley next autumn, the conductor said.",
]


def json_feed(server: SampleServer, items: list[dict[str, str]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Sample JSON", "items": items}).encode()


def test_a_json_feed_item_with_a_lone_surrogate_fails_alone(server: SampleServer, collect_settings: Settings) -> None:
    # "\ud800" is legal JSON but cannot be encoded as UTF-8: the item's text cannot go into a message.
    items = [
        {"id": "1", "url": server.url("/gone/1"), "title": "First", "content_text": TEXTS[0]},
        {"id": "2", "url": server.url("/gone/2"), "title": "Broken", "content_text": "Two \ud800. " + TEXTS[1]},
        {"id": "3", "url": server.url("/gone/3"), "title": "Third", "content_text": TEXTS[2]},
    ]
    server.routes["/feed.json"] = Route(json_feed(server, items), content_type="application/feed+json")
    publisher = MemoryPublisher()
    with StateStore(collect_settings.state_path) as store:
        report = collect_once(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store)
    (feed,) = report.feeds
    assert feed.status == "ok", feed.problem
    assert sorted(a.title for a in publisher.articles) == ["First", "Third"]
    (letter,) = publisher.dead_letters
    assert letter.stage == "collect" and "internal_error" in letter.reason
    assert letter.original_payload() is not None and letter.to_json_bytes()


def test_a_lone_surrogate_in_an_item_id_or_url_fails_no_other_item(
    server: SampleServer, collect_settings: Settings
) -> None:
    # The id is the item's key in the collector's state (SQLite, UTF-8): unescaped, it failed the whole feed.
    items = [
        {"id": "1", "url": server.url("/gone/1"), "title": "First", "content_text": TEXTS[0]},
        {"id": "2\ud800", "url": server.url("/gone/2"), "title": "Odd id", "content_text": TEXTS[1]},
        {"id": "3", "url": server.url("/gone/3\udfff"), "title": "Odd URL", "content_text": TEXTS[2]},
    ]
    server.routes["/feed.json"] = Route(json_feed(server, items), content_type="application/feed+json")
    publisher = MemoryPublisher()
    with StateStore(collect_settings.state_path) as store:
        (feed,) = collect_once(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store).feeds
        assert feed.status == "ok", feed.problem
        assert sorted(a.title for a in publisher.articles) == ["First", "Odd id"]
        (letter,) = publisher.dead_letters
        assert letter.key == server.url("/gone/3\\udfff") and "UnicodeEncodeError" in letter.reason
        # Settled under a stable key: the next poll neither republishes nor dead-letters anything again.
        (again,) = collect_once(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store).feeds
    assert again.status == "ok" and again.seen == 3, again
    assert len(publisher.articles) == 2 and len(publisher.dead_letters) == 1


def test_a_feed_that_crashes_the_poll_is_backed_off(
    server: SampleServer, collect_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/feed.xml"] = Route(sample("bridge.html"), content_type="application/rss+xml")

    def broken_parser(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in parsing")

    monkeypatch.setattr(collector_module, "parse_feed", broken_parser)
    settings = collect_settings.model_copy(update={"poll_min_interval_seconds": 60.0})
    with StateStore(settings.state_path) as store:
        report = collect_once(settings, [server.url("/feed.xml")], publisher=MemoryPublisher(), store=store)
        assert report.feeds[0].status == "failed"
        state = store.get_feed(FeedConfig(url=server.url("/feed.xml")).source_id)
    assert state is not None and state.next_poll_at is not None and state.next_poll_at > time.time() + 50
    assert state.consecutive_errors == 1


def test_a_slow_feed_does_not_delay_the_others(server: SampleServer, collect_settings: Settings) -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://127.0.0.1/</link>'
        b"</channel></rss>"
    )
    server.routes["/fast.xml"] = Route(rss, content_type="application/rss+xml")
    server.routes["/slow.xml"] = Route(rss, content_type="application/rss+xml", delay=1.8)
    settings = collect_settings.model_copy(
        update={"poll_min_interval_seconds": 1.0, "poll_max_interval_seconds": 1.0, "request_timeout_seconds": 5.0}
    )
    feeds = [FeedConfig(url=server.url("/slow.xml")), FeedConfig(url=server.url("/fast.xml"))]
    polled: list[str] = []

    async def run() -> None:
        stop = asyncio.Event()
        with StateStore(settings.state_path) as store:
            async with Fetcher(settings) as fetcher:
                collector = Collector(settings, publisher=MemoryPublisher(), store=store, fetcher=fetcher)

                def done(report: CollectReport) -> None:
                    polled.extend(f.feed for f in report.feeds)

                task = asyncio.create_task(collector.run_forever(feeds, stop, on_round=done))
                await asyncio.sleep(4.5)
                stop.set()
                await asyncio.wait_for(task, timeout=10)

    asyncio.run(run())
    fast, slow = feeds[1].source_id, feeds[0].source_id
    # Round by round, the fast feed would wait for the slow one (1.8 s) every time: at most 3 polls.
    assert polled.count(fast) >= 4, polled
    assert 1 <= polled.count(slow) <= 3


class SlowMetadataProducer:
    """Stands in for kafka-python's producer where it blocks: metadata for a topic that is not there yet."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.known: set[str] = set()

    def partitions_for(self, topic: str) -> set[int]:
        if topic not in self.known:  # like kafka-python: wait until the broker has metadata for the topic
            time.sleep(1.5)
            self.known.add(topic)
        return {0}

    def send(self, topic: str, key: str, value: bytes) -> object:
        self.partitions_for(topic)  # send() waits for the metadata too
        self.sent.append(key)

        class Acknowledged:
            def get(self, timeout: float = 0) -> None:
                return None

        return Acknowledged()

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


def test_waiting_for_topic_metadata_does_not_block_the_event_loop(
    server: SampleServer, collect_settings: Settings
) -> None:
    items = [{"id": "1", "url": server.url("/gone/1"), "title": "First", "content_text": TEXTS[0]}]
    server.routes["/feed.json"] = Route(json_feed(server, items), content_type="application/feed+json")
    producer = SlowMetadataProducer()
    gaps: list[float] = []

    async def run() -> None:
        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.05)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        with StateStore(collect_settings.state_path) as store:
            publisher = KafkaPublisher(collect_settings, producer=producer, ensure_topics=False)
            await collect_once_async(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store)
        ticking.cancel()

    asyncio.run(run())
    assert len(producer.sent) == 1
    assert max(gaps) < 1.0, f"the event loop stalled for {max(gaps):.1f}s"


def test_an_item_with_a_600_kb_link_gets_a_small_dead_letter_and_the_rest_is_published(
    server: SampleServer, collect_settings: Settings
) -> None:
    # Issue 21 (3): the letter was keyed by the whole link and kept it again in its payload, so it was larger
    # than the broker takes (see tests/integration/test_collector_kafka.py for the broker's side).
    huge = server.url("/news/" + "x" * 600_000)
    items = [
        {"id": "1", "url": server.url("/gone/1"), "title": "First", "content_text": TEXTS[0]},
        {"id": "2", "url": huge, "title": "Hostile", "content_text": TEXTS[1]},
        {"id": "3", "url": server.url("/gone/3"), "title": "Third", "content_text": TEXTS[2]},
    ]
    server.routes["/feed.json"] = Route(json_feed(server, items), content_type="application/feed+json")
    publisher = MemoryPublisher()
    with StateStore(collect_settings.state_path) as store:
        (feed,) = collect_once(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store).feeds
    assert (feed.status, feed.new, feed.rejected) == ("ok", 2, 1)
    (letter,) = publisher.dead_letters
    assert letter.reason.startswith("bad_url") and letter.key is not None and len(letter.key) <= 1_024
    assert len(letter.to_json_bytes()) < 64_000
    assert not [r for r in server.requests if len(r.path) > 10_000]  # the link was not fetched either


def test_every_field_of_an_article_is_capped(server: SampleServer, collect_settings: Settings) -> None:
    # A title or an author's name as long as the document: the message would outgrow the broker's limit.
    items = [
        {
            "id": "1",
            "url": server.url("/gone/1"),
            "title": "T" * 600_000,
            "content_text": TEXTS[0],
            "authors": [{"name": "A" * 300_000}, *({"name": f"Author {n}"} for n in range(500))],
        }
    ]
    server.routes["/feed.json"] = Route(json_feed(server, items), content_type="application/feed+json")
    publisher = MemoryPublisher()
    with StateStore(collect_settings.state_path) as store:
        collect_once(collect_settings, [server.url("/feed.json")], publisher=publisher, store=store)
    (article,) = publisher.articles
    assert len(article.title) <= 1_000 and len(article.authors) <= 20
    assert all(len(name) <= 200 for name in article.authors)
    assert len(article.to_json_bytes()) < 64_000


def test_parsing_a_large_feed_does_not_block_the_event_loop(server: SampleServer, collect_settings: Settings) -> None:
    # Issue 21 (1): feedparser ran on the event loop; a 5 MB feed took 9 s to parse (its HTML sanitised),
    # and every other feed and fetch of the collector waited that long.
    paragraph = "<p>Paragraph {n} of a long story, with <b>bold</b> and <a href='/x/{n}'>a link</a>.</p>"
    story = "".join(paragraph.format(n=n) for n in range(6_000))
    rss = (
        '<rss version="2.0"><channel><title>Long</title><item><title>Long story</title>'
        f"<link>{server.url('/news/bridge')}</link><description>{escape(story)}</description></item></channel></rss>"
    ).encode()
    server.routes["/feed.xml"] = Route(rss, content_type="application/rss+xml")
    server.routes["/news/bridge"] = Route(sample("bridge.html"))
    gaps: list[float] = []

    async def run() -> None:
        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.02)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        with StateStore(collect_settings.state_path) as store:
            report = await collect_once_async(
                collect_settings, [server.url("/feed.xml")], publisher=MemoryPublisher(), store=store
            )
        ticking.cancel()
        assert report.new == 1, report.feeds

    started = time.perf_counter()
    asyncio.run(run())
    took = time.perf_counter() - started
    assert max(gaps) < 0.75, f"the event loop stalled for {max(gaps):.2f}s of the poll's {took:.2f}s"


def test_allow_private_on_one_feed_opens_its_server_to_that_feed_only(
    server: SampleServer, collect_settings: Settings
) -> None:
    # Issue 21 (5): a feed's allow_private put its host into the fetcher's policy for the life of the process:
    # every later feed could reach it, and an IP literal became a /32 on every port.
    server.routes["/news/bridge"] = Route(sample("bridge.html"))
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    rss = (
        b'<rss version="2.0"><channel><title>Intranet</title><item><title>Bridge</title>'
        b"<link>/news/bridge</link></item></channel></rss>"
    )
    for path in ("/a.xml", "/b.xml"):
        server.routes[path] = Route(rss, content_type="application/rss+xml")
    other = SampleServer().start()  # the same host on another port
    other.routes["/c.xml"] = Route(rss, content_type="application/rss+xml")
    strict = collect_settings.model_copy(update={"allow_private_hosts": []})
    by_ip = FeedConfig(url=server.url("/a.xml"), allow_private=True)  # 127.0.0.1:PORT
    by_name = FeedConfig(url=server.url("/a.xml", host="localhost"), allow_private=True)
    same_address = FeedConfig(url=server.url("/b.xml", host="localhost"))
    same_origin = FeedConfig(url=server.url("/b.xml"))
    other_port = FeedConfig(url=other.url("/c.xml", host="localhost"))

    async def poll_in_turn(feeds: list[FeedConfig]) -> list[str]:
        with StateStore(":memory:") as store:
            async with Fetcher(strict) as fetcher:
                collector = Collector(strict, publisher=MemoryPublisher(), store=store, fetcher=fetcher)
                reports = [await collector.poll(feed) for feed in feeds]
        return [r.problem.reason.value if r.problem else f"{r.status}: {r.new} new" for r in reports]

    try:
        assert asyncio.run(poll_in_turn([by_ip, same_address, same_origin])) == [
            "ok: 1 new",  # the allowed feed and its page on the same server
            "blocked_address",  # another name for the same address
            "blocked_address",  # the very same server, but another feed
        ]
        assert asyncio.run(poll_in_turn([by_name, other_port])) == ["ok: 1 new", "blocked_address"]
    finally:
        other.stop()


def one_item_feed(link: str, etag: str, guid: str = "g-bridge") -> Route:
    rss = (
        '<rss version="2.0"><channel><title>Sample</title><item><title>Story</title>'
        f"<link>{link}</link><guid>{guid}</guid></item></channel></rss>"
    ).encode()
    return Route(rss, content_type="application/rss+xml", etag=etag)


class ClockedCollector:
    """A collector whose clock the test sets, polling one feed at a given time."""

    def __init__(self, settings: Settings, publisher: MemoryPublisher) -> None:
        self.settings = settings
        self.publisher = publisher
        self.now = 1_000_000.0

    def poll(self, feed: FeedConfig, at: float) -> CollectReport:
        self.now = at

        async def run() -> CollectReport:
            async with Fetcher(self.settings) as fetcher:
                with StateStore(self.settings.state_path) as store:
                    collector = Collector(
                        self.settings, publisher=self.publisher, store=store, fetcher=fetcher, clock=lambda: self.now
                    )
                    return CollectReport(feeds=[await collector.poll(feed)])

        return asyncio.run(run())


def test_an_item_given_up_on_is_tried_again_from_its_feed_after_a_back_off(
    server: SampleServer, collect_settings: Settings
) -> None:
    # Issue 21 (4): docs/faults.md and `deadletters` said a collector item is fetched again from its feed; an
    # item given up on was in fact never looked at again.
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    server.routes["/feed.xml"] = one_item_feed("/news/bridge", '"v1"')
    server.routes["/news/bridge"] = Route(b"", fail_first=10**6)  # 503 until replaced
    settings = collect_settings.model_copy(
        update={"max_item_attempts": 1, "item_retry_backoff_seconds": 3600, "fetch_retries": 0}
    )
    feed = FeedConfig(url=server.url("/feed.xml"))
    publisher = MemoryPublisher()
    collector = ClockedCollector(settings, publisher)
    start = collector.now

    first = collector.poll(feed, start)
    assert first.rejected == 1 and len(publisher.dead_letters) == 1
    assert collector.poll(feed, start + 60).not_modified == 1  # within the back-off: a conditional GET, 304
    again = collector.poll(feed, start + 3601)  # due: the feed is read in full, the item tried once more
    assert again.rejected == 1 and len(publisher.dead_letters) == 1  # failed again; its letter is out already
    assert collector.poll(feed, start + 3601 + 3601).not_modified == 1  # the back-off doubled (7,200 s)

    server.routes["/news/bridge"] = Route(sample("bridge.html"))  # the site is back
    later = collector.poll(feed, start + 3601 + 7201)
    assert later.new == 1 and [a.title for a in publisher.articles] == [
        "Harbour bridge in Eastmere reopens after repairs"
    ]
    assert collector.poll(feed, start + 10**6).not_modified == 1  # collected: nothing waits any more


def test_an_item_waiting_for_a_retry_that_leaves_its_feed_is_dead_lettered_and_the_feed_asked_conditionally(
    server: SampleServer, collect_settings: Settings
) -> None:
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    server.routes["/feed.xml"] = one_item_feed("/news/bridge", '"v1"')
    server.routes["/news/bridge"] = Route(b"", fail_first=10**6)
    server.routes["/news/council"] = Route(sample("council-ld.html"))
    settings = collect_settings.model_copy(update={"max_item_attempts": 3, "fetch_retries": 0})
    feed = FeedConfig(url=server.url("/feed.xml"))
    publisher = MemoryPublisher()
    collector = ClockedCollector(settings, publisher)
    assert collector.poll(feed, collector.now).retry == 1  # deferred, no letter yet
    server.routes["/feed.xml"] = one_item_feed("/news/council", '"v2"', guid="g-council")
    moved_on = collector.poll(feed, collector.now + 60)
    assert moved_on.new == 1 and moved_on.rejected == 1
    (letter,) = publisher.dead_letters
    assert letter.reason.startswith("left_feed") and (letter.key or "").endswith("/g-bridge")
    # Nothing waits any more, so the feed is asked conditionally again.
    assert collector.poll(feed, collector.now + 60).not_modified == 1
    assert server.requests[-1].headers.get("if-none-match") == '"v2"'
