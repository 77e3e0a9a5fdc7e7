"""Kibana saved objects (data views, searches, Lens visualisations, dashboards): read and import them.

``pipeline setup`` calls :func:`import_saved_objects` when ``PIPELINE_KIBANA_URL`` is set. The objects live
in ``deploy/kibana/saved_objects.ndjson`` (the compose image has them at ``/app/deploy/kibana/``). The import
overwrites objects with the same ids, so it is idempotent and re-running setup upgrades the dashboard.

Credentials, when Kibana has security on, go in the URL (``https://user:password@kibana:5601``) or as
``api_key``; they are never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from pipeline.redact import redact_url

IMPORT_PATH = "/api/saved_objects/_import"
STATUS_PATH = "/api/status"
DEFAULT_OBJECTS = Path("deploy") / "kibana" / "saved_objects.ndjson"
IMAGE_OBJECTS = Path("/app") / DEFAULT_OBJECTS


class KibanaError(RuntimeError):
    """Kibana could not be reached, refused the request, or rejected some of the objects."""


def default_saved_objects_path() -> Path:
    """The saved objects of a source checkout, else of the working directory, else of the compose image."""
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_OBJECTS
    for candidate in (checkout, Path.cwd() / DEFAULT_OBJECTS, IMAGE_OBJECTS):
        if candidate.is_file():
            return candidate
    return checkout


def read_saved_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of an export file (one JSON object per line), checked for what Kibana needs to import them.

    Raises :class:`KibanaError` naming the file and line of the first problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KibanaError(f"cannot read Kibana saved objects {path}: {exc.strerror or exc}") from exc
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KibanaError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(obj, dict):
            raise KibanaError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        missing = [key for key in ("id", "type", "attributes") if key not in obj]
        if missing:
            raise KibanaError(f"{path}:{number}: saved object without {', '.join(missing)}")
        objects.append(obj)
    if not objects:
        raise KibanaError(f"{path}: no saved objects in the file")
    return objects


def _base(kibana_url: str) -> str:
    url = kibana_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise KibanaError(f"Kibana URL must start with http:// or https://, got {_redact(url)!r}")
    return url


def _redact(url: str) -> str:
    """The URL without any secret in it, for messages."""
    return redact_url(url)


def _describe_errors(errors: Iterable[dict[str, Any]], limit: int = 10) -> str:
    lines = []
    for error in list(errors)[:limit]:
        detail = error.get("error") or {}
        kind = detail.get("type", "unknown")
        title = (error.get("meta") or {}).get("title") or error.get("title")
        line = f"{error.get('type')}/{error.get('id')} ({title}): {kind}"
        if kind == "missing_references":
            refs = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in detail.get("references", []))
            line += f" [{refs}]"
        elif detail.get("message"):
            line += f": {detail['message']}"
        lines.append(line)
    return "; ".join(lines)


def wait_for_kibana(client: httpx.Client, base: str, timeout_seconds: float) -> None:
    """Poll ``/api/status`` until Kibana answers 200 (it answers 503 while it starts)."""
    deadline = time.monotonic() + timeout_seconds
    last = "no answer"
    while True:
        try:
            response = client.get(base + STATUS_PATH)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
            if response.status_code in (401, 403):
                raise KibanaError(
                    f"Kibana at {_redact(base)} refused the credentials ({last}); "
                    "put user:password in PIPELINE_KIBANA_URL or pass an API key"
                )
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise KibanaError(f"Kibana at {_redact(base)} not ready after {timeout_seconds:.0f}s ({last})")
        time.sleep(2.0)


def import_saved_objects(
    kibana_url: str,
    path: Path,
    *,
    api_key: str | None = None,
    verify: bool | str = True,
    wait_seconds: float = 0.0,
    timeout_seconds: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Import (overwrite) the saved objects in ``path`` into Kibana; returns how many were imported.

    ``wait_seconds`` > 0 first waits that long for Kibana to become available. ``verify`` is passed to httpx
    (False, or a CA bundle path for a private CA). Raises :class:`KibanaError` with a readable reason when
    the file is bad, Kibana cannot be reached or refuses, or any object fails to import.
    """
    objects = read_saved_objects(path)
    base = _base(kibana_url)
    headers = {"kbn-xsrf": "news-event-pipeline"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    payload = path.read_bytes()  # sent as written: the checks above only make failures early and readable
    with httpx.Client(
        headers=headers, timeout=timeout_seconds, verify=verify, transport=transport, follow_redirects=False
    ) as client:
        if wait_seconds > 0:
            wait_for_kibana(client, base, wait_seconds)
        try:
            response = client.post(
                base + IMPORT_PATH,
                params={"overwrite": "true"},
                # Kibana insists on the .ndjson extension, whatever the local file is called.
                files={"file": ("saved_objects.ndjson", payload, "application/ndjson")},
            )
        except httpx.TransportError as exc:
            raise KibanaError(f"cannot reach Kibana at {_redact(base)}: {type(exc).__name__}: {exc}") from exc
    if response.status_code in (401, 403):
        raise KibanaError(
            f"Kibana at {_redact(base)} refused the import (HTTP {response.status_code}); "
            "put user:password in PIPELINE_KIBANA_URL or pass an API key"
        )
    if response.status_code != 200:
        raise KibanaError(
            f"Kibana at {_redact(base)} answered HTTP {response.status_code} to the import of {path}: "
            f"{response.text[:500]}"
        )
    try:
        result = response.json()
    except ValueError as exc:
        raise KibanaError(
            f"Kibana at {_redact(base)} answered the import with non-JSON: {response.text[:200]}"
        ) from exc
    errors = result.get("errors") or []
    if not result.get("success", False) or errors:
        raise KibanaError(
            f"Kibana rejected {len(errors)} of {len(objects)} saved objects from {path}: " + _describe_errors(errors)
        )
    return int(result.get("successCount", len(objects)))


__all__ = [
    "KibanaError",
    "default_saved_objects_path",
    "import_saved_objects",
    "read_saved_objects",
    "wait_for_kibana",
]
