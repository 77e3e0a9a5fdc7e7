from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.collect.feedlist import FeedConfig, FeedsFileError, load_feeds_file, with_fixed_interval
from pipeline.collect.netguard import AddressPolicy, is_public
from pipeline.collect.publisher import KafkaPublisher, PublishError
from pipeline.records import DeadLetter, RawArticle
from pipeline.settings import Settings, get_settings
from tests.collect_samples import sample
from tests.httpserver import Route, SampleServer


def test_yaml_feeds_file(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - https://news.example/rss\n"
        "  - url: https://other.example/atom.xml\n"
        "    name: Other\n"
        "    interval: 600\n"
        "    enabled: false\n"
        "    allow_private: true\n"
        "  - url: local/feed.xml\n"
    )
    plain, other, local = load_feeds_file(path)
    assert plain == FeedConfig(url="https://news.example/rss")
    assert other.name == "Other" and other.interval == 600 and not other.enabled and other.allow_private
    assert local.is_local and local.path == (tmp_path / "local" / "feed.xml").resolve()
    assert local.source_id.startswith("file://")


def test_toml_feeds_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nurl = "https://news.example/rss"\nfetch_pages = false\n')
    (feed,) = load_feeds_file(path)
    assert not feed.fetch_pages and not feed.is_local
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds:\n  - url: https://x.example/\n    colour: red\n")
    with pytest.raises(FeedsFileError):
        load_feeds_file(bad)
    bad.write_text("feeds: 3\n")
    with pytest.raises(FeedsFileError):
        load_feeds_file(bad)


def test_fixed_interval_turns_adaptation_off() -> None:
    (feed,) = with_fixed_interval([FeedConfig(url="https://x.example/rss")], 30)
    assert feed.interval == feed.min_interval == feed.max_interval == 30


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 (RFC 6052) of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata endpoint
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::",  # 6to4 of 192.168.1.1
        "64:ff9b:1::808:808",  # local-use NAT64 (RFC 8215): the translator is ours, whatever it carries
        "::a00:1",  # IPv4-compatible (deprecated) form of 10.0.0.1
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
    ],
)
def test_private_addresses_embedded_in_ipv6_are_private(address: str) -> None:
    # Issue 21 (6): Python 3.11 counts 64:ff9b::/96, 2002::/16 and 64:ff9b:1::/48 as global whatever they carry.
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
def test_public_addresses_embedded_in_ipv6_stay_public(address: str) -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address(address))


def test_address_policy() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("93.184.216.34"))
    for private in ("127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "::ffff:10.0.0.1"):
        assert not is_public(ipaddress.ip_address(private)), private
    policy = AddressPolicy(["intranet.example", "10.0.0.0/8", "[::1]"])
    assert policy.permits("intranet.example", ipaddress.ip_address("192.168.0.5"))
    assert policy.permits("anything", ipaddress.ip_address("10.2.3.4"))
    assert policy.permits("anything", ipaddress.ip_address("::1"))
    assert not policy.permits("anything", ipaddress.ip_address("192.168.0.5"))


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> Any:
        if self.error:
            raise self.error
        return "metadata"


class _Producer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, bytes]] = []
        self.fail = fail
        self.closed = False

    def send(self, topic: str, key: str, value: bytes) -> _Future:
        self.sent.append((topic, key, value))
        return _Future(RuntimeError("not acknowledged") if self.fail else None)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def test_kafka_publisher_keys_topics_and_failures() -> None:
    settings = Settings(topic_raw="t.raw", topic_dead_letter="t.dlq")
    producer = _Producer()
    publisher = KafkaPublisher(settings, producer=producer, ensure_topics=False)
    article = RawArticle(article_id="art_1", url="https://x.example/", canonical_url="https://x.example/", text="t")
    publisher.send_article(article)
    publisher.send_dead_letter(
        DeadLetter(stage="collect", reason="http_error: HTTP 404", error_type="Rejected", key="k")
    )
    publisher.flush()
    assert [(t, k) for t, k, _ in producer.sent] == [("t.raw", "art_1"), ("t.dlq", "k")]
    assert RawArticle.model_validate_json(producer.sent[0][2]) == article

    failing = KafkaPublisher(settings, producer=_Producer(fail=True), ensure_topics=False)
    failing.send_article(article)
    with pytest.raises(PublishError):
        failing.flush()


def test_cli_dry_run_and_survey(server: SampleServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipeline.cli import app

    server.routes["/robots.txt"] = Route(b"", status=404)
    server.routes["/news/bridge"] = Route(sample("bridge.html"))
    server.routes["/feed.xml"] = Route(
        b'<rss version="2.0"><channel><title>Sample</title><item><title>B</title><link>/news/bridge</link>'
        b"</item></channel></rss>",
        content_type="application/rss+xml",
    )
    monkeypatch.setenv("PIPELINE_ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("PIPELINE_STATE_PATH", str(tmp_path / "never-written.sqlite3"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["collect", "--dry-run", server.url("/feed.xml")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "would publish" in result.output and "Harbour bridge" in result.output
    assert not (tmp_path / "never-written.sqlite3").exists()

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.xml").write_bytes(b'<rss version="2.0"><channel><item><link>http://x/</link></item></channel></rss>')
    (corpus / "b.xml").write_bytes(b"not a feed")
    survey = CliRunner().invoke(app, ["feeds-survey", str(corpus)])
    assert survey.exit_code == 0, survey.output
    assert "files: 2" in survey.output and "parsed (items, no warnings): 1" in survey.output


def test_cli_needs_feeds() -> None:
    from pipeline.cli import app

    result = CliRunner().invoke(app, ["collect", "--dry-run"])
    assert result.exit_code != 0


def test_a_dead_letter_refused_for_good_is_counted_not_raised() -> None:
    from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

    settings = Settings(topic_raw="t.raw", topic_dead_letter="t.dlq")
    letter = DeadLetter(stage="collect", reason="http_error: HTTP 404", error_type="Rejected", key="k")
    article = RawArticle(article_id="art_1", url="https://x.example/", canonical_url="https://x.example/", text="t")

    class RefusingProducer(_Producer):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

        def send(self, topic: str, key: str, value: bytes) -> _Future:
            self.sent.append((topic, key, value))
            return _Future(self.error if topic == "t.dlq" else None)

    publisher = KafkaPublisher(settings, producer=RefusingProducer(MessageSizeTooLargeError()), ensure_topics=False)
    publisher.send_article(article)
    publisher.send_dead_letter(letter)
    assert publisher.flush() == 1  # refused for good: logged and counted, the run goes on
    # A broker that does not answer is another matter: nothing may be committed.
    waiting = KafkaPublisher(settings, producer=RefusingProducer(KafkaTimeoutError()), ensure_topics=False)
    waiting.send_dead_letter(letter)
    with pytest.raises(PublishError):
        waiting.flush()
