"""Webhook signatures: what a receiver verifies, and what it must reject (never raising on malformed input)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.publish.webhook import DELIVERY_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, sign, verify_signature

BODY = b'{"event_id": "evt_1"}'
DELIVERY = "events.sub.korea/1/42"
EVENT = "evt_1"
T = 1_700_000_000
SUBSCRIBERS_DOC = Path(__file__).resolve().parents[3] / "docs" / "subscribers.md"


def signed(secret: str = "s3cret", timestamp: int = T, body: bytes = BODY) -> str:
    return sign(secret, timestamp, body, delivery_id=DELIVERY, event_id=EVENT)


def verify(header: object, body: object = BODY, delivery: object = DELIVERY, event: object = EVENT, **kw: Any) -> bool:
    return verify_signature("s3cret", header, body, delivery_id=delivery, event_id=event, now=T + 10, **kw)


def test_the_signature_covers_the_timestamp_the_delivery_and_event_ids_and_the_body() -> None:
    expected = hmac.new(b"s3cret", f"{T}\n{DELIVERY}\n{EVENT}\n".encode() + BODY, hashlib.sha256).hexdigest()
    assert signed() == f"t={T},v2={expected}"


def test_receiver_accepts_a_fresh_signature_and_rejects_tampering_replay_and_wrong_secret() -> None:
    header = signed()
    assert verify(header)
    assert not verify(header, body=BODY + b" ")
    assert not verify_signature("s3cret", header, BODY, delivery_id=DELIVERY, event_id=EVENT, now=T + 3600)
    assert not verify(signed(secret="other"))
    assert not verify("garbage")


def test_a_changed_delivery_or_event_id_is_refused() -> None:
    # Issue 21 item 16: receivers deduplicate on X-Pipeline-Delivery; an unsigned one could be rewritten so that
    # a captured request passes as new (or a new one is dropped as a repeat).
    header = signed()
    assert not verify(header, delivery="events.sub.korea/1/43")
    assert not verify(header, event="evt_2")
    # Fields cannot be shifted across the separators either (topic names hold dots, never newlines).
    assert not verify(header, delivery="events.sub.korea/1/42\nevt_1", event="")


MALFORMED_HEADERS = [
    None,
    "",
    "t=",
    "t=abc,v2=00",
    f"t={T}",  # no signature at all
    f"v2={'0' * 64}",  # no timestamp
    f"t={T},t={T},v2={'0' * 64}",
    f"t={T},v2=é",  # non-ASCII: compare_digest raised TypeError on it
    "t=é,v2=00",
    f"t=١٧٠٠٠٠٠٠٠٠,v2={'0' * 64}",  # Arabic-Indic digits, which int() accepts
    f"t={'9' * 5000},v2=00",  # int() refuses more than 4,300 digits
    "just-a-string",
    b"t=1,v2=00",
    f"t={T},v1={'0' * 64}",  # the scheme before issue 21
]


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_a_malformed_header_is_false_not_an_exception(header: object) -> None:
    assert verify(header) is False


def test_malformed_ids_or_body_are_false_not_an_exception() -> None:
    header = signed()
    for delivery, event, body in [
        (None, EVENT, BODY),
        (DELIVERY, None, BODY),
        ("events.sub.korea/1/4\udcff", EVENT, BODY),  # a lone surrogate, as surrogateescape decoding leaves
        ("événement", EVENT, BODY),
        (DELIVERY, EVENT, "not bytes"),
        (DELIVERY, EVENT, None),
    ]:
        assert verify(header, body, delivery, event) is False
    assert verify_signature("\udcff\ud800", header, BODY, delivery_id=DELIVERY, event_id=EVENT, now=T) is False


@settings(max_examples=300, deadline=None)
@given(header=st.text(), delivery=st.text(), event=st.text(), body=st.binary(max_size=64))
def test_no_input_makes_verification_raise(header: str, delivery: str, event: str, body: bytes) -> None:
    assert verify(header, body, delivery, event) in (True, False)


def _docs_receiver() -> Callable[..., bool]:
    """The receiver of docs/subscribers.md, run as it is written there."""
    blocks = re.findall(r"```python\n(.*?)```", SUBSCRIBERS_DOC.read_text(encoding="utf-8"), flags=re.S)
    (code,) = [block for block in blocks if "def verified(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(SUBSCRIBERS_DOC), "exec"), namespace)
    verified: Callable[..., bool] = namespace["verified"]
    return verified


def _headers(signature: object, delivery: object = DELIVERY, event: object = EVENT) -> Mapping[str, object]:
    return {SIGNATURE_HEADER: signature, DELIVERY_HEADER: delivery, EVENT_ID_HEADER: event}


def test_the_documented_receiver_accepts_what_the_deliverer_signs_and_refuses_tampering() -> None:
    verified = _docs_receiver()
    header = sign("s3cret", int(time.time()), BODY, delivery_id=DELIVERY, event_id=EVENT)
    assert verified(b"s3cret", _headers(header), BODY)
    assert not verified(b"s3cret", _headers(header, delivery="events.sub.korea/1/43"), BODY)
    assert not verified(b"s3cret", _headers(header, event="evt_2"), BODY)
    assert not verified(b"s3cret", _headers(header), BODY + b" ")
    assert not verified(b"other", _headers(header), BODY)


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_the_documented_receiver_returns_false_on_a_malformed_header(header: object) -> None:
    assert _docs_receiver()(b"s3cret", _headers(header), BODY) is False


def test_the_documented_receiver_returns_false_on_missing_or_non_ascii_ids() -> None:
    verified = _docs_receiver()
    header = sign("s3cret", int(time.time()), BODY, delivery_id=DELIVERY, event_id=EVENT)
    assert verified(b"s3cret", {SIGNATURE_HEADER: header}, BODY) is False
    assert verified(b"s3cret", _headers(header, delivery="événement"), BODY) is False
    assert verified(b"s3cret", _headers(header, event=None), BODY) is False
