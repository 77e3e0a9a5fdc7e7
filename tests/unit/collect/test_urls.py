from __future__ import annotations

import pytest

from pipeline.collect.urls import canonicalize, host_of, is_http_url, same_site
from pipeline.ids import article_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # tracking parameters, fragment, host case, default port, trailing slash
        (
            "HTTP://News.Example.COM:80/World/Story-1/?utm_source=rss&utm_medium=feed&id=7#comments",
            "http://news.example.com/World/Story-1?id=7",
        ),
        ("https://example.com/a?fbclid=x&gclid=y&msclkid=z&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x/", "https://example.com:8443/x"),
        ("https://example.com/", "https://example.com/"),
        # AMP variants
        ("https://example.com/news/story/amp", "https://example.com/news/story"),
        ("https://example.com/amp/news/story", "https://example.com/news/story"),
        ("https://amp.example.com/news/story", "https://example.com/news/story"),
        ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
        ("https://example.com/news/story?amp=1&outputType=amp", "https://example.com/news/story"),
        ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/x", "https://www.example.com/news/x"),
        # escapes: unreserved decoded, reserved kept and upper-cased; dot segments removed
        ("https://example.com/a/%7euser/%2f/../b", "https://example.com/a/~user/b"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://user:pw@example.com/x", "https://example.com/x"),
    ],
)
def test_canonicalize(url: str, expected: str) -> None:
    assert canonicalize(url) == expected


def test_canonical_form_is_stable() -> None:
    for url in ("https://Example.com/a/b/?utm_campaign=x", "https://example.com/a/b#top"):
        once = canonicalize(url)
        assert canonicalize(once) == once


def test_variants_share_one_article_id() -> None:
    variants = [
        "https://example.com/world/story",
        "https://EXAMPLE.com:443/world/story/",
        "https://example.com/world/story?utm_source=twitter#x",
        "https://example.com/world/story/amp/",
    ]
    assert len({article_id(canonicalize(v)) for v in variants}) == 1


def test_meaningful_differences_are_kept() -> None:
    assert canonicalize("http://example.com/x") != canonicalize("https://example.com/x")
    assert canonicalize("https://example.com/x?id=1") != canonicalize("https://example.com/x?id=2")
    assert canonicalize("https://www.example.com/x") != canonicalize("https://example.com/x")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "/relative", ""])
def test_rejects_non_http(url: str) -> None:
    with pytest.raises(ValueError):
        canonicalize(url)
    assert not is_http_url(url)


def test_host_and_site() -> None:
    assert host_of("https://WWW.Example.com./x") == "www.example.com"
    assert same_site("https://www.example.com/a", "https://example.com/b")
    assert same_site("https://amp.example.com/a", "https://m.example.com/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
    assert not same_site("file:///x", "file:///y")
