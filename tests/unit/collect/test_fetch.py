"""The fetcher against a real HTTP server on 127.0.0.1 (see tests/httpserver.py)."""

from __future__ import annotations

import asyncio
import gzip
import random
import tracemalloc
import zlib
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from pipeline.collect.fetch import (
    Fetched,
    Fetcher,
    Validators,
    backoff_delay,
    binary_body_problem,
    content_type_problem,
    parse_retry_after,
)
from pipeline.collect.problems import Problem, Reason
from pipeline.settings import Settings
from tests.httpserver import Route, SampleServer, redirect

T = TypeVar("T")
PAGE = b"<html><body><p>SAMPLE page body for fetch tests.</p></body></html>"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><item><link>http://x.example/</link></item></channel></rss>'


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(
    settings: Settings, url: str, kind: str = "page", validators: Validators | None = None
) -> Fetched | Problem:
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url, kind=kind, validators=validators)  # type: ignore[arg-type]


def ok(result: Fetched | Problem) -> Fetched:
    assert isinstance(result, Fetched), result
    return result


def problem(result: Fetched | Problem, reason: Reason) -> Problem:
    assert isinstance(result, Problem) and result.reason is reason, result
    return result


# Conditional GET, headers.


def test_etag_round_trip_gives_304(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/feed.xml"] = Route(FEED, content_type="application/rss+xml", etag='"v1"')
    first = ok(run(fetch(collect_settings, server.url("/feed.xml"), "feed")))
    assert first.status == 200 and first.validators.etag == '"v1"' and first.body == FEED
    second = ok(run(fetch(collect_settings, server.url("/feed.xml"), "feed", first.validators)))
    assert second.not_modified and second.body == b""
    assert server.requests[-1].headers["if-none-match"] == '"v1"'


def test_last_modified_round_trip_gives_304(server: SampleServer, collect_settings: Settings) -> None:
    stamp = "Wed, 04 Mar 2026 10:00:00 GMT"
    server.routes["/feed.xml"] = Route(FEED, content_type="application/rss+xml", last_modified=stamp)
    first = ok(run(fetch(collect_settings, server.url("/feed.xml"), "feed")))
    assert first.validators == Validators(None, stamp)
    assert ok(run(fetch(collect_settings, server.url("/feed.xml"), "feed", first.validators))).not_modified
    assert server.requests[-1].headers["if-modified-since"] == stamp


def test_user_agent_is_the_configured_one(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/p"] = Route(PAGE)
    custom = collect_settings.model_copy(update={"user_agent": "sample-agent/9.9 (+tests)"})
    ok(run(fetch(custom, server.url("/p"))))
    assert server.hits("/p")[0].headers["user-agent"] == "sample-agent/9.9 (+tests)"


# Redirects, each hop checked.


def test_redirects_are_followed_and_recorded(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect(server.url("/c"), 307)
    server.routes["/c"] = Route(PAGE)
    result = ok(run(fetch(collect_settings, server.url("/a"))))
    assert result.final_url == server.url("/c")
    assert result.redirects == (server.url("/a"), server.url("/b"))


def test_redirect_to_another_scheme_is_refused(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/a"] = redirect("file:///etc/passwd")
    problem(run(fetch(collect_settings, server.url("/a"))), Reason.BAD_SCHEME)


def test_redirect_loop_stops(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/loop"] = redirect("/loop")
    problem(run(fetch(collect_settings, server.url("/loop"))), Reason.TOO_MANY_REDIRECTS)
    assert len(server.hits("/loop")) == collect_settings.max_redirects + 1


def test_redirect_to_a_private_address_is_refused(server: SampleServer, collect_settings: Settings) -> None:
    # Only the name 'localhost' is allowed; a redirect to the IP literal must be checked again and refused.
    settings = collect_settings.model_copy(update={"allow_private_hosts": ["localhost"]})
    server.routes["/start"] = redirect(server.url("/secret"))
    server.routes["/secret"] = Route(b"internal data")
    server.routes["/robots.txt"] = Route(b"", status=404)
    result = run(fetch(settings, server.url("/start", host="localhost")))
    problem(result, Reason.BLOCKED_ADDRESS)
    assert server.hits("/start") and not server.hits("/secret")


# SSRF guard.


def test_private_addresses_are_refused_by_default(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/p"] = Route(PAGE)
    strict = collect_settings.model_copy(update={"allow_private_hosts": []})
    for kind in ("feed", "page"):
        problem(run(fetch(strict, server.url("/p"), kind)), Reason.BLOCKED_ADDRESS)
    assert server.requests == []  # refused before connecting


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1 (issue 21, 6)
        "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_literals_are_refused_without_connecting(url: str, collect_settings: Settings) -> None:
    strict = collect_settings.model_copy(update={"allow_private_hosts": [], "fetch_retries": 0})
    problem(run(fetch(strict, url, "feed")), Reason.BLOCKED_ADDRESS)


def test_allow_list_accepts_networks(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/p"] = Route(PAGE)
    by_network = collect_settings.model_copy(update={"allow_private_hosts": ["127.0.0.0/8"]})
    ok(run(fetch(by_network, server.url("/p"))))


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "gopher://x/"])
def test_only_http_schemes(url: str, collect_settings: Settings) -> None:
    problem(run(fetch(collect_settings, url, "feed")), Reason.BAD_SCHEME)


# Retries and time limits.


def test_5xx_is_retried_then_succeeds(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/flaky"] = Route(PAGE, fail_first=2)
    ok(run(fetch(collect_settings, server.url("/flaky"))))
    assert len(server.hits("/flaky")) == 3


def test_persistent_5xx_gives_a_transient_server_error(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/down"] = Route(PAGE, fail_first=100, fail_status=502)
    result = problem(run(fetch(collect_settings, server.url("/down"))), Reason.SERVER_ERROR)
    assert result.transient and len(server.hits("/down")) == collect_settings.fetch_retries + 1


def test_429_is_retried_and_4xx_is_not(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/busy"] = Route(PAGE, fail_first=1, fail_status=429)
    server.routes["/gone"] = Route(PAGE, status=410)
    ok(run(fetch(collect_settings, server.url("/busy"))))
    assert len(server.hits("/busy")) == 2
    problem(run(fetch(collect_settings, server.url("/gone"))), Reason.HTTP_ERROR)
    assert len(server.hits("/gone")) == 1


def test_slow_response_times_out(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/slow"] = Route(PAGE, delay=1.5)
    quick = collect_settings.model_copy(update={"request_timeout_seconds": 0.3, "fetch_retries": 0})
    assert problem(run(fetch(quick, server.url("/slow"))), Reason.TIMEOUT).transient


def test_trickled_body_hits_the_overall_deadline(server: SampleServer, collect_settings: Settings) -> None:
    # Each byte arrives well within a read timeout, but the whole body would take seconds.
    server.routes["/drip"] = Route(PAGE, trickle=0.05)
    quick = collect_settings.model_copy(update={"request_timeout_seconds": 0.5, "fetch_retries": 0})
    problem(run(fetch(quick, server.url("/drip"))), Reason.TIMEOUT)


def test_connection_refused_is_transient(collect_settings: Settings) -> None:
    settings = collect_settings.model_copy(update={"fetch_retries": 0})
    assert problem(run(fetch(settings, "http://127.0.0.1:9/x", "feed")), Reason.CONNECT_FAILED).transient
    # A page on an unreachable host fails at its robots.txt already; still a passing problem.
    page = run(fetch(settings, "http://127.0.0.1:9/x", "page"))
    assert isinstance(page, Problem) and page.transient


# Bodies: encoding, size, type.


def test_gzip_body_is_decoded(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/z"] = Route(PAGE, gzip=True)
    assert ok(run(fetch(collect_settings, server.url("/z")))).body == PAGE


def test_oversize_bodies_are_refused(server: SampleServer, collect_settings: Settings) -> None:
    small = collect_settings.model_copy(update={"max_body_bytes": 1000})
    big = b"<html><body>" + b"x" * 5000 + b"</body></html>"
    server.routes["/declared"] = Route(big)
    server.routes["/streamed"] = Route(big, send_length=False)
    server.routes["/bomb"] = Route(b"<html>" + b" " * 5_000_000, gzip=True)
    for path in ("/declared", "/streamed", "/bomb"):
        problem(run(fetch(small, server.url(path))), Reason.TOO_LARGE)


def test_stacked_compression_is_bounded_by_the_body_limit(server: SampleServer, collect_settings: Settings) -> None:
    # Issue 21 (2): httpx inflated a whole chunk through both layers before the size check could see it:
    # 589 bytes of "gzip, gzip" became 256 MiB. Here 128 MiB of zeros, twice gzipped (about 300 bytes).
    bomb = gzip.compress(gzip.compress(bytes(128 * 1024 * 1024)))
    server.routes["/bomb2"] = Route(bomb, headers={"Content-Encoding": "gzip, gzip"})
    small = collect_settings.model_copy(update={"max_body_bytes": 1_000_000})
    tracemalloc.start()
    try:
        result = run(fetch(small, server.url("/bomb2")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    problem(result, Reason.TOO_LARGE)
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated for a 1 MB limit"


def test_stacked_and_unknown_encodings(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/two"] = Route(zlib.compress(gzip.compress(PAGE)), headers={"Content-Encoding": "gzip, deflate"})
    assert ok(run(fetch(collect_settings, server.url("/two")))).body == PAGE
    server.routes["/br"] = Route(b"\x0b\x02\x80SAMPLE\x03", headers={"Content-Encoding": "br"})
    refused = problem(run(fetch(collect_settings, server.url("/br"))), Reason.BINARY_BODY)
    assert "unsupported content encoding br" in refused.detail
    server.routes["/bad"] = Route(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    problem(run(fetch(collect_settings, server.url("/bad"))), Reason.BINARY_BODY)


@pytest.mark.parametrize(
    ("route", "kind", "reason"),
    [
        (Route(b"\x89PNG\r\n\x1a\n....", content_type="image/png"), "page", Reason.BAD_CONTENT_TYPE),
        (Route(b"%PDF-1.7 ...", content_type="application/pdf"), "feed", Reason.BAD_CONTENT_TYPE),
        (Route(b"%PDF-1.7 ...", content_type="text/html"), "page", Reason.BINARY_BODY),
        (Route(b"abc\x00\x01\x02def", content_type=None), "page", Reason.BINARY_BODY),
        (Route(b"", content_type="text/html"), "page", Reason.EMPTY_BODY),
        (Route(b"  \n ", content_type="application/rss+xml"), "feed", Reason.EMPTY_BODY),
    ],
)
def test_unusable_bodies_are_refused_with_a_reason(
    server: SampleServer, collect_settings: Settings, route: Route, kind: str, reason: Reason
) -> None:
    server.routes["/thing"] = route
    problem(run(fetch(collect_settings, server.url("/thing"), kind)), reason)


def test_utf16_feed_is_not_taken_for_binary(server: SampleServer, collect_settings: Settings) -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"/>'.encode("utf-16")
    server.routes["/u16.xml"] = Route(body, content_type="application/xml")
    assert ok(run(fetch(collect_settings, server.url("/u16.xml"), "feed"))).body == body


# robots.txt


def test_robots_disallow_is_respected_for_pages_only(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.routes["/private/page"] = Route(PAGE)
    server.routes["/private/feed.xml"] = Route(FEED, content_type="application/rss+xml")
    server.routes["/public/page"] = Route(PAGE)

    async def scenario() -> list[Fetched | Problem]:
        async with Fetcher(collect_settings) as fetcher:
            return list(
                await asyncio.gather(
                    fetcher.fetch(server.url("/private/page"), "page"),
                    fetcher.fetch(server.url("/public/page"), "page"),
                    fetcher.fetch(server.url("/public/page"), "page"),
                    fetcher.fetch(server.url("/private/feed.xml"), "feed"),
                )
            )

    refused, allowed, again, feed = run(scenario())
    problem(refused, Reason.ROBOTS_DISALLOWED)
    ok(allowed), ok(again), ok(feed)
    assert not server.hits("/private/page")
    assert len(server.hits("/robots.txt")) == 1  # cached per host, fetched once for concurrent pages


def test_robots_group_for_our_agent(server: SampleServer, collect_settings: Settings) -> None:
    settings = collect_settings.model_copy(update={"user_agent": "news-event-pipeline/0.1 (+https://x.example)"})
    server.routes["/robots.txt"] = Route(
        b"User-agent: news-event-pipeline\nDisallow: /\n\nUser-agent: *\nAllow: /\n", content_type="text/plain"
    )
    server.routes["/p"] = Route(PAGE)
    problem(run(fetch(settings, server.url("/p"))), Reason.ROBOTS_DISALLOWED)


def test_robots_server_error_defers_and_404_allows(server: SampleServer, collect_settings: Settings) -> None:
    server.routes["/p"] = Route(PAGE)
    server.routes["/robots.txt"] = Route(b"", status=500)
    # Unavailable robots.txt: the page is not fetched, and the refusal is a passing one (tried again later).
    assert problem(run(fetch(collect_settings, server.url("/p"))), Reason.SERVER_ERROR).transient
    assert not server.hits("/p")
    server.routes["/robots.txt"] = Route(b"", status=404)
    ok(run(fetch(collect_settings, server.url("/p"))))


# Per-host limits.


def test_per_host_concurrency_and_spacing_hold_for_many_feeds(server: SampleServer, collect_settings: Settings) -> None:
    for n in range(8):
        server.routes[f"/feed{n}.xml"] = Route(FEED, content_type="application/rss+xml", delay=0.15)
    settings = collect_settings.model_copy(update={"per_host_concurrency": 2, "per_host_min_interval_seconds": 0.05})

    async def scenario() -> None:
        async with Fetcher(settings) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(server.url(f"/feed{n}.xml"), "feed") for n in range(8)))
        assert all(isinstance(r, Fetched) for r in results)

    run(scenario())
    assert server.max_in_flight <= 2
    starts = sorted(r.at for r in server.requests)
    # The limiter spaces request starts; arrival times at a loaded server jitter pairwise, but the
    # span of eight spaced starts can only grow under load, so it is the robust thing to check.
    assert starts[-1] - starts[0] >= 7 * 0.05 * 0.9


# Pure helpers.


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 10.0, rng) for n in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0
    assert all(d <= 10.0 for d in delays)
    assert len({backoff_delay(3, 1.0, 100.0, rng) for _ in range(20)}) > 1  # jitter
    assert backoff_delay(0, 1.0, 10.0, rng, retry_after=5.0) == 5.0
    assert backoff_delay(0, 1.0, 10.0, rng, retry_after=3600.0) == 10.0  # a hostile Retry-After is capped


def test_retry_after_parsing() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("kind", "content_type", "refused"),
    [
        ("page", "text/html; charset=utf-8", False),
        ("page", "application/xhtml+xml", False),
        ("page", None, False),
        ("page", "application/json", True),
        ("page", "video/mp4", True),
        ("feed", "application/rss+xml", False),
        ("feed", "application/feed+json", False),
        ("feed", "text/plain", False),
        ("feed", "application/octet-stream", False),
        ("feed", "application/zip", True),
        ("feed", "image/svg+xml", True),
    ],
)
def test_content_type_rules(kind: str, content_type: str | None, refused: bool) -> None:
    assert (content_type_problem(kind, content_type) is not None) is refused  # type: ignore[arg-type]


def test_binary_sniffing() -> None:
    assert binary_body_problem(b"\x1f\x8b\x08\x00") == "body is gzip data"
    assert binary_body_problem("<rss/>".encode("utf-16-le")) is None
    assert binary_body_problem("<rss/>".encode("utf-32-be")) is None
    assert binary_body_problem(b"<html>plain</html>") is None
