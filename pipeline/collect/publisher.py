"""Where collected articles and rejected items go: Kafka, or memory (tests, ``--dry-run``).

The collector sends a feed's messages, then calls ``flush``, and only then commits its state: ``flush``
raises ``PublishError`` unless the broker acknowledged every article, so nothing is marked done that was
not delivered. A dead letter the broker refuses for good (too large, invalid) is logged and counted, not
raised: it can never be delivered, and raising would stop the run at the same item on every restart.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from pipeline.records import DeadLetter, RawArticle
from pipeline.settings import Settings

log = structlog.get_logger(__name__)


class PublishError(RuntimeError):
    """Kafka did not acknowledge some messages; the collector must not commit the matching state."""


class Publisher(Protocol):
    def prepare(self) -> None:
        """Get ready to send without blocking later (may block: call it off the event loop)."""

    def send_article(self, article: RawArticle) -> None: ...

    def send_dead_letter(self, record: DeadLetter) -> None: ...

    def flush(self) -> int:
        """Wait for every acknowledgement; returns how many dead letters were refused for good (and logged).
        Raises ``PublishError`` when an article was not acknowledged or the broker cannot be reached."""

    def close(self) -> None: ...


class MemoryPublisher:
    """Keeps what would have been published; for tests and dry runs."""

    def __init__(self) -> None:
        self.articles: list[RawArticle] = []
        self.dead_letters: list[DeadLetter] = []
        self.flushes = 0

    def prepare(self) -> None:
        return None

    def send_article(self, article: RawArticle) -> None:
        article.to_json_bytes()  # what cannot be serialised could not be sent either
        self.articles.append(article)

    def send_dead_letter(self, record: DeadLetter) -> None:
        record.to_json_bytes()
        self.dead_letters.append(record)

    def flush(self) -> int:
        self.flushes += 1
        return 0  # memory refuses nothing

    def close(self) -> None:
        return None


def ensure_collector_topics(settings: Settings) -> None:
    """Create the topics the collector writes to, if missing.

    Tolerant by design: a broker that forbids topic creation may still have the topics, and a missing one
    shows up as a failed send (``PublishError``) instead of a crash here.
    """
    from pipeline.kafka import ensure_topics

    wanted = [settings.topic_raw, settings.topic_dead_letter]
    try:
        ensure_topics(settings, wanted)
    except Exception as exc:
        from pipeline.errors import ServiceTimeout, ServiceUnavailable, explain

        if isinstance(explain(exc, settings), ServiceUnavailable | ServiceTimeout):
            raise  # no broker: the command's one message says so, without a warning before it
        log.warning("topic set-up failed", error=repr(exc), topics=wanted)


def refused_for_good(exc: BaseException) -> bool:
    """Whether the broker refused this one record and would refuse it again (too large, invalid), as opposed
    to a failure of the broker or the network, which is worth waiting for (kafka-python marks those retriable)."""
    from kafka.errors import KafkaError

    return isinstance(exc, KafkaError) and not exc.retriable


class KafkaPublisher:
    """kafka-python producer with acks from all in-sync replicas and idempotence (no duplicates on retry).

    Key: the article id, so every revision of an article lands on one partition, in order.
    """

    def __init__(self, settings: Settings, *, producer: Any | None = None, ensure_topics: bool = True) -> None:
        self.settings = settings
        if ensure_topics:
            ensure_collector_topics(settings)
        if producer is None:
            from pipeline.kafka import make_producer

            producer = make_producer(settings, client_id="pipeline-collector")
        self._producer = producer
        self._pending: list[tuple[str, str, Any]] = []

    def prepare(self) -> None:
        """Fetch the topics' metadata (what send() would otherwise block the caller for)."""
        try:
            for topic in (self.settings.topic_raw, self.settings.topic_dead_letter):
                self._producer.partitions_for(topic)
        except Exception as exc:  # e.g. KafkaTimeoutError: the topic does not exist and cannot be created
            raise PublishError(f"no metadata for the collector's topics: {exc!r}") from exc

    def send_article(self, article: RawArticle) -> None:
        future = self._producer.send(self.settings.topic_raw, key=article.article_id, value=article.to_json_bytes())
        self._pending.append((self.settings.topic_raw, article.article_id, future))

    def send_dead_letter(self, record: DeadLetter) -> None:
        log.warning("item dead-lettered", stage=record.stage, key=record.key, reason=record.reason)
        key = record.key or ""
        future = self._producer.send(self.settings.topic_dead_letter, key=key, value=record.to_json_bytes())
        self._pending.append((self.settings.topic_dead_letter, key, future))

    def flush(self) -> int:
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=self.settings.request_timeout_seconds * 3)
        except Exception as exc:  # e.g. KafkaTimeoutError: the broker is unreachable
            raise PublishError(f"flush of {len(pending)} messages failed: {exc!r}") from exc
        failed: list[str] = []
        refused = 0
        for topic, key, future in pending:
            try:
                future.get(timeout=0)
            except Exception as exc:
                if topic == self.settings.topic_dead_letter and refused_for_good(exc):
                    # Logged with what identifies the item; the item itself stays in its feed.
                    log.error("dead letter refused by the broker; skipped", key=key[:300], error=repr(exc)[:300])
                    refused += 1
                else:
                    failed.append(f"{topic}/{key[:200]}: {exc!r}"[:500])
        if failed:
            raise PublishError(f"{len(failed)} of {len(pending)} messages not acknowledged: {failed[:3]}")
        return refused

    def close(self) -> None:
        self._producer.close(timeout=10)
