"""Stable identities. Keys of every Kafka message and ids of every Elasticsearch document come from here."""

from __future__ import annotations

import hashlib


def _digest(*parts: str, length: int = 24) -> str:
    joined = "\x1f".join(parts)  # unit separator: parts can't run into each other
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:length]


def utf8_text(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates (legal in JSON, not in UTF-8) escaped as ``\\udxxx``. Always the
    same for the same input, so a key read from a JSON Feed can be stored and sent like any other."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def article_id(canonical_url: str) -> str:
    """Id of an article, from its canonical URL (see ``pipeline.collect.urls.canonicalize``)."""
    return "art_" + _digest(canonical_url)


def event_id(
    event_type: str,
    source: str | None,
    target: str | None,
    place: str | None,
    day: str | None,
) -> str:
    """Id of an event from what it is (type, actors, place, day), so every article reporting it agrees.

    Actors and place should be canonical keys (country codes or canonical names), not surface text.
    """
    return "evt_" + _digest(
        event_type.upper(),
        (source or "").casefold(),
        (target or "").casefold(),
        (place or "").casefold(),
        day or "",
    )
