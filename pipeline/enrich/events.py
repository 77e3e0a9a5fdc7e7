"""PLOVER event coding (stub: replaced by the real coder)."""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc

from pipeline.records import Entity, Event, Lineage, RawArticle


def code_events(doc: Doc, entities: Sequence[Entity], article: RawArticle, lineage: Lineage) -> list[Event]:
    """Events found in one parsed article. ``entities`` are the article's canonical entities (with mentions
    carrying character offsets into ``doc.text``), so actors and places are resolved by offset lookup."""
    return []
