"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest
from spacy.language import Language

from pipeline.settings import Settings


@pytest.fixture(scope="session")
def nlp() -> Language:
    """The enrichment spaCy pipeline, loaded once per test session (loading takes a second or two)."""
    from pipeline.enrich.nlp import load_nlp

    return load_nlp(Settings())
