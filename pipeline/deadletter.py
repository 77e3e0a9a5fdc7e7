"""Building dead-letter records: what failed, where, and why, with the whole input kept for replay.

The input is kept exactly, gzip-compressed and base64-encoded, as long as the letter still fits the broker's
message size; a larger one is left out and the letter keeps only the exact source topic, partition and
offset, from which ``pipeline deadletters replay`` fetches it (while the topic's retention still holds it).
"""

from __future__ import annotations

import base64
import gzip

from pydantic import ValidationError

from pipeline.ids import utf8_text
from pipeline.records import DeadLetter, Stage

# Kafka's default message.max.bytes is 1,048,588; leave room for the letter's other fields and the batch framing.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
LETTER_OVERHEAD_BYTES = 16_000


def encode_payload(payload: bytes | str | None, max_message_bytes: int) -> tuple[str | None, int | None]:
    """The payload as gzip+base64 text and its original size; (None, size) when it would not fit."""
    if payload is None:
        return None, None
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    encoded = base64.b64encode(gzip.compress(raw, compresslevel=6)).decode("ascii")
    if len(encoded) > max_message_bytes - LETTER_OVERHEAD_BYTES:
        return None, len(raw)
    return encoded, len(raw)


def describe(exc: BaseException) -> str:
    """One line saying what is wrong with an input: for a validation error, the fields and why."""
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}" for error in exc.errors()[:3]
        ]
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        return "; ".join(problems) + more
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def dead_letter(
    stage: Stage,
    reason: str,
    *,
    error: BaseException | None = None,
    error_type: str | None = None,
    key: str | None = None,
    source_topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    payload: bytes | str | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> DeadLetter:
    encoded, size = encode_payload(payload, max_message_bytes)
    if payload is not None and encoded is None:
        reason = f"{reason} [payload of {size} bytes left out: too large for one message; see source offset]"
    return DeadLetter(
        stage=stage,
        reason=utf8_text(reason),
        error_type=error_type or (type(error).__name__ if error is not None else "Rejected"),
        key=utf8_text(key) if key is not None else None,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        payload=encoded,
        payload_encoding="gzip+base64" if encoded is not None else None,
        payload_bytes=size,
    )
