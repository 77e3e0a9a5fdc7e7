"""Which feeds to poll: the feeds file (YAML or TOML) and feed URLs or paths given on the command line.

A feeds file is either a list of entries or a mapping with a ``feeds`` list; an entry is a URL/path string
or a mapping with the ``FeedConfig`` fields::

    feeds:
      - https://example.org/world.rss
      - url: https://example.org/atom.xml
        name: Example Atom
        interval: 600          # seconds; the starting point of the adaptive interval
        enabled: true
        allow_private: false   # let this feed's host resolve to a private address
        fetch_pages: true      # false: use the text the feed itself carries
      - url: ./local/feed.xml  # a local file, relative to the feeds file
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.collect.fetch import is_local_source
from pipeline.collect.urls import host_of


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="http(s) URL of the feed, or a local file path")
    name: str | None = None
    interval: float | None = Field(default=None, gt=0, description="Starting poll interval in seconds")
    min_interval: float | None = Field(default=None, gt=0)
    max_interval: float | None = Field(default=None, gt=0)
    enabled: bool = True
    allow_private: bool = Field(default=False, description="Allow this feed's host to resolve to a private address")
    fetch_pages: bool = Field(default=True, description="Fetch each item's page; false uses the feed's own text")

    @property
    def is_local(self) -> bool:
        return is_local_source(self.url)

    @property
    def path(self) -> Path:
        """The local file (only meaningful when ``is_local``)."""
        url = self.url
        return Path(url[len("file://") :] if url.startswith("file://") else url).expanduser()

    @property
    def source_id(self) -> str:
        """Key of the feed in the state store and in reports: the URL, or the file's absolute URI."""
        return self.path.resolve().as_uri() if self.is_local else self.url.strip()

    @property
    def private_origin(self) -> tuple[str, int] | None:
        """What ``allow_private`` allows: this feed's own server (host as written, port), for this feed's
        requests only (its document, its pages, their robots.txt); None when it allows nothing."""
        if not self.allow_private or self.is_local:
            return None
        try:
            parts = urlsplit(self.url.strip())
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            return None
        host = (parts.hostname or "").rstrip(".").lower()
        return (host, port) if host else None

    @property
    def label(self) -> str:
        return self.name or (self.path.name if self.is_local else host_of(self.url) + _tail(self.url))


def _tail(url: str) -> str:
    path = url.split("://", 1)[-1].split("/", 1)
    return "/" + path[1][:40] if len(path) > 1 and path[1] else ""


class FeedsFileError(ValueError):
    pass


def _entries(document: Any) -> list[Any]:
    if document is None:
        return []
    if isinstance(document, dict):
        document = document.get("feeds", [])
    if not isinstance(document, list):
        raise FeedsFileError("a feeds file holds a list of feeds, or a mapping with a 'feeds' list")
    return document


def load_feeds_file(path: Path) -> list[FeedConfig]:
    text = path.read_text(encoding="utf-8")
    try:
        document = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise FeedsFileError(f"{path}: {exc}") from exc
    feeds: list[FeedConfig] = []
    for position, entry in enumerate(_entries(document)):
        raw = {"url": entry} if isinstance(entry, str) else entry
        if not isinstance(raw, dict):
            raise FeedsFileError(f"{path}: entry {position} is neither a URL nor a mapping")
        try:
            feed = FeedConfig(**raw)
        except ValidationError as exc:
            raise FeedsFileError(f"{path}: entry {position}: {exc}") from exc
        if feed.is_local and not feed.path.is_absolute():
            # Relative paths in a feeds file mean "next to the feeds file", not "next to the caller".
            feed = feed.model_copy(update={"url": str((path.parent / feed.path).resolve())})
        feeds.append(feed)
    return feeds


def feeds_from_sources(sources: Iterable[str]) -> list[FeedConfig]:
    return [FeedConfig(url=s) for s in sources if s.strip()]


def with_fixed_interval(feeds: Iterable[FeedConfig], seconds: float) -> list[FeedConfig]:
    """Every feed polled every ``seconds`` (the command line's ``--interval``), adaptation off."""
    return [f.model_copy(update={"interval": seconds, "min_interval": seconds, "max_interval": seconds}) for f in feeds]
