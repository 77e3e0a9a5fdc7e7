"""What a printed, logged or listed URL may show: never a password, a token or a signature."""

from __future__ import annotations

import pytest

from pipeline.errors import redact_url
from pipeline.redact import carries_secret

SHOWN = [
    ("https://elastic:s3cret@es.example:9200/x", "https://elastic:***@es.example:9200/x"),
    ("http://127.0.0.1:9200", "http://127.0.0.1:9200"),
    # Issue 21 item 15: an empty user before the colon slipped through.
    ("https://:tok3n@hooks.example/in", "https://:***@hooks.example/in"),
    ("https://tok3n@hooks.example/in", "https://***@hooks.example/in"),
    ("https://u:pa/ss@host/p", "https://u:***@host/p"),  # an unescaped "/" in the password
    (
        "https://hooks.example/in?token=t1&format=json&key=k1&sig=s1&secret=x1&password=p1&api_key=a1"
        "&access_token=c1&X-Amz-Signature=z1",
        "https://hooks.example/in?token=***&format=json&key=***&sig=***&secret=***&password=***&api_key=***"
        "&access_token=***&X-Amz-Signature=***",
    ),
    ("https://hooks.example/in?Access_Token=c1#sig=f1", "https://hooks.example/in?Access_Token=***#sig=***"),
    (
        "https://hooks.slack.com/services/T0AAAA1234/B0BBB5678/abcDEF123ghiJKL456mnoPQR",
        "https://hooks.slack.com/services/T0AAAA1234/B0BBB5678/***",
    ),
    ("https://webhook.site/0e5c8f1a-1234-4bcd-9abc-1234567890ab", "https://webhook.site/***"),
    ("http://a:b1@h1:9200,http://c:d2@h2:9200", "http://a:***@h1:9200,http://c:***@h2:9200"),
    ("http://[::1]:9200/news-articles-v1/_search?q=x", "http://[::1]:9200/news-articles-v1/_search?q=x"),
    ("not a url", "not a url"),
]


@pytest.mark.parametrize(("url", "shown"), SHOWN)
def test_secrets_in_urls_are_masked_and_the_rest_is_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_no_secret_survives_the_mask() -> None:
    for url, _ in SHOWN:
        for secret in ("s3cret", "tok3n", "pa/ss", "t1", "k1", "s1", "x1", "p1", "a1", "c1", "z1", "f1", "b1", "d2"):
            assert f"{secret}@" not in redact_url(url) and f"={secret}" not in redact_url(url)
        assert "abcDEF123" not in redact_url(url) and "1234567890ab" not in redact_url(url)


def test_a_url_carries_a_secret_when_showing_it_would_show_one() -> None:
    assert carries_secret("https://hooks.example/in?token=t1")
    assert not carries_secret("https://hooks.example/in?format=json")
