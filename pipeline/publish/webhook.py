"""Push to a service: each message POSTed as JSON to a webhook, at least once, optionally signed.

Delivery: a message's offset is committed only after the receiver answered 2xx. Timeouts, connection
errors, 408, 429 and 5xx are retried with exponential backoff capped at
``PIPELINE_WEBHOOK_MAX_BACKOFF_SECONDS``, for as long as it takes; any other status (a 4xx: the receiver
refuses the request as such) stops delivery with a message, its offset uncommitted, so nothing is skipped.
A restart resumes from the last committed offset, which can repeat a few requests: receivers deduplicate
on ``X-Pipeline-Event-Id`` (with ``article_count`` for subscription changes) or ``X-Pipeline-Delivery``.

Signature (when ``PIPELINE_WEBHOOK_SECRET`` is set): header ``X-Pipeline-Signature: t=<unix seconds>,
v2=<hex>``, where ``<hex>`` is HMAC-SHA256 with the secret over ``"<t>\n<X-Pipeline-Delivery>\n
<X-Pipeline-Event-Id>\n" + <raw request body>``. Everything a receiver relies on is signed: the body, the
two ids it deduplicates on (an attacker who could change the delivery id could make a receiver take a
captured request as new, or drop a new one as a repeat), and the timestamp, so a captured request cannot
be replayed later: receivers reject a ``t`` too far from their clock (``verify_signature`` allows five
minutes). Newlines separate the fields because no header value can hold one. (``v1``, until issue 21,
signed ``"<t>." + body`` only; receivers checking ``v1`` now refuse every request, loudly.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.redact import redact_url

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Pipeline-Signature"
EVENT_ID_HEADER = "X-Pipeline-Event-Id"
DELIVERY_HEADER = "X-Pipeline-Delivery"
RETRIED_STATUSES = {408, 429}
SIGNATURE_TOLERANCE_SECONDS = 300
SIGNATURE_VERSION = "v2"


class WebhookRefused(Exception):
    """The receiver answered with a status that retrying will not change."""


def signed_bytes(timestamp: int, delivery_id: str, event_id: str, body: bytes) -> bytes:
    """What the HMAC covers: the timestamp, the delivery and event ids, and the raw body."""
    return f"{timestamp}\n{delivery_id}\n{event_id}\n".encode() + body


def sign(secret: str, timestamp: int, body: bytes, *, delivery_id: str, event_id: str) -> str:
    return f"t={timestamp},{SIGNATURE_VERSION}={_digest(secret, timestamp, body, delivery_id, event_id)}"


def _digest(secret: str, timestamp: int, body: bytes, delivery_id: str, event_id: str) -> str:
    # surrogateescape: a secret read from the environment gives back the bytes it was set with.
    key = secret.encode("utf-8", "surrogateescape")
    return hmac.new(key, signed_bytes(timestamp, delivery_id, event_id, body), hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    header: object,
    body: object,
    *,
    delivery_id: object,
    event_id: object,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the signature matches this body and these ids, and its timestamp is recent.

    Anything malformed (a missing or non-ASCII header, a field without ``=``, a timestamp that is not ASCII
    digits, a value of the wrong type) is a False, never an exception: a receiver answers it with a 4xx."""
    if not (isinstance(secret, str) and isinstance(body, bytes | bytearray)):
        return False
    if not (isinstance(header, str) and isinstance(delivery_id, str) and isinstance(event_id, str)):
        return False
    if not (header.isascii() and delivery_id.isascii() and event_id.isascii()):
        return False  # ours are ASCII; anything else (a lone surrogate included) cannot be what was signed
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, equals, value = part.strip().partition("=")
        if not equals:
            return False
        fields.setdefault(name, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12:
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    try:
        expected = _digest(secret, timestamp, bytes(body), delivery_id, event_id).encode("ascii")
    except UnicodeError:  # a secret with a lone surrogate that no environment could have given
        return False
    # A header may carry several v2 values (a sender rotating its secret): one matching is enough.
    return any(hmac.compare_digest(expected, digest.encode("ascii")) for digest in fields.get(SIGNATURE_VERSION, []))


@dataclass
class WebhookSender:
    url: str
    secret: str | None = None
    timeout: float = 10.0
    max_backoff: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    def deliver(self, body: bytes, *, event_id: str, delivery_id: str) -> int:
        """POST until the receiver takes it (2xx); returns the number of attempts."""
        attempt = 0
        while True:
            attempt += 1
            headers = {"Content-Type": "application/json", EVENT_ID_HEADER: event_id, DELIVERY_HEADER: delivery_id}
            if self.secret:
                headers[SIGNATURE_HEADER] = sign(
                    self.secret, int(time.time()), body, delivery_id=delivery_id, event_id=event_id
                )
            try:
                response = self._client.post(self.url, content=body, headers=headers)
                status, problem = response.status_code, f"HTTP {response.status_code}"
            except httpx.TransportError as exc:  # timeouts and connection errors
                status, problem = 0, f"{type(exc).__name__}: {exc}"
            if 200 <= status < 300:
                return attempt
            if status and status < 500 and status not in RETRIED_STATUSES:
                raise WebhookRefused(
                    f"{redact_url(self.url)} refused event {event_id} with HTTP {status}; fix the receiver and restart "
                    "(delivery resumes with this event)"
                )
            delay = min(self.max_backoff, 0.5 * 2 ** min(attempt - 1, 16)) * (0.5 + random.random() / 2)
            log.warning(
                "webhook delivery failed, retrying",
                url=redact_url(self.url),  # webhook URLs often carry a token
                event_id=event_id,
                problem=problem,
                attempt=attempt,
                delay=round(delay, 2),
            )
            self.sleep(delay)

    def close(self) -> None:
        self._client.close()


def event_id_of(value: bytes) -> str:
    """The event id of an event or subscription change, as the message carries it."""
    try:
        return str(json.loads(value).get("event_id") or "")
    except (ValueError, AttributeError):
        return ""


class KeepMembership:
    """A wait that keeps a consumer in its group: the sender's sleep between attempts.

    A receiver may be away for longer than ``max.poll.interval.ms`` (5 minutes by default). A consumer that does
    not poll meanwhile is dropped from its group, and its commit then raises. So, as the indexer does while
    Elasticsearch is away, every assigned partition is paused and ``poll()`` keeps being called: it fetches
    nothing, and the membership stays alive for as long as the receiver takes."""

    def __init__(self, consumer: KafkaConsumer, poll_seconds: float = 1.0) -> None:
        self.consumer = consumer
        self.poll_seconds = poll_seconds

    def __call__(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self.consumer.pause(*self.consumer.assignment())  # a partition assigned meanwhile too
            remaining = deadline - time.monotonic()
            polled = self.consumer.poll(timeout_ms=int(max(0.0, min(remaining, self.poll_seconds)) * 1000))
            for tp, records in polled.items():  # fetched before its pause (assigned within this poll): put back
                self.consumer.seek(tp, min(record.offset for record in records))
            if time.monotonic() >= deadline:
                break
        self.consumer.resume(*self.consumer.paused())


def _commit_if_still_ours(consumer: KafkaConsumer, message: Any) -> None:
    """Commit past a delivered message; if a rebalance gave its partition away meanwhile, leave it to the new
    owner, which delivers it again from the last commit (at least once: the receiver deduplicates)."""
    tp = TopicPartition(message.topic, message.partition)
    if tp not in consumer.assignment():
        log.warning("partition moved to another deliverer; it will repeat this delivery", partition=str(tp))
        return
    try:
        consumer.commit({tp: OffsetAndMetadata(message.offset + 1, "", -1)})
    except KafkaError as exc:
        log.warning("offset not committed; the delivery may be repeated", partition=str(tp), error=str(exc))
        return
    if consumer.position(tp) <= message.offset:
        # Revoked and given back while the receiver was away: the position went back to the last commit.
        consumer.seek(tp, message.offset + 1)


def deliver_messages(
    consumer: KafkaConsumer,
    sender: WebhookSender,
    wanted: Callable[[bytes], bool],
    *,
    limit: int = 0,
    on_delivered: Callable[[bytes], None] | None = None,
) -> int:
    """POST each wanted message, committing its offset after the 2xx (or when it is not wanted).

    One message per poll, so none is held while its partition might be given away; while the receiver is
    away the sender waits with ``KeepMembership`` (``run_webhook`` sets it up). Returns how many were delivered;
    stops after ``limit`` deliveries (0: never) or after the consumer's ``consumer_timeout_ms`` without a
    message."""
    idle_timeout = float(consumer.config.get("consumer_timeout_ms") or float("inf")) / 1000
    delivered = 0
    last_message = time.monotonic()
    while True:
        polled = consumer.poll(timeout_ms=int(min(idle_timeout, 1.0) * 1000), max_records=1)
        messages = [message for batch in polled.values() for message in batch]
        if not messages:
            if time.monotonic() - last_message >= idle_timeout:
                return delivered
            continue
        for message in messages:
            if message.value is not None and wanted(message.value):
                sender.deliver(
                    message.value,
                    event_id=event_id_of(message.value),
                    delivery_id=f"{message.topic}/{message.partition}/{message.offset}",
                )
                delivered += 1
                if on_delivered is not None:
                    on_delivered(message.value)
            _commit_if_still_ours(consumer, message)
        last_message = time.monotonic()
        if limit and delivered >= limit:
            return delivered
