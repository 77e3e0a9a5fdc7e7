"""Where a subscription's webhook URL lives: on the topic when it holds no secret, else only a reference to it.

``pipeline.subscriptions`` is a plain-text topic every Kafka client of the cluster may read, and webhook
URLs often carry their receiver's credential (``hooks.slack.com/services/…/<token>``, ``?token=``,
``https://:key@host``). A subscription therefore stores such a URL by reference: ``env:NAME`` (an
environment variable of the deliverer) or ``file:/path`` (a file the deliverer reads, e.g. a mounted
secret). ``pipeline subscriptions deliver`` resolves the reference when it starts. Records written before
this rule, with the URL itself, stay readable and are delivered as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pipeline.errors import EXIT_CONFIG, EXIT_NO_PERMISSION, EXIT_NOT_FOUND, EXIT_USAGE
from pipeline.records import WEBHOOK_REFERENCE_PATTERN, Subscription
from pipeline.redact import carries_secret, redact_url

# A URL in a file is one line; anything much longer is not a URL (a key file given by mistake).
MAX_URL_FILE_BYTES = 8192


class WebhookTargetError(Exception):
    """A webhook that cannot be stored or resolved; the message says why and what to do."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def stored_webhook(url: str | None, env: str | None, file: Path | None) -> dict[str, str | None]:
    """The subscription's webhook fields for ``--webhook URL``, ``--webhook-env NAME`` or ``--webhook-file PATH``
    (at most one); a URL with a secret in it is refused, with the way to give it by reference."""
    given = [
        option for option, value in (("--webhook", url), ("--webhook-env", env), ("--webhook-file", file)) if value
    ]
    if len(given) > 1:
        raise WebhookTargetError(f"give only one of {', '.join(given)}", EXIT_USAGE)
    if url is not None and carries_secret(url):
        raise WebhookTargetError(
            f"the webhook URL holds a secret ({redact_url(url)}: the masked parts), and subscriptions are stored "
            "in plain text on the subscriptions topic, readable by every Kafka client. Keep the URL where the "
            "deliverer runs and store a reference to it: --webhook-env NAME (an environment variable holding the "
            "URL) or --webhook-file PATH (a file holding it, readable by the deliverer only)",
            EXIT_USAGE,
        )
    reference = None
    if env is not None:
        reference = f"env:{env}"
    elif file is not None:
        reference = f"file:{file.expanduser().absolute()}"
    if reference is not None and not re.fullmatch(WEBHOOK_REFERENCE_PATTERN, reference):
        raise WebhookTargetError(
            f"{env!r} is not an environment variable's name (letters, digits and '_', not starting with a digit)",
            EXIT_USAGE,
        )
    return {"webhook_url": url, "webhook_url_from": reference}


def shown_webhook(subscription: Subscription) -> str:
    """The webhook as ``subscriptions list`` shows it: the URL masked, or the reference (which is no secret)."""
    if subscription.webhook_url_from:
        return subscription.webhook_url_from
    return redact_url(subscription.webhook_url or "")


def resolve_webhook(subscription: Subscription, environ: Mapping[str, str]) -> str | None:
    """The URL to POST to: the stored one, or the one its reference points at (None: no webhook)."""
    reference = subscription.webhook_url_from
    if not reference:
        return subscription.webhook_url
    kind, _, where = reference.partition(":")
    if kind == "env":
        url = environ.get(where, "").strip()
        if not url:
            raise WebhookTargetError(
                f"subscription {subscription.name!r} reads its webhook URL from the environment variable {where}, "
                "which is not set (or empty) here; set it where the deliverer runs",
                EXIT_CONFIG,
            )
        return url
    return _url_from_file(subscription.name, Path(where))


def _url_from_file(name: str, path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_URL_FILE_BYTES + 1)
    except FileNotFoundError:
        raise WebhookTargetError(
            f"subscription {name!r} reads its webhook URL from {path}, which does not exist here", EXIT_NOT_FOUND
        ) from None
    except PermissionError:
        raise WebhookTargetError(
            f"subscription {name!r} reads its webhook URL from {path}, which this user may not read",
            EXIT_NO_PERMISSION,
        ) from None
    except OSError as exc:
        raise WebhookTargetError(f"cannot read {path} ({exc.strerror or exc})", EXIT_NOT_FOUND) from None
    lines = data.decode("utf-8", "replace").strip().splitlines()
    if len(data) > MAX_URL_FILE_BYTES or len(lines) != 1 or not lines[0].startswith(("http://", "https://")):
        raise WebhookTargetError(
            f"{path} should hold one line, the webhook URL (http:// or https://), for subscription {name!r}",
            EXIT_CONFIG,
        )
    return lines[0].strip()
