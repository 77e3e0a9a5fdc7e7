"""Webhook signatures: what a receiver verifies, and what it must reject."""

from __future__ import annotations

import hashlib
import hmac

from pipeline.publish.webhook import sign, verify_signature

BODY = b'{"event_id": "evt_1"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign("s3cret", 1_700_000_000, BODY)
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_receiver_accepts_a_fresh_signature_and_rejects_tampering_replay_and_wrong_secret() -> None:
    header = sign("s3cret", 1_700_000_000, BODY)
    assert verify_signature("s3cret", header, BODY, now=1_700_000_010)
    assert not verify_signature("s3cret", header, BODY + b" ", now=1_700_000_010)
    assert not verify_signature("s3cret", header, BODY, now=1_700_000_000 + 3600)  # replayed an hour later
    assert not verify_signature("other", header, BODY, now=1_700_000_010)
    assert not verify_signature("s3cret", "garbage", BODY, now=1_700_000_010)
