"""Building dead-letter records: what failed, where, and why, with the input kept (truncated) for replay."""

from __future__ import annotations

from pipeline.records import DeadLetter, Stage

MAX_PAYLOAD_CHARS = 20_000


def _as_text(payload: bytes | str | None) -> str | None:
    if payload is None:
        return None
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    if len(text) > MAX_PAYLOAD_CHARS:
        return text[:MAX_PAYLOAD_CHARS] + f"...[truncated {len(text) - MAX_PAYLOAD_CHARS} chars]"
    return text


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
) -> DeadLetter:
    return DeadLetter(
        stage=stage,
        reason=reason,
        error_type=error_type or (type(error).__name__ if error is not None else "Rejected"),
        key=key,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        payload=_as_text(payload),
    )
