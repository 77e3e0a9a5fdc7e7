"""Push to a service: each message POSTed as JSON to a webhook, at least once, optionally signed.

Delivery: a message's offset is committed only after the receiver answered 2xx. Timeouts, connection
errors, 408, 429 and 5xx are retried with exponential backoff capped at
``PIPELINE_WEBHOOK_MAX_BACKOFF_SECONDS``, for as long as it takes; any other status (a 4xx: the receiver
refuses the request as such) stops delivery with a message, its offset uncommitted, so nothing is skipped.
A restart resumes from the last committed offset, which can repeat a few requests: receivers deduplicate
on ``X-Pipeline-Event-Id`` (with ``article_count`` for subscription changes) or ``X-Pipeline-Delivery``.

Signature (when ``PIPELINE_WEBHOOK_SECRET`` is set): header ``X-Pipeline-Signature: t=<unix seconds>,
v1=<hex>``, where ``<hex>`` is HMAC-SHA256 with the secret over ``"<t>." + <raw request body>``. The
timestamp is signed with the body so a captured request cannot be replayed later: receivers reject a
``t`` too far from their clock (``verify_signature`` allows five minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Pipeline-Signature"
EVENT_ID_HEADER = "X-Pipeline-Event-Id"
DELIVERY_HEADER = "X-Pipeline-Delivery"
RETRIED_STATUSES = {408, 429}
SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookRefused(Exception):
    """The receiver answered with a status that retrying will not change."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: the signature matches this body and its timestamp is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={fields.get('v1', '')}")


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
                headers[SIGNATURE_HEADER] = sign(self.secret, int(time.time()), body)
            try:
                response = self._client.post(self.url, content=body, headers=headers)
                status, problem = response.status_code, f"HTTP {response.status_code}"
            except httpx.TransportError as exc:  # timeouts and connection errors
                status, problem = 0, f"{type(exc).__name__}: {exc}"
            if 200 <= status < 300:
                return attempt
            if status and status < 500 and status not in RETRIED_STATUSES:
                raise WebhookRefused(
                    f"{self.url} refused event {event_id} with HTTP {status}; fix the receiver and restart "
                    "(delivery resumes with this event)"
                )
            delay = min(self.max_backoff, 0.5 * 2 ** min(attempt - 1, 16)) * (0.5 + random.random() / 2)
            log.warning(
                "webhook delivery failed, retrying",
                url=self.url,
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


def deliver_messages(
    consumer: KafkaConsumer,
    sender: WebhookSender,
    wanted: Callable[[bytes], bool],
    *,
    limit: int = 0,
    on_delivered: Callable[[bytes], None] | None = None,
) -> int:
    """POST each wanted message, committing its offset after the 2xx (or when it is not wanted).

    Returns how many were delivered; stops after ``limit`` deliveries (0: never) or when the consumer's
    idle timeout ends its iteration."""
    delivered = 0
    for message in consumer:
        if message.value is not None and wanted(message.value):
            sender.deliver(
                message.value,
                event_id=event_id_of(message.value),
                delivery_id=f"{message.topic}/{message.partition}/{message.offset}",
            )
            delivered += 1
            if on_delivered is not None:
                on_delivered(message.value)
        tp = TopicPartition(message.topic, message.partition)
        consumer.commit({tp: OffsetAndMetadata(message.offset + 1, "", -1)})
        if limit and delivered >= limit:
            break
    return delivered
