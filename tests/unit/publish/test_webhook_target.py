"""Where a subscription's webhook URL is kept: on the topic only without a secret, else a reference to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_USAGE
from pipeline.publish.webhook_target import WebhookTargetError, resolve_webhook, shown_webhook, stored_webhook
from pipeline.records import Subscription

TOKEN = "tok-5ecr3t-0123456789"


def test_a_url_with_a_secret_is_stored_only_by_reference(tmp_path: Path) -> None:
    with pytest.raises(WebhookTargetError) as refused:
        stored_webhook(f"https://hooks.example/in?token={TOKEN}", None, None)
    assert refused.value.exit_code == EXIT_USAGE and TOKEN not in str(refused.value)
    assert "--webhook-env" in str(refused.value)
    assert stored_webhook("https://hooks.example/in", None, None) == {
        "webhook_url": "https://hooks.example/in",
        "webhook_url_from": None,
    }
    assert stored_webhook(None, "KOREA_HOOK", None) == {"webhook_url": None, "webhook_url_from": "env:KOREA_HOOK"}
    assert stored_webhook(None, None, tmp_path / "hook") == {
        "webhook_url": None,
        "webhook_url_from": f"file:{tmp_path / 'hook'}",
    }
    for env in ("1BAD", "A-B", ""):
        with pytest.raises(WebhookTargetError):
            stored_webhook(None, env, None)
    with pytest.raises(WebhookTargetError, match="only one"):
        stored_webhook("https://hooks.example/in", "KOREA_HOOK", None)


def test_the_deliverer_resolves_the_reference_and_says_what_is_missing(tmp_path: Path) -> None:
    by_env = Subscription(name="k", webhook_url_from="env:KOREA_HOOK")
    assert resolve_webhook(by_env, {"KOREA_HOOK": f"https://h/in?token={TOKEN}\n"}) == f"https://h/in?token={TOKEN}"
    with pytest.raises(WebhookTargetError, match="KOREA_HOOK") as unset:
        resolve_webhook(by_env, {})
    assert unset.value.exit_code == EXIT_CONFIG
    path = tmp_path / "hook-url"
    by_file = Subscription(name="k", webhook_url_from=f"file:{path}")
    with pytest.raises(WebhookTargetError) as missing:
        resolve_webhook(by_file, {})
    assert missing.value.exit_code == EXIT_NOT_FOUND
    path.write_text(f"https://h/in?token={TOKEN}\n")
    assert resolve_webhook(by_file, {}) == f"https://h/in?token={TOKEN}"
    path.write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    with pytest.raises(WebhookTargetError, match="one line"):
        resolve_webhook(by_file, {})
    assert shown_webhook(by_env) == "env:KOREA_HOOK" and shown_webhook(by_file) == f"file:{path}"


def test_a_record_written_before_references_stays_readable_and_is_shown_masked() -> None:
    old = json.dumps(
        {
            "schema_version": "1.0",
            "name": "old",
            "filter": {},
            "webhook_url": f"https://h/in?token={TOKEN}",
            "backfill": True,
            "live_from": {},
            "created_at": "2026-11-01T00:00:00Z",
        }
    )
    subscription = Subscription.model_validate_json(old)
    assert resolve_webhook(subscription, {}) == f"https://h/in?token={TOKEN}"
    assert shown_webhook(subscription) == "https://h/in?token=***"
